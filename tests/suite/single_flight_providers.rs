//! The real providers behind the shared middleware: many concurrent cold callers cause one
//! upstream request (Entra) or one process (`az`).

use std::os::unix::fs::PermissionsExt;

use credchain::{AzureCliCredential, ChainedCredential, Env, EnvironmentCredential, TokenRequestOptions};
use credchain_fake_entra::FakeEntra;

const SCOPE: &[&str] = &["https://vault.azure.net/.default"];
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const CLIENT: &str = "66666666-7777-8888-9999-000000000000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_cause_one_token_request() {
    let entra = FakeEntra::builder()
        .tenant(TENANT)
        .client_secret(TENANT, CLIENT, "s3cret")
        .latency(std::time::Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let env = Env::from_pairs([
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", CLIENT),
        ("AZURE_CLIENT_SECRET", "s3cret"),
        ("AZURE_AUTHORITY_HOST", entra.authority().as_str()),
        ("SSL_CERT_FILE", entra.ca_pem_path().to_str().unwrap()),
    ]);
    let credential = EnvironmentCredential::builder().env(env).build();
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .provider(credential)
        .build()
        .unwrap();
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.get_token(SCOPE, &TokenRequestOptions::new()).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap().unwrap().secret().to_owned());
    }
    assert_eq!(entra.token_request_count(), 1);
    assert_eq!(entra.issued_tokens().len(), 1);
    assert!(tokens.iter().all(|t| *t == entra.issued_tokens()[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_cause_one_az_process_and_a_repeat_call_spawns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let az = dir.path().join("az");
    let script = format!(
        "#!/bin/sh\necho run >> '{}'\nsleep 0.2\necho '{{\"accessToken\": \"az-token\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"tokenType\": \"Bearer\"}}'\n",
        log.display()
    );
    std::fs::write(&az, script).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = AzureCliCredential::builder()
        .az_path(&az)
        .env(Env::from_pairs([("PATH", "/usr/bin:/bin")]))
        .build()
        .unwrap();
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .sticky(true)
        .developer_tool(cli)
        .build()
        .unwrap();

    let callers: Vec<_> = (0..500)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.get_token(SCOPE, &TokenRequestOptions::new()).await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap().secret(), "az-token");
    }
    chain.get_token(SCOPE, &TokenRequestOptions::new()).await.unwrap();
    let runs = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(runs, 1, "500 cold callers and a repeat call: one az process");
}
