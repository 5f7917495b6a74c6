//! Integration tests, grouped into one test binary so `cargo test` links one executable
//! instead of one per file (each is 100+ MB in debug). Tests that need a process of their
//! own (log capture, a global allocator) stay in their own file under `tests/`.

#[path = "../common/mod.rs"]
mod common;

mod client;
mod no_panic;
