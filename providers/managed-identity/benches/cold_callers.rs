//! The managed identity provider behind credchain's token cache, against `FakeManagedIdentity`
//! (IMDS, used alone) on loopback:
//!
//! * `cold_callers/1000_callers_imds`: 1,000 concurrent callers on a cold cache; asserts that
//!   the endpoint received exactly one request per iteration (single flight), reports wall time.
//!   `cold_callers/1_callers_imds` is the same with one caller, for comparison: each iteration
//!   builds a new credential, so both include setting up its HTTP client.
//! * `cached_hit/imds`: a hit on the warm cache (the provider is not called).
//! * `probe_without_imds/{refused,silent_listener}`: what a chain's first call pays on a machine
//!   without IMDS (the probe, then *unavailable*).
//!
//! Run with `cargo bench -p credchain-managed-identity --bench cold_callers`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credchain::{Env, ErrorKind, TokenCache, TokenCredential, TokenRequestOptions};
use credchain_core::ProviderContext;
use credchain_fake_entra::{FakeManagedIdentity, MiSource, SilentListener, refused_url};
use credchain_managed_identity::ManagedIdentityCredential;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;

const SCOPE: &[&str] = &["https://management.azure.com/.default"];
const CALLERS: usize = 1000;

/// A cold cache over a managed identity credential reading `fake`'s variables.
fn cold_cache(fake: &FakeManagedIdentity) -> Arc<TokenCache<ManagedIdentityCredential>> {
    let context = ProviderContext::new().with_env(Env::from_pairs(fake.env()));
    Arc::new(TokenCache::new(
        ManagedIdentityCredential::builder().context(context).build(),
    ))
}

fn cold_callers(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fake = runtime
        .block_on(FakeManagedIdentity::builder(MiSource::Imds).start())
        .expect("fake");
    let mut group = c.benchmark_group("cold_callers");
    group.sample_size(10);
    // One caller: the cost of a cold credential alone (HTTP client set-up, one request).
    for callers in [1, CALLERS] {
        group.bench_function(format!("{callers}_callers_imds"), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let cache = cold_cache(&fake);
                    let before = fake.requests().len();
                    let started = Instant::now();
                    runtime.block_on(async {
                        let callers: Vec<_> = (0..callers)
                            .map(|_| {
                                let cache = Arc::clone(&cache);
                                tokio::spawn(async move {
                                    cache.get_token(SCOPE, &TokenRequestOptions::new()).await.is_ok()
                                })
                            })
                            .collect();
                        for caller in callers {
                            assert!(caller.await.expect("task"), "every caller gets the token");
                        }
                    });
                    total += started.elapsed();
                    assert_eq!(
                        fake.requests().len() - before,
                        1,
                        "{callers} cold callers make one request to the endpoint"
                    );
                }
                total
            })
        });
    }
    group.finish();
}

fn cached_hit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fake = runtime
        .block_on(FakeManagedIdentity::builder(MiSource::Imds).start())
        .expect("fake");
    let cache = cold_cache(&fake);
    let options = TokenRequestOptions::new();
    runtime.block_on(cache.get_token(SCOPE, &options)).expect("warm");
    c.bench_function("cached_hit/imds", |b| {
        b.iter(|| {
            black_box(
                cache
                    .get_token(black_box(SCOPE), black_box(&options))
                    .now_or_never(),
            )
        })
    });
    assert_eq!(fake.requests().len(), 1, "hits never reach the endpoint");
}

/// What a chain pays to learn there is no IMDS (a laptop): a new credential with the probe
/// (`probe(true)`), one call, *unavailable*. Refused: nothing listens on the port; silent: a
/// listener that never answers, so the probe waits out its timeout (1 s by default).
fn probe_without_imds(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let silent = runtime.block_on(SilentListener::start()).expect("listener");
    let refused = refused_url().expect("port");
    let mut group = c.benchmark_group("probe_without_imds");
    group.sample_size(10);
    for (name, host) in [
        ("refused", refused.as_str()),
        ("silent_listener", silent.base_url()),
    ] {
        let env = Env::from_pairs([("AZURE_POD_IDENTITY_AUTHORITY_HOST", host)]);
        group.bench_function(name, |b| {
            b.iter(|| {
                let credential = ManagedIdentityCredential::builder()
                    .context(ProviderContext::new().with_env(env.clone()))
                    .probe(true)
                    .build();
                let result = runtime.block_on(credential.get_token(SCOPE, &TokenRequestOptions::new()));
                assert_eq!(
                    result.map(|_| ()).map_err(|e| e.kind()),
                    Err(ErrorKind::Unavailable)
                );
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cold_callers, cached_hit, probe_without_imds);
criterion_main!(benches);
