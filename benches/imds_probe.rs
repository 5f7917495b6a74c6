//! What the managed identity probe costs a cold `DefaultCredential` on a machine that is not an
//! Azure VM (issue 11): build the default chain and get one token from a provider after managed
//! identity, with IMDS (a) refused (nothing listens: a laptop), (b) silent (a listener that
//! never answers, like a firewall dropping 169.254.169.254: the 1 s probe timeout), and
//! (baseline) managed identity excluded. VS Code and the Azure CLI are excluded so only the
//! environment, workload identity and managed identity providers run before the token.
//!
//! Run with `cargo bench --bench imds_probe`. IMDS is pointed at loopback through
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST`, which replaces `http://169.254.169.254`.
//!
//! Measured 2026-11-27 (dev profile, `--profile dev`, 2 shared cores): without managed identity
//! 0.08 ms; IMDS refused 0.74 ms; IMDS silent 1.003 s (the 1 s probe timeout). Before managed
//! identity's client became `http_only` for `http://` endpoints, refused took 42 ms and silent
//! 1.043 s: about 32 ms went to loading the system's TLS root store, which IMDS never uses.

use std::time::{Duration, Instant};

use credchain::testing::StaticCredential;
use credchain::{DefaultCredential, Env, ProviderEntry, TokenRequestOptions};
use credchain_fake_entra::{SilentListener, refused_url};
use criterion::{Criterion, criterion_group, criterion_main};

const SCOPE: &[&str] = &["https://management.azure.com/.default"];

/// A cold default chain (built inside the measurement) whose IMDS is `imds`, ending in a
/// provider that always has a token; `None` leaves managed identity out.
async fn cold_token(imds: Option<&str>) {
    let env = Env::from_pairs(
        imds.map(|host| ("AZURE_POD_IDENTITY_AUTHORITY_HOST", host))
            .into_iter()
            .chain([("PATH", "/nonexistent")]),
    );
    let credential = DefaultCredential::builder()
        .env(env)
        .exclude_visual_studio_code_credential(true)
        .exclude_cli_credential(true)
        .exclude_managed_identity_credential(imds.is_none())
        .push(ProviderEntry::new(StaticCredential::new(
            "LastCredential",
            "token",
        )))
        .build()
        .expect("valid options");
    let token = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .expect("the last provider's token");
    assert_eq!(credential.chain().selected(), Some("LastCredential"));
    drop(token);
}

fn probe_cost(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let refused = refused_url().expect("a free port");
    let silent = runtime.block_on(SilentListener::start()).expect("listener");
    let silent_url = silent.base_url().to_owned();

    let mut group = c.benchmark_group("cold_default_credential");
    group.sample_size(30);
    group.bench_function("without_managed_identity", |b| {
        b.to_async(&runtime).iter(|| cold_token(None))
    });
    group.bench_function("imds_refused", |b| {
        b.to_async(&runtime).iter(|| cold_token(Some(&refused)))
    });
    // Each iteration waits out the 1 s probe timeout: the fewest samples criterion allows.
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(11));
    group.bench_function("imds_silent_1s_probe_timeout", |b| {
        b.iter_custom(|iterations| {
            let started = Instant::now();
            for _ in 0..iterations {
                runtime.block_on(cold_token(Some(&silent_url)));
            }
            started.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, probe_cost);
criterion_main!(benches);
