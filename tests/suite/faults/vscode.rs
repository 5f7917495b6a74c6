//! VsCodeCredential against a hostile token endpoint: the refresh token comes from a
//! `MemorySecretStore`, the authority is the hostile server, `SSL_CERT_FILE` trusts its CA.

use credchain::Env;
use credchain_fake_entra::HostileServer;
use credchain_vscode::{KEYRING_SERVICE, MemorySecretStore, VsCodeCredential};

use super::{HttpRow, SECRET, check, entra_table, report};

#[tokio::test]
async fn vscode_credential_survives_a_hostile_token_endpoint() {
    let home = tempfile::tempdir().expect("temp dir");
    let store = MemorySecretStore::new();
    store.insert(KEYRING_SERVICE, "AzureCloud", SECRET);
    let mut problems = Vec::new();
    for HttpRow {
        name,
        misbehaviour,
        expect,
    } in entra_table()
    {
        let server = HostileServer::https(misbehaviour).await.expect("hostile server");
        let ca = server.ca_pem_path().expect("https").display().to_string();
        let env = Env::from_pairs([
            ("HOME", home.path().display().to_string()),
            (
                "XDG_CONFIG_HOME",
                home.path().join(".config").display().to_string(),
            ),
            ("SSL_CERT_FILE", ca),
        ]);
        let make = || {
            VsCodeCredential::builder()
                .env(env.clone())
                .authority(server.base_url())
                .secret_store(store.clone())
                .build()
                .expect("VsCodeCredential builds")
        };
        problems.extend(check(name, expect, &[], make).await);
    }
    report("VsCodeCredential", problems);
}
