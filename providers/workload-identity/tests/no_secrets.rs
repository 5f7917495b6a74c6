//! TRACE-level capture through success, the `AADSTS700024` re-read and retry, and refusals: no
//! federated token or access token in logs, errors or `Debug`. Its own test binary, so no other
//! test shares tracing's global callsite cache.

use std::time::{Duration, SystemTime};

use credchain_core::{Env, ProviderContext, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeEntra, LogCapture, federated_token};
use credchain_workload_identity::WorkloadIdentityCredential;

const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const APP: &str = "11111111-2222-3333-4444-555555555555";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const SUBJECT: &str = "repo:contoso/app:environment:prod";

#[tokio::test]
async fn no_token_in_trace_logs_errors_or_debug() {
    let (captured, _guard) = LogCapture::start();
    let entra = FakeEntra::builder()
        .federated_credential(TENANT, APP, ISSUER, SUBJECT)
        .start()
        .await
        .expect("fake Entra starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("token");
    let (path, ca) = (
        file.display().to_string(),
        entra.ca_pem_path().display().to_string(),
    );
    // A new credential per token: a credential rightly keeps a fresh token for 5 minutes.
    let credential = || {
        WorkloadIdentityCredential::builder()
            .context(ProviderContext::new().with_env(Env::from_pairs([
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_FEDERATED_TOKEN_FILE", path.as_str()),
                ("AZURE_AUTHORITY_HOST", entra.authority().as_str()),
                ("SSL_CERT_FILE", ca.as_str()),
            ])))
            .build()
            .expect("configured")
    };
    let now = SystemTime::now();
    let tokens = [
        federated_token(ISSUER, SUBJECT, now - Duration::from_secs(60)), // expired: 700024
        federated_token(ISSUER, SUBJECT, now + Duration::from_secs(3600)), // accepted
        federated_token(
            ISSUER,
            "repo:contoso/other:ref:refs/heads/main",
            now + Duration::from_secs(3600),
        ), // 70021
        "opaque-federated-token-value".to_owned(),                       // not a JWT: 50027
    ];
    let mut shown = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    for token in &tokens {
        std::fs::write(&file, token).expect("write token");
        let credential = credential();
        let result = credential
            .get_token(
                &["https://vault.azure.net/.default"],
                &TokenRequestOptions::default(),
            )
            .await;
        shown.push(format!("{credential:?}"));
        match result {
            Ok(t) => {
                shown.push(format!("{t:?} {t}"));
                secrets.push(t.secret().to_owned());
            }
            Err(e) => shown.push(format!("{e} {e:?} {:?}", std::error::Error::source(&e))),
        }
        // The whole token and its payload+signature (the part that is not a fixed header).
        secrets.push(token.clone());
        if let Some((_, rest)) = token.split_once('.') {
            secrets.push(rest.to_owned());
        }
    }
    assert_eq!(secrets.len(), 8, "exactly one access token: {shown:#?}");
    let logs = captured.contents();
    assert!(
        logs.contains("read the federated token file"),
        "TRACE capture works: {logs}"
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a token reached the logs");
        for text in &shown {
            assert!(
                !text.contains(secret.as_str()),
                "a token reached an error or Debug: {text}"
            );
        }
    }
}
