//! Shared set-up for the tests against the fake Microsoft Entra endpoint.
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;

use credchain_core::Env;
use credchain_fake_entra::{FakeEntra, RecordedRequest};
use credchain_vscode::{KEYRING_SERVICE, MemorySecretStore, VSCODE_CLIENT_ID, VsCodeCredential};

pub const ARM: &str = "https://management.azure.com/.default";
pub const GRAPH: &str = "https://graph.microsoft.com/.default";
pub const VSCODE_RT: &str = "vscode-refresh-token-0123456789";

pub struct Setup {
    pub fake: FakeEntra,
    pub home: tempfile::TempDir,
    pub store: MemorySecretStore,
}

impl Setup {
    pub async fn new() -> Self {
        let fake = FakeEntra::builder()
            .tenant("tenant-one")
            .tenant("tenant-two")
            .refresh_token(VSCODE_CLIENT_ID, VSCODE_RT)
            .start()
            .await
            .expect("fake Entra starts");
        let store = MemorySecretStore::new();
        store.insert(KEYRING_SERVICE, "AzureCloud", VSCODE_RT);
        Setup {
            fake,
            home: tempfile::tempdir().expect("temp dir"),
            store,
        }
    }

    /// The environment: a fake home, and the fake's CA as the only trusted root.
    pub fn env(&self, extra: &[(&str, &str)]) -> Env {
        let mut vars = vec![
            ("HOME".to_owned(), self.home.path().display().to_string()),
            (
                "XDG_CONFIG_HOME".to_owned(),
                self.home.path().join(".config").display().to_string(),
            ),
            (
                "SSL_CERT_FILE".to_owned(),
                self.fake.ca_pem_path().display().to_string(),
            ),
        ];
        vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Env::from_pairs(vars)
    }

    pub fn settings(&self, text: &str) {
        write(&self.home.path().join(".config/Code/User/settings.json"), text);
    }

    pub fn credential(&self) -> VsCodeCredential {
        VsCodeCredential::builder()
            .env(self.env(&[]))
            .authority(self.fake.authority())
            .secret_store(self.store.clone())
            .build()
            .expect("build")
    }

    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.fake
            .requests()
            .into_iter()
            .filter(RecordedRequest::is_token_request)
            .collect()
    }
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}
