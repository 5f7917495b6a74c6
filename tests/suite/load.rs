//! Load and cancellation: 10,000 concurrent callers on a cold cache, half of them dropping their
//! futures mid-flight and a tenth with deadlines. The seed is fixed in CI (`PROPTEST_RNG_SEED`,
//! shared with the property tests) so a red run can be replayed; `soak` runs many rounds and is
//! ignored by default (see the README).

use std::sync::Arc;
use std::time::{Duration, Instant};

use credchain::testing::ScriptedCredential;
use credchain::{ChainedCredential, ErrorKind, TokenCredential, TokenRequestOptions};

/// How long the provider takes: long enough that droppers and deadlines land mid-flight.
const PROVIDER_DELAY: Duration = Duration::from_millis(300);
const KEYS: [&str; 3] = ["api://one/.default", "api://two/.default", "api://three/.default"];

/// What one caller does.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Waits for the token.
    Wait,
    /// Is aborted after this long (before the provider answers).
    DropAfter(Duration),
    /// Has a deadline this far away: before the answer (→ timeout) or well after it (→ token).
    Deadline(Duration),
}

fn seed() -> u64 {
    std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..))
}

fn plans(rng: &mut fastrand::Rng, callers: usize) -> Vec<(usize, Plan)> {
    (0..callers)
        .map(|i| {
            // The first caller of each key always waits, so every key's load has a survivor.
            let key = i % KEYS.len();
            if i < KEYS.len() {
                return (key, Plan::Wait);
            }
            let plan = match rng.u32(0..20) {
                0..10 => Plan::DropAfter(Duration::from_millis(rng.u64(0..200))),
                10..12 => {
                    if rng.bool() {
                        Plan::Deadline(Duration::from_millis(rng.u64(1..150)))
                    } else {
                        Plan::Deadline(Duration::from_millis(rng.u64(2_000..4_000)))
                    }
                }
                _ => Plan::Wait,
            };
            (key, plan)
        })
        .collect()
}

/// Runs one round; returns the provider's call count.
async fn round(rng: &mut fastrand::Rng, callers: usize) -> usize {
    let provider = ScriptedCredential::new("Slow")
        .always_ok("the-token")
        .with_delay(PROVIDER_DELAY);
    let chain = ChainedCredential::builder()
        .provider(provider.clone())
        .build()
        .expect("chain");
    let chain = Arc::new(chain);
    let mut survivors = Vec::new();
    let mut dropped = Vec::new();
    for (key, plan) in plans(rng, callers) {
        let chain = Arc::clone(&chain);
        let options = match plan {
            Plan::Deadline(after) => TokenRequestOptions::new().with_deadline(Instant::now() + after),
            _ => TokenRequestOptions::new(),
        };
        let task = tokio::spawn(async move { chain.get_token(&[KEYS[key]], &options).await });
        match plan {
            Plan::DropAfter(after) => dropped.push((after, task)),
            _ => survivors.push((plan, task)),
        }
    }
    let droppers = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        dropped.sort_by_key(|(after, _)| *after);
        for (after, task) in dropped {
            tokio::time::sleep_until(started + after).await;
            task.abort();
            // An aborted task ends as cancelled, or with its result if it had just finished.
            let _ = task.await;
        }
    });
    // No lost wake-up: every survivor finishes, and well within this bound.
    let outcomes = tokio::time::timeout(Duration::from_secs(60), async {
        let mut outcomes = Vec::with_capacity(survivors.len());
        for (plan, task) in survivors {
            outcomes.push((plan, task.await.expect("caller task panicked")));
        }
        outcomes
    })
    .await
    .expect("a caller never woke up");
    droppers.await.expect("dropper task");
    for (plan, outcome) in outcomes {
        match (plan, outcome) {
            (Plan::Deadline(after), Err(e)) if after < PROVIDER_DELAY => {
                assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
            }
            (Plan::Deadline(after), Ok(_)) if after < PROVIDER_DELAY => {
                panic!("a caller whose deadline ({after:?}) passed before the provider answered got a token")
            }
            (_, Ok(token)) => assert_eq!(token.secret(), "the-token"),
            (plan, Err(e)) => panic!("{plan:?} got {e}"),
        }
    }
    // A warm repeat for every key is a hit: still one provider call per key.
    for key in KEYS {
        chain
            .get_token(&[key], &TokenRequestOptions::new())
            .await
            .expect("warm hit");
    }
    provider.calls()
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_callers_half_dropping_one_call_per_key_no_leak() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let calls = round(&mut rng, 10_000).await;
    assert_eq!(calls, KEYS.len(), "seed {seed}: one provider call per key");
    // Every spawned task (callers, droppers, loads) has ended: nothing leaked.
    let bound = tokio::time::Instant::now() + Duration::from_secs(10);
    while alive_tasks() > 0 && tokio::time::Instant::now() < bound {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(alive_tasks(), 0, "seed {seed}: tasks left running");
}

/// A longer soak: `CREDCHAIN_SOAK_ROUNDS` rounds (default 50) of the test above with fresh
/// seeds. `cargo test -p credchain --test suite load::soak -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: run on demand"]
async fn soak() {
    let rounds: usize = std::env::var("CREDCHAIN_SOAK_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    for _ in 0..rounds {
        let seed = fastrand::u64(..);
        let mut rng = fastrand::Rng::with_seed(seed);
        assert_eq!(round(&mut rng, 10_000).await, KEYS.len(), "seed {seed}");
    }
}
