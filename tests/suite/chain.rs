//! ChainedCredential rules, through the public API.

use std::sync::Arc;
use std::time::Duration;

use credchain::testing::{ScriptedCredential, StaticCredential};
use credchain::{AttemptOutcome, ChainedCredential, Error, ErrorKind, ProviderEntry, TokenRequestOptions};

const SCOPE: &[&str] = &["https://management.azure.com/.default"];

fn options() -> TokenRequestOptions {
    TokenRequestOptions::new()
}

#[test]
fn empty_chain_is_a_construction_error() {
    let err = ChainedCredential::builder().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("at least one provider"), "{err}");
}

#[tokio::test]
async fn unavailable_moves_on_to_the_next_provider() {
    let first = ScriptedCredential::new("First").always_err(Error::unavailable("First", "set `FIRST_VAR`"));
    let second = ScriptedCredential::new("Second").always_ok("second-token");
    let chain = ChainedCredential::builder()
        .provider(first.clone())
        .provider(second.clone())
        .build()
        .unwrap();

    let token = chain.get_token(SCOPE, &options()).await.unwrap();
    assert_eq!(token.secret(), "second-token");
    assert_eq!((first.calls(), second.calls()), (1, 1));
}

#[tokio::test]
async fn failure_stops_the_chain_and_lists_every_attempt() {
    let first = ScriptedCredential::new("First").always_err(Error::unavailable("First", "set `FIRST_VAR`"));
    let second = ScriptedCredential::new("Second").always_err(Error::authentication_failed(
        "Second",
        "AADSTS7000215: bad secret",
    ));
    let third = ScriptedCredential::new("Third").always_ok("never");
    let chain = ChainedCredential::builder()
        .provider(first)
        .provider(second)
        .provider(third.clone())
        .build()
        .unwrap();

    let err = chain.get_token(SCOPE, &options()).await.unwrap_err();
    assert_eq!(third.calls(), 0, "providers after a failure must not be tried");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    let attempts = err.attempts();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (attempts[0].provider(), attempts[0].outcome()),
        ("First", AttemptOutcome::Unavailable)
    );
    assert_eq!(
        (attempts[1].provider(), attempts[1].outcome()),
        ("Second", AttemptOutcome::Failed)
    );
    assert!(attempts[1].error().message().contains("AADSTS7000215"));

    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("ChainedCredential: `Second` failed"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("  1. First (unavailable, ") && lines[1].ends_with("set `FIRST_VAR`"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("  2. Second (failed, ") && lines[2].ends_with("AADSTS7000215: bad secret"),
        "{text}"
    );
}

/// A chain stopped by a configuration error says so, not "failed" (issue 14.14): the first
/// line and the attempt's line name the kind of error that happened.
#[tokio::test]
async fn a_stop_names_what_actually_happened() {
    let cases = [
        (
            Error::invalid_input("Second", "`AZURE_AUTHORITY_HOST` is not a URL"),
            "`Second` rejected its input or configuration, so the chain stopped there",
            "  2. Second (invalid input, ",
        ),
        (
            Error::timeout("Second", "no answer in 10 s"),
            "`Second` timed out, so the chain stopped there",
            "  2. Second (timed out, ",
        ),
        (
            Error::transient("Second", "503 after retries"),
            "`Second` hit a transient failure",
            "  2. Second (transient failure, ",
        ),
    ];
    for (error, first_line, attempt_line) in cases {
        let chain = ChainedCredential::builder()
            .provider(StaticCredential::unavailable("First", "set `FIRST_VAR`"))
            .provider(StaticCredential::failing("Second", error))
            .build()
            .unwrap();
        let err = chain
            .get_token(SCOPE, &TokenRequestOptions::new())
            .await
            .unwrap_err();
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains(first_line) && !lines[0].contains("failed, so"),
            "{text}"
        );
        assert!(lines[2].starts_with(attempt_line), "{text}");
    }
}

#[tokio::test]
async fn all_unavailable_is_unavailable_so_an_outer_chain_moves_on() {
    let inner = ChainedCredential::builder()
        .name("Inner")
        .provider(StaticCredential::unavailable("A", "a missing"))
        .provider(StaticCredential::unavailable("B", "b missing"))
        .build()
        .unwrap();
    let err = inner.get_token(SCOPE, &options()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.attempts().len(), 2);

    let outer = ChainedCredential::builder()
        .provider(inner)
        .provider(StaticCredential::new("Fallback", "fallback-token"))
        .build()
        .unwrap();
    assert_eq!(
        outer.get_token(SCOPE, &options()).await.unwrap().secret(),
        "fallback-token"
    );
}

#[tokio::test]
async fn nested_chain_errors_are_indented_under_their_line() {
    let inner = ChainedCredential::builder()
        .name("Inner")
        .provider(StaticCredential::unavailable("A", "a missing"))
        .build()
        .unwrap();
    let outer = ChainedCredential::builder()
        .provider(inner)
        .provider(StaticCredential::unavailable("B", "b missing"))
        .build()
        .unwrap();
    let text = outer.get_token(SCOPE, &options()).await.unwrap_err().to_string();
    assert!(text.contains("\n  1. Inner (unavailable, "), "{text}");
    assert!(text.contains("\n       1. A (unavailable, "), "{text}");
    assert!(text.contains("\n  2. B (unavailable, "), "{text}");
}

#[tokio::test]
async fn developer_tool_failure_counts_as_unavailable_but_invalid_input_stops() {
    let tool =
        ScriptedCredential::new("Tool").always_err(Error::authentication_failed("Tool", "az exploded"));
    let next = ScriptedCredential::new("Next").always_ok("next-token");
    let chain = ChainedCredential::builder()
        .developer_tool(tool)
        .provider(next.clone())
        .build()
        .unwrap();
    assert_eq!(
        chain.get_token(SCOPE, &options()).await.unwrap().secret(),
        "next-token"
    );

    let bad = ScriptedCredential::new("Tool").always_err(Error::invalid_input("Tool", "exactly one scope"));
    let next = ScriptedCredential::new("Next").always_ok("next-token");
    let chain = ChainedCredential::builder()
        .developer_tool(bad)
        .provider(next.clone())
        .build()
        .unwrap();
    let err = chain.get_token(SCOPE, &options()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(next.calls(), 0);

    let tool =
        ScriptedCredential::new("Tool").always_err(Error::authentication_failed("Tool", "az exploded"));
    let chain = ChainedCredential::builder().developer_tool(tool).build().unwrap();
    let err = chain.get_token(SCOPE, &options()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.attempts()[0].outcome(), AttemptOutcome::FailedContinued);
}

#[tokio::test]
async fn sticky_goes_straight_to_the_selected_provider() {
    let first = ScriptedCredential::new("First").always_err(Error::unavailable("First", "missing"));
    let second = ScriptedCredential::new("Second").always_ok("t");
    let chain = ChainedCredential::builder()
        .sticky(true)
        .entry(ProviderEntry::new(first.clone()).without_middleware())
        .entry(ProviderEntry::new(second.clone()).without_middleware())
        .build()
        .unwrap();
    for _ in 0..3 {
        chain.get_token(SCOPE, &options()).await.unwrap();
    }
    assert_eq!(chain.selected(), Some("Second"));
    assert_eq!(
        first.calls(),
        1,
        "the unavailable provider is skipped once a provider is selected"
    );
    assert_eq!(second.calls(), 3);
}

#[tokio::test]
async fn sticky_selects_again_after_the_selected_provider_becomes_unavailable() {
    let first = ScriptedCredential::new("First")
        .then_unavailable("not signed in")
        .always_ok("first-token");
    let second = ScriptedCredential::new("Second")
        .then_ok("second-token")
        .always_err(Error::unavailable("Second", "logged out"));
    let chain = ChainedCredential::builder()
        .sticky(true)
        .entry(ProviderEntry::new(first.clone()).without_middleware())
        .entry(ProviderEntry::new(second.clone()).without_middleware())
        .build()
        .unwrap();
    assert_eq!(
        chain.get_token(SCOPE, &options()).await.unwrap().secret(),
        "second-token"
    );
    assert_eq!(chain.selected(), Some("Second"));
    // Second logs out: the chain walks again from the top and First now works.
    assert_eq!(
        chain.get_token(SCOPE, &options()).await.unwrap().secret(),
        "first-token"
    );
    assert_eq!(chain.selected(), Some("First"));
    assert_eq!((first.calls(), second.calls()), (2, 2));
}

#[tokio::test]
async fn sticky_failure_is_reported_with_its_attempt() {
    let only = ScriptedCredential::new("Only")
        .then_ok("t")
        .always_err(Error::authentication_failed("Only", "refused"));
    let chain = ChainedCredential::builder()
        .sticky(true)
        .entry(ProviderEntry::new(only).without_middleware())
        .build()
        .unwrap();
    chain.get_token(SCOPE, &options()).await.unwrap();
    let err = chain.get_token(SCOPE, &options()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert_eq!(err.attempts().len(), 1);
    assert_eq!(err.attempts()[0].provider(), "Only");
}

#[tokio::test(start_paused = true)]
async fn concurrent_cold_callers_share_one_selection_walk() {
    let first = ScriptedCredential::new("First")
        .always_err(Error::unavailable("First", "missing"))
        .with_delay(Duration::from_millis(20));
    let second = ScriptedCredential::new("Second")
        .always_ok("t")
        .with_delay(Duration::from_millis(50));
    let chain = ChainedCredential::builder()
        .sticky(true)
        .entry(ProviderEntry::new(first.clone()).without_middleware())
        .entry(ProviderEntry::new(second.clone()).without_middleware())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.get_token(SCOPE, &TokenRequestOptions::new()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().secret(), "t");
    }
    assert_eq!((first.calls(), second.calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_callers_deadline_bounds_only_its_own_wait() {
    let slow = ScriptedCredential::new("Slow")
        .always_ok("t")
        .with_delay(Duration::from_secs(5));
    let chain = ChainedCredential::builder()
        .sticky(true)
        .provider(slow.clone())
        .build()
        .unwrap();
    let patient = {
        let chain = chain.clone();
        tokio::spawn(async move { chain.get_token(SCOPE, &TokenRequestOptions::new()).await })
    };
    tokio::task::yield_now().await;
    let hurried =
        TokenRequestOptions::new().with_deadline(std::time::Instant::now() + Duration::from_secs(1));
    let err = chain.get_token(SCOPE, &hurried).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(patient.await.unwrap().unwrap().secret(), "t");
    assert_eq!(slow.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_thousand_cold_callers_through_walk_and_cache_make_one_provider_call() {
    let first = ScriptedCredential::new("First").always_err(Error::unavailable("First", "missing"));
    let second = ScriptedCredential::new("Second")
        .always_ok("t")
        .with_delay(Duration::from_millis(50));
    let chain = ChainedCredential::builder()
        .env(credchain::Env::empty())
        .sticky(true)
        .provider(first.clone())
        .provider(second.clone())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.get_token(SCOPE, &TokenRequestOptions::new()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().secret(), "t");
    }
    assert_eq!((first.calls(), second.calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn when_every_caller_leaves_the_selection_walk_is_dropped() {
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hanging = {
        let dropped = dropped.clone();
        credchain::testing::FnCredential::new("Hanging", move |_| {
            let dropped = dropped.clone();
            async move {
                struct Guard(Arc<std::sync::atomic::AtomicBool>);
                impl Drop for Guard {
                    fn drop(&mut self) {
                        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                let _guard = Guard(dropped);
                std::future::pending::<Result<credchain::AccessToken, Error>>().await
            }
        })
    };
    let chain = ChainedCredential::builder()
        .sticky(true)
        .entry(ProviderEntry::new(hanging).without_middleware())
        .build()
        .unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.get_token(SCOPE, &TokenRequestOptions::new()).await })
        })
        .collect();
    tokio::task::yield_now().await;
    for waiter in &waiters {
        waiter.abort();
    }
    for waiter in waiters {
        let _ = waiter.await;
    }
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "the abandoned walk must be dropped (and the provider's work with it)"
    );
}

#[test]
fn debug_shows_names_only() {
    let chain = ChainedCredential::builder()
        .provider(StaticCredential::new("Secretive", "super-secret-token"))
        .build()
        .unwrap();
    let shown = format!("{chain:?}");
    assert!(
        shown.contains("Secretive") && !shown.contains("super-secret-token"),
        "{shown}"
    );
    let _ = Arc::new(chain);
}
