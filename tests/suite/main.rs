//! Integration tests, grouped into one test binary so `cargo test` links one executable
//! instead of one per file (each is 100+ MB in debug). Tests that need a process of their
//! own (log capture, a global allocator) stay in their own file under `tests/`.

#[cfg(all(feature = "azure-core", feature = "environment"))]
mod azure_core_interop;
mod cache;
mod chain;
mod cli;
mod default_credential;
mod exec_credential;
#[cfg(all(unix, feature = "azure-cli", feature = "environment", feature = "vscode"))]
mod faults;
mod load;
mod serve;
mod single_flight_providers;
mod tenant;
mod token_cache;
