//! Debug logs show the `az` command but never the token.
//!
//! Alone in its own test binary: tracing's per-callsite interest cache can drop events when other
//! tests run on other threads while a thread-local subscriber is installed.
#![cfg(unix)]

mod common;

use common::{FakeAz, TOOLS_PATH};
use credchain_azure_cli::AzureCliCredential;
use credchain_core::{AccessToken, Env, Error, TokenCredential, TokenRequestOptions};

const ARM: &str = "https://management.azure.com/.default";
const SAMPLE_TOKEN_PREFIX: &str = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJSUzI1NiIsICJraWQiOiAiZmFrZS1raWQifQ.";

async fn token(fake: &FakeAz) -> Result<AccessToken, Error> {
    AzureCliCredential::builder()
        .az_path(fake.path())
        .env(Env::from_pairs([("PATH", TOOLS_PATH), ("TZ", "UTC")]))
        .build()
        .expect("valid options")
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
}

#[tokio::test(flavor = "current_thread")]
async fn debug_logs_show_the_command_but_never_the_token() {
    let (logs, _guard) = credchain_fake_entra::LogCapture::start();

    let fake = FakeAz::sample("ok_scope");
    let t = token(&fake).await.expect("token");
    let garbage = FakeAz::new(r#"printf '{"accessToken":"secret value"'"#);
    let _ = token(&garbage).await.expect_err("garbage");

    let text = logs.contents();
    assert!(text.contains("running Azure CLI"), "{text}");
    assert!(text.contains("get-access-token"), "{text}");
    assert!(text.contains("Azure CLI finished"), "{text}");
    assert!(text.contains("elapsed_ms"), "{text}");
    assert!(!text.contains(t.secret()), "token in logs");
    assert!(!text.contains(SAMPLE_TOKEN_PREFIX), "token in logs");
    assert!(!text.contains("secret value"), "token in logs");
}
