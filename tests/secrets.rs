//! No secret in `Debug`, `Display` or tracing output captured at TRACE level.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use credchain::testing::{FakeClock, ScriptedCredential, StaticCredential};
use credchain::{ChainedCredential, Clock, Error, TokenCacheLayer, TokenRequestOptions};

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-payload.signature";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_secret_in_trace_output_through_a_full_flow() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
