//! Set-up shared by the test binaries: the fake Entra endpoint, a client trusting it, and
//! credentials built from variable maps.
#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;

use credchain_core::Env;
use credchain_entra::{Authority, EntraClient};
use credchain_environment::EnvironmentCredential;
use credchain_fake_entra::{FakeEntra, TestCertificate};

pub const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub const APP: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "env-client-secret-value";
pub const SCOPE: &str = "https://management.azure.com/.default";
pub const USER: &str = "user@contoso.com";
pub const PASSWORD: &str = "env-user-password-value";
pub const CERT_PW: &str = "env-cert-password-value";

pub fn client_for(entra: &FakeEntra) -> EntraClient {
    EntraClient::builder()
        .env(Env::empty())
        .authority(Authority::parse(&entra.authority()).expect("valid"))
        .add_root_certificate_pem(entra.ca_pem().as_bytes())
        .build()
        .expect("client")
}

pub fn credential(entra: &FakeEntra, pairs: &[(&str, &str)]) -> EnvironmentCredential {
    let env = Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    EnvironmentCredential::builder()
        .env(env)
        .client(client_for(entra))
        .build()
}

pub fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "credchain-env-{}-{}",
        std::process::id(),
        fastrand_name()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

pub fn fastrand_name() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub async fn fake(tc: &TestCertificate) -> FakeEntra {
    FakeEntra::builder()
        .tenant(TENANT)
        .tenant("organizations")
        .client_secret(TENANT, APP, SECRET)
        .client_certificate(TENANT, APP, tc.cert_pem())
        .user(APP, USER, PASSWORD)
        .start()
        .await
        .expect("fake")
}
