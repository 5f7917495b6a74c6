//! Shared helpers for the integration tests.
#![allow(dead_code)]

use credchain_core::Env;
use credchain_entra::{Authority, EntraClient, EntraClientBuilder};
use credchain_fake_entra::FakeEntra;

pub const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub const APP: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "s3cr3t-Value~client-secret";
pub const SCOPE: &str = "https://management.azure.com/.default";
pub const PUBLIC_APP: &str = "aebc6443-996d-45c2-90f0-388ff96faa56";
pub const REFRESH: &str = "0.ARefresh-token-value-xyz";
pub const USER: &str = "user@contoso.com";
pub const PASSWORD: &str = "P@ssw0rd-very-secret";

/// A client for `entra` that trusts its CA and reads nothing from the process environment.
pub fn builder_for(entra: &FakeEntra) -> EntraClientBuilder {
    EntraClient::builder()
        .env(Env::empty())
        .authority(Authority::parse(&entra.authority()).expect("the fake's authority is valid"))
        .add_root_certificate_pem(entra.ca_pem().as_bytes())
        .retry_delay(std::time::Duration::from_millis(10))
}
