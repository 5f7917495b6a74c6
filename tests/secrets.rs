//! No secret in `Debug`, `Display` or tracing output captured at TRACE level.

use std::sync::Arc;
use std::time::Duration;

use credchain::testing::{FakeClock, ScriptedCredential, StaticCredential};
use credchain::{ChainedCredential, Clock, Error, TokenCacheLayer, TokenRequestOptions};

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-payload.signature";

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_secret_in_trace_output_through_a_full_flow() {
    let (captured, _guard) = credchain_fake_entra::LogCapture::start();

    let clock = FakeClock::default();
    let failing =
        ScriptedCredential::new("Failing").always_err(Error::unavailable("Failing", "nothing configured"));
    let working = ScriptedCredential::new("Working")
        .with_clock(Arc::new(clock.clone()))
        .then_ok(TOKEN)
        .then_fail("refresh refused")
        .always_ok(TOKEN);
    let chain = ChainedCredential::builder()
        .sticky(true)
        .cache(
            TokenCacheLayer::new()
                .clock(Arc::new(clock.clone()))
                .max_jitter(Duration::ZERO),
        )
        .provider(failing)
        .developer_tool(working)
        .build()
        .unwrap();
    let scope = ["https://management.azure.com/.default"];
    let token = chain
        .get_token(&scope, &TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(token.secret(), TOKEN);
    chain
        .get_token(&scope, &TokenRequestOptions::new())
        .await
        .unwrap(); // hit
    clock.advance(Duration::from_secs(3600 - 100));
    chain
        .get_token(&scope, &TokenRequestOptions::new())
        .await
        .unwrap(); // failed proactive refresh (warn)
    clock.advance(Duration::from_secs(3600));
    chain
        .get_token(&scope, &TokenRequestOptions::new())
        .await
        .unwrap(); // cold reload

    let logs = captured.contents();
    assert!(
        logs.contains("credential_attempt"),
        "tracing was captured: {logs}"
    );
    assert!(logs.contains("proactive token refresh failed"), "{logs}");
    assert!(
        !logs.contains("secret-payload"),
        "a token leaked into the logs:\n{logs}"
    );
    let _ = clock.now();
}

#[test]
fn no_secret_in_debug_or_display() {
    let chain = ChainedCredential::builder()
        .provider(StaticCredential::new("Static", TOKEN))
        .build()
        .unwrap();
    let token = credchain::AccessToken::new(TOKEN, std::time::SystemTime::now());
    for shown in [
        format!("{chain:?}"),
        format!("{token:?}"),
        format!("{token}"),
        format!("{:?}", credchain::Secret::new(TOKEN)),
    ] {
        assert!(!shown.contains("secret-payload"), "{shown}");
    }
}
