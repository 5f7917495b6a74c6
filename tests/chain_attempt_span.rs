//! Every provider call a chain makes runs in a `credential_attempt` span, also once a provider
//! is selected (the sticky path). Its own test binary: `LogCapture` needs one per test (see
//! providers/fake-entra/README.md).

use credchain::testing::ScriptedCredential;
use credchain::{ChainedCredential, Env, TokenRequestOptions};

#[tokio::test(flavor = "current_thread")]
async fn the_selected_providers_calls_run_in_a_credential_attempt_span() {
    let provider = ScriptedCredential::new("Selected").always_ok("token");
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .sticky(true)
        .provider(provider.clone())
        .build()
        .unwrap();
    let options = TokenRequestOptions::new();
    chain
        .get_token(&["api://first/.default"], &options)
        .await
        .unwrap();
    assert_eq!(chain.selected(), Some("Selected"));

    let (captured, _guard) = credchain_fake_entra::LogCapture::start();
    // Another scope: a cache miss on the selected provider, so the sticky path calls it.
    chain
        .get_token(&["api://second/.default"], &options)
        .await
        .unwrap();
    assert_eq!(provider.calls(), 2);

    let logs = captured.contents();
    let cached: Vec<&str> = logs.lines().filter(|l| l.contains("token cached")).collect();
    assert_eq!(cached.len(), 1, "{logs}");
    assert!(
        cached[0].contains("credential_attempt{") && cached[0].contains("provider=Selected"),
        "the provider call ran outside a credential_attempt span:\n{logs}"
    );
    let returned = logs
        .lines()
        .find(|l| l.contains("provider returned a token"))
        .unwrap_or_else(|| panic!("no attempt outcome was logged:\n{logs}"));
    assert!(
        returned.contains("outcome=\"token\"") || returned.contains("outcome=token"),
        "{returned}"
    );
}
