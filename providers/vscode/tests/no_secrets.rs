//! No secret reaches TRACE-level logs, errors or `Debug` output through a full VS Code flow.
//!
//! Alone in its own test binary: tracing's per-callsite interest cache can drop events when other
//! tests run on other threads while a thread-local subscriber is installed.

mod common;

use common::{ARM, GRAPH, Setup, VSCODE_RT};
use credchain_core::{TokenCredential, TokenRequestOptions};
use credchain_vscode::KEYRING_SERVICE;

#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_trace_logs_errors_or_debug_output() {
    let (captured, _guard) = credchain_fake_entra::LogCapture::start();

    let setup = Setup::new().await;
    let credential = setup.credential();
    let first = credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("first");
    let second = credential
        .get_token(&[GRAPH], &TokenRequestOptions::default())
        .await
        .expect("second");
    setup
        .store
        .insert(KEYRING_SERVICE, "AzureCloud", "bad-refresh-token-value");
    let refused = setup
        .credential()
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .unwrap_err();

    let rotated: Vec<String> = setup
        .token_requests()
        .iter()
        .filter_map(|r| r.form_value("refresh_token").map(str::to_owned))
        .collect();
    let mut secrets = vec![
        VSCODE_RT.to_owned(),
        "bad-refresh-token-value".to_owned(),
        first.secret().to_owned(),
        second.secret().to_owned(),
    ];
    secrets.extend(rotated);
    let logs = captured.contents();
    assert!(
        logs.contains("VisualStudioCodeCredential"),
        "the flow was traced:\n{logs}"
    );
    let shown = [
        logs,
        refused.to_string(),
        format!("{refused:?}"),
        format!("{credential:?}"),
        format!("{first:?}"),
        credential.describe().to_string(),
    ];
    for secret in &secrets {
        for text in &shown {
            assert!(!text.contains(secret.as_str()), "a secret leaked into:\n{text}");
        }
    }
}
