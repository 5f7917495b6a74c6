//! TokenCache behaviour through the public API, with a fake clock and paused tokio time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use credchain::testing::{FakeClock, FnCredential, ScriptedCredential};
use credchain::{
    AccessToken, Clock, Error, ErrorKind, Layer, TokenCache, TokenCacheLayer, TokenCredential,
    TokenRequestOptions,
};
use futures::FutureExt;

const SCOPE: &[&str] = &["https://vault.azure.net/.default"];
const HOUR: Duration = Duration::from_secs(3600);

fn opts() -> TokenRequestOptions {
    TokenRequestOptions::new()
}

fn cache_over(provider: ScriptedCredential, clock: &FakeClock) -> TokenCache<ScriptedCredential> {
    TokenCacheLayer::new()
        .clock(Arc::new(clock.clone()))
        .max_jitter(Duration::ZERO)
        .layer(provider)
}

fn scripted(clock: &FakeClock) -> ScriptedCredential {
    ScriptedCredential::new("Scripted").with_clock(Arc::new(clock.clone()))
}

#[tokio::test(start_paused = true)]
async fn a_thousand_cold_callers_cause_one_provider_call() {
    let clock = FakeClock::default();
    let provider = scripted(&clock)
        .then_ok("the-token")
        .with_delay(Duration::from_millis(50));
    let cache = cache_over(provider.clone(), &clock);
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get_token(SCOPE, &opts()).await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap().secret(), "the-token");
    }
    assert_eq!(provider.calls(), 1);
    // A repeat call is a hit.
    cache.get_token(SCOPE, &opts()).await.unwrap();
    assert_eq!(provider.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_an_error_too() {
    let clock = FakeClock::default();
    let provider = scripted(&clock)
        .then_fail("AADSTS7000215: invalid client secret")
        .with_delay(Duration::from_millis(50));
    let cache = cache_over(provider.clone(), &clock);
    let callers: Vec<_> = (0..200)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get_token(SCOPE, &opts()).await })
        })
        .collect();
    for caller in callers {
        let err = caller.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
        assert!(err.message().contains("AADSTS7000215"));
    }
    assert_eq!(provider.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn proactive_refresh_serves_the_old_token_while_one_caller_refreshes() {
    let clock = FakeClock::default();
    let provider = scripted(&clock)
        .then_ok("old")
        .then_ok("new")
        .with_delay(Duration::from_millis(100));
    let cache = cache_over(provider.clone(), &clock);
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "old");

    clock.advance(HOUR - Duration::from_secs(200)); // inside the 300 s refresh window
    let refresher = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get_token(SCOPE, &opts()).await })
    };
    tokio::task::yield_now().await; // the refresher starts the refresh and waits on the provider
    for _ in 0..50 {
        let token = cache
            .get_token(SCOPE, &opts())
            .now_or_never()
            .expect("other callers must not wait")
            .unwrap();
        assert_eq!(token.secret(), "old");
    }
    assert_eq!(refresher.await.unwrap().unwrap().secret(), "new");
    assert_eq!(provider.calls(), 2);
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "new");
}

#[tokio::test(start_paused = true)]
async fn a_failed_proactive_refresh_is_retried_at_most_every_30_seconds() {
    let clock = FakeClock::default();
    let provider = scripted(&clock)
        .then_ok("old")
        .then_fail("down")
        .then_fail("still down")
        .then_ok("new");
    let cache = cache_over(provider.clone(), &clock);
    cache.get_token(SCOPE, &opts()).await.unwrap();

    clock.advance(HOUR - Duration::from_secs(250));
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "old"); // attempt 1 fails
    assert_eq!(provider.calls(), 2);
    for _ in 0..5 {
        assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "old");
    }
    clock.advance(Duration::from_secs(29));
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "old");
    assert_eq!(provider.calls(), 2, "no retry within 30 s");

    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "old"); // attempt 2 fails
    assert_eq!(provider.calls(), 3);

    clock.advance(Duration::from_secs(30));
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "new");
    assert_eq!(provider.calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_never_served() {
    let clock = FakeClock::default();
    let provider = scripted(&clock)
        .then_ok("old")
        .then_fail("down")
        .then_fail("down again");
    let cache = cache_over(provider.clone(), &clock);
    cache.get_token(SCOPE, &opts()).await.unwrap();

    clock.advance(HOUR); // exactly at expiry
    let err = cache.get_token(SCOPE, &opts()).await.unwrap_err();
    assert_eq!(err.message(), "down");
    // No backoff on the cold path: the next caller tries again rather than getting the old token.
    assert_eq!(
        cache.get_token(SCOPE, &opts()).await.unwrap_err().message(),
        "down again"
    );
    assert_eq!(provider.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn refresh_on_from_the_provider_starts_the_refresh() {
    let clock = FakeClock::default();
    let now = clock.now();
    let first = AccessToken::new("first", now + HOUR).with_refresh_on(now + Duration::from_secs(100));
    let provider = scripted(&clock).then_token(first).then_ok("second");
    let cache = cache_over(provider.clone(), &clock);
    cache.get_token(SCOPE, &opts()).await.unwrap();
    clock.advance(Duration::from_secs(99));
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "first");
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "second");
    assert_eq!(provider.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn jitter_only_delays_the_refresh_within_its_bound() {
    for _ in 0..20 {
        let clock = FakeClock::default();
        let provider = scripted(&clock).then_ok("old").always_ok("new");
        let cache = TokenCacheLayer::new()
            .clock(Arc::new(clock.clone()))
            .max_jitter(Duration::from_secs(60))
            .layer(provider.clone());
        cache.get_token(SCOPE, &opts()).await.unwrap();
        clock.advance(HOUR - Duration::from_secs(301));
        assert_eq!(
            cache.get_token(SCOPE, &opts()).await.unwrap().secret(),
            "old",
            "never before the window"
        );
        clock.advance(Duration::from_secs(61)); // window (300 s) minus the largest jitter (60 s), passed
        assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "new");
    }
}

#[tokio::test(start_paused = true)]
async fn requests_with_claims_bypass_the_cache() {
    let clock = FakeClock::default();
    let provider = scripted(&clock).always_ok("t");
    let cache = cache_over(provider.clone(), &clock);
    let claims = opts().with_claims(r#"{"access_token":{"acrs":{"essential":true,"values":["p1"]}}}"#);
    cache.get_token(SCOPE, &claims).await.unwrap();
    cache.get_token(SCOPE, &claims).await.unwrap();
    assert_eq!(provider.calls(), 2);
    cache.get_token(SCOPE, &opts()).await.unwrap();
    assert_eq!(
        provider.calls(),
        3,
        "a claims token is not stored for plain requests"
    );
    assert_eq!(provider.requests()[0].claims.as_deref(), claims.claims());
}

#[tokio::test(start_paused = true)]
async fn keys_are_scopes_tenant_and_cae() {
    let clock = FakeClock::default();
    let provider = scripted(&clock).always_ok("t");
    let cache = cache_over(provider.clone(), &clock);
    let variants = [
        (vec!["a"], opts()),
        (vec!["b"], opts()),
        (vec!["a", "b"], opts()),
        (vec!["b", "a"], opts()),
        (vec!["a"], opts().with_tenant_id("t1")),
        (vec!["a"], opts().with_tenant_id("t2")),
        (vec!["a"], opts().with_enable_cae(true)),
    ];
    for _ in 0..2 {
        for (scopes, options) in &variants {
            cache.get_token(scopes, options).await.unwrap();
        }
    }
    assert_eq!(provider.calls(), variants.len());
}

#[tokio::test(start_paused = true)]
async fn loading_one_key_never_blocks_readers_of_another() {
    let clock = FakeClock::default();
    let provider = scripted(&clock)
        .then_ok("a")
        .then_ok("b")
        .with_delay(Duration::from_secs(10));
    let cache = cache_over(provider.clone(), &clock);
    cache.get_token(&["a"], &opts()).await.unwrap();
    let slow_b = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get_token(&["b"], &opts()).await })
    };
    tokio::task::yield_now().await;
    for _ in 0..100 {
        let a = cache
            .get_token(&["a"], &opts())
            .now_or_never()
            .expect("a hit on A must not wait for B");
        assert_eq!(a.unwrap().secret(), "a");
    }
    assert_eq!(slow_b.await.unwrap().unwrap().secret(), "b");
}

#[tokio::test(start_paused = true)]
async fn when_every_waiter_leaves_the_load_is_dropped() {
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let provider = {
        let (started, dropped) = (started.clone(), dropped.clone());
        FnCredential::new("Hanging", move |_| {
            let (started, dropped) = (started.clone(), dropped.clone());
            async move {
                struct Guard(Arc<AtomicBool>);
                impl Drop for Guard {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::SeqCst);
                    }
                }
                let _guard = Guard(dropped);
                let n = started.fetch_add(1, Ordering::SeqCst);
                if n == 0 {
                    std::future::pending::<()>().await;
                }
                Ok::<_, Error>(AccessToken::new("second", std::time::SystemTime::now() + HOUR))
            }
        })
    };
    let cache = TokenCache::new(provider);
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get_token(SCOPE, &opts()).await })
    };
    tokio::task::yield_now().await;
    assert_eq!(started.load(Ordering::SeqCst), 1);
    waiter.abort();
    let _ = waiter.await;
    assert!(
        dropped.load(Ordering::SeqCst),
        "the abandoned load must be dropped (and its process killed)"
    );
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "second");
}

/// The last moment `SystemTime` can represent on this platform.
fn end_of_time() -> std::time::SystemTime {
    let epoch = std::time::UNIX_EPOCH;
    let (mut low, mut high) = (0_u64, u64::MAX);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if epoch.checked_add(Duration::from_secs(mid)).is_some() {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let last_second = epoch + Duration::from_secs(low);
    last_second
        .checked_add(Duration::from_nanos(999_999_999))
        .or_else(|| last_second.checked_add(Duration::from_nanos(999_999_000)))
        .unwrap_or(last_second)
}

#[tokio::test(start_paused = true)]
async fn a_refresh_time_at_the_end_of_representable_time_does_not_panic_the_load() {
    let clock = FakeClock::default();
    let end = end_of_time();
    for _ in 0..3 {
        let far = AccessToken::new("far", end).with_refresh_on(end);
        let provider = scripted(&clock).then_token(far);
        // Jitter is added to `refresh_on`: past the end of time it must clamp, not overflow.
        let cache = TokenCacheLayer::new()
            .clock(Arc::new(clock.clone()))
            .max_jitter(Duration::from_secs(60))
            .layer(provider.clone());
        assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "far");
        assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "far");
        assert_eq!(provider.calls(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_delay_too_long_to_add_means_no_retry_instead_of_a_panic() {
    let clock = FakeClock::default();
    let provider = scripted(&clock)
        .then_ok("old")
        .always_err(Error::transient("Scripted", "down"));
    let cache = TokenCacheLayer::new()
        .clock(Arc::new(clock.clone()))
        .max_jitter(Duration::ZERO)
        .retry_delay(Duration::MAX)
        .layer(provider.clone());
    cache.get_token(SCOPE, &opts()).await.unwrap();
    clock.advance(HOUR - Duration::from_secs(200)); // in the refresh window
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "old"); // refresh fails
    clock.advance(Duration::from_secs(100));
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "old"); // no retry
    assert_eq!(provider.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_token_that_arrives_expired_or_within_the_margin_is_refused_not_served() {
    let clock = FakeClock::default();
    let now = clock.now();
    let expired = AccessToken::new("expired", std::time::UNIX_EPOCH + Duration::from_secs(1));
    let almost = AccessToken::new("almost", now + Duration::from_millis(500));
    let provider = scripted(&clock)
        .then_token(expired)
        .then_token(almost)
        .then_ok("good");
    let cache = cache_over(provider.clone(), &clock);
    for _ in 0..2 {
        let err = cache.get_token(SCOPE, &opts()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
        assert!(err.message().contains("cannot be used"), "{err}");
        assert!(err.message().contains("clock"), "says what to check: {err}");
        assert!(!err.to_string().contains("expired\""), "{err}");
    }
    // Nothing was cached: the next caller asks the provider again.
    assert_eq!(cache.get_token(SCOPE, &opts()).await.unwrap().secret(), "good");
    assert_eq!(provider.calls(), 3);
}
