//! Integration tests, grouped into one test binary: the provider against
//! `credchain_fake_entra::FakeManagedIdentity` over loopback HTTP, through the real default
//! HTTP client (credchain-entra's `EntraHttpClient`).

mod common;
mod no_panic;
mod official_interop;
mod probe;
mod retries;
mod sources;
