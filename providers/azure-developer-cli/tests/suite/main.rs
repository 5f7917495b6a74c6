//! Integration tests for the Azure Developer CLI provider, in one test binary: fake `azd`
//! scripts replaying azd 1.18–1.29 outputs byte for byte (`tests/data`).
#![cfg(unix)]

#[path = "../common/mod.rs"]
mod common;

mod fake_azd;
