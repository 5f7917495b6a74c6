//! Core benchmarks: the cached path, single-flight under a cold stampede, key isolation.
//!
//! Run with `cargo bench --bench cache`. Numbers are in the README's performance section.

mod common;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use credchain::testing::{FnCredential, ScriptedCredential, StaticCredential};
use credchain::{AccessToken, ChainedCredential, Env, TokenCredential, TokenRequestOptions};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;

const SCOPE: &[&str] = &["https://management.azure.com/.default"];

fn warm_chain(provider: impl TokenCredential + 'static) -> ChainedCredential {
    ChainedCredential::builder()
        .env(Env::empty())
        .sticky(true)
        .provider(provider)
        .build()
        .expect("one provider")
}

/// A hit through ChainedCredential (sticky) + TenantPolicy + TokenCache.
fn cached_get_token(c: &mut Criterion) {
    let chain = warm_chain(StaticCredential::new("Static", "token").with_home_tenant("home-tenant"));
    let options = TokenRequestOptions::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(chain.get_token(SCOPE, &options)).expect("warm");
    c.bench_function("cached_get_token/chain+tenant+cache", |b| {
        b.iter(|| {
            black_box(
                chain
                    .get_token(black_box(SCOPE), black_box(&options))
                    .now_or_never(),
            )
        })
    });
}

/// 1,000 concurrent cold callers on one key; the provider takes 50 ms.
fn cold_stampede(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("cold_stampede");
    group.sample_size(10);
    group.bench_function("1000_callers_provider_50ms", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let provider = ScriptedCredential::new("Slow")
                    .always_ok("t")
                    .with_delay(Duration::from_millis(50));
                let chain = warm_chain(provider.clone());
                total += common::stampede(&runtime, &chain, SCOPE, 1000);
                assert_eq!(
                    provider.calls(),
                    1,
                    "single-flight: one provider call for 1000 callers"
                );
            }
            total
        })
    });
    group.finish();
}

/// A hit on key A of one cache while a load of key B of the same cache is in flight
/// (the B load never finishes during the run). Compare with `cached_get_token`.
fn isolation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let provider = FnCredential::new("Keyed", |request| async move {
        if request.scopes[0] == "b" {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(AccessToken::new(
            "t",
            SystemTime::now() + Duration::from_secs(3600),
        ))
    });
    let chain = warm_chain(provider);
    let options = TokenRequestOptions::new();
    runtime.block_on(chain.get_token(&["a"], &options)).expect("warm");
    let _pending_b = {
        let chain = chain.clone();
        runtime.spawn(async move { chain.get_token(&["b"], &TokenRequestOptions::new()).await })
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut group = c.benchmark_group("isolation");
    group.bench_function("hit_on_a_while_b_loads", |b| {
        b.iter(|| black_box(chain.get_token(black_box(&["a"]), &options).now_or_never()))
    });
    group.finish();
}

criterion_group!(benches, cached_get_token, cold_stampede, isolation);
criterion_main!(benches);
