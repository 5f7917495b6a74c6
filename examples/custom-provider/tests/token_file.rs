//! Scenarios: a token file on disk, an injected environment and a fake clock.

use std::sync::Arc;
use std::time::Duration;

use credchain_core::{Env, ErrorKind, FakeClock, TokenCredential, TokenRequestOptions};
use credchain_example_provider::{NAME, TOKEN_FILE_VAR, TokenFileCredential};

const SCOPE: &str = "https://management.azure.com/.default";
const NOW: u64 = 1_767_225_600;

fn file(dir: &tempfile::TempDir, contents: &str) -> std::path::PathBuf {
    let path = dir.path().join("token");
    std::fs::write(&path, contents).unwrap();
    path
}

fn credential(path: &std::path::Path) -> TokenFileCredential {
    TokenFileCredential::builder()
        .env(Env::from_pairs([(TOKEN_FILE_VAR, path.to_str().unwrap())]))
        .clock(Arc::new(FakeClock::at_unix(NOW)))
        .build()
}

fn good_file(expires_on: u64) -> String {
    format!("scope={SCOPE}\ntenant=t1\nexpires_on={expires_on}\ntoken=the-token\n")
}

#[tokio::test]
async fn returns_the_token_from_the_file_named_by_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, &good_file(NOW + 3600));
    let token = credential(&path)
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(token.secret(), "the-token");
    assert_eq!(
        token.expires_on(),
        std::time::UNIX_EPOCH + Duration::from_secs(NOW + 3600)
    );
    // The tenant in the file matches the (resolved) tenant case-insensitively.
    let options = TokenRequestOptions::new().with_tenant_id("T1");
    assert!(credential(&path).get_token(&[SCOPE], &options).await.is_ok());
}

#[tokio::test]
async fn unavailable_when_not_set_up_here() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, &good_file(NOW + 3600));
    let cases: Vec<(TokenFileCredential, &str, TokenRequestOptions, &str)> = vec![
        (
            TokenFileCredential::builder().env(Env::empty()).build(),
            SCOPE,
            TokenRequestOptions::new(),
            "`SIDECAR_TOKEN_FILE` is not set",
        ),
        (
            TokenFileCredential::builder()
                .env(Env::from_pairs([(TOKEN_FILE_VAR, "  ")]))
                .build(),
            SCOPE,
            TokenRequestOptions::new(),
            "`SIDECAR_TOKEN_FILE` is not set",
        ),
        (
            credential(&dir.path().join("missing")),
            SCOPE,
            TokenRequestOptions::new(),
            "does not exist",
        ),
        (
            credential(&path),
            "https://vault.azure.net/.default",
            TokenRequestOptions::new(),
            "not `https://vault",
        ),
        (
            credential(&path),
            SCOPE,
            TokenRequestOptions::new().with_tenant_id("t2"),
            "not `t2`",
        ),
        (
            credential(&path),
            SCOPE,
            TokenRequestOptions::new().with_claims("{}"),
            "claims challenge",
        ),
    ];
    for (credential, scope, options, expected) in cases {
        let err = credential.get_token(&[scope], &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert_eq!(err.provider(), NAME);
        assert!(err.message().contains(expected), "{err}");
    }
}

#[tokio::test]
async fn a_broken_file_stops_the_chain_without_showing_the_token() {
    let dir = tempfile::tempdir().unwrap();
    for contents in [
        "token=the-token\n",
        "garbage the-token\n",
        "scope=s\nexpires_on=x\ntoken=the-token\n",
    ] {
        let path = file(&dir, contents);
        let err = credential(&path)
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
        assert!(err.message().contains("is malformed"), "{err}");
        assert!(!format!("{err} {err:?}").contains("the-token"), "{err:?}");
    }
    let path = file(&dir, &"#".repeat(70 * 1024));
    let err = credential(&path)
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("larger than 64 KiB"), "{err}");
}

#[cfg(unix)]
#[tokio::test]
async fn dev_zero_a_fifo_or_a_directory_is_refused_without_reading() {
    // `/dev/zero` never ends and opening a FIFO blocks until a writer comes: the bounded reader
    // refuses both before reading (the old `read_to_string` hung on each).
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for path in [std::path::Path::new("/dev/zero"), &fifo, dir.path()] {
        let err = credential(path)
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
        assert!(err.message().contains("not a regular file"), "{err}");
    }
}

#[tokio::test]
async fn an_expired_token_is_transient() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, &good_file(NOW));
    let err = credential(&path)
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn bad_input_is_rejected_before_reading() {
    let cred = TokenFileCredential::builder().env(Env::empty()).build();
    for (scopes, options) in [
        (vec![], TokenRequestOptions::new()),
        (vec![SCOPE, SCOPE], TokenRequestOptions::new()),
        (vec!["bad scope"], TokenRequestOptions::new()),
        (
            vec![SCOPE],
            TokenRequestOptions::new().with_tenant_id("bad tenant"),
        ),
    ] {
        let err = cred.get_token(&scopes, &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{scopes:?}: {err}");
    }
}
