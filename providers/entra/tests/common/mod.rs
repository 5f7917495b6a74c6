//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

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

/// A writer that collects everything a tracing subscriber writes.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs a TRACE-level subscriber writing to the returned buffer for this thread.
pub fn capture_traces() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}
