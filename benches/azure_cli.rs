//! The Azure CLI provider behind credchain's middleware: 1,000 concurrent cold callers cause one
//! `az` process, and a cached repeat call spawns nothing.
//!
//! Run with `cargo bench --bench azure_cli`. The fake `az` is a `/bin/sh` script that appends a
//! line to a log for every run (so processes can be counted), sleeps 50 ms like a quick real CLI
//! would take much longer, and prints a real `az account get-access-token` response.

mod common;

use std::hint::black_box;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use credchain::{AzureCliCredential, ChainedCredential, Env, TokenRequestOptions};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;

const SCOPE: &[&str] = &["https://management.azure.com/.default"];

fn fake_az(dir: &Path) -> std::path::PathBuf {
    let az = dir.join("az");
    let script = format!(
        "#!/bin/sh\necho run >> '{log}'\nsleep 0.05\necho '{{\"accessToken\": \"bench-token\", \"expiresOn\": \
         \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"tenant\": \"t\", \"tokenType\": \"Bearer\"}}'\n",
        log = dir.join("runs.log").display()
    );
    std::fs::write(&az, script).expect("write fake az");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    az
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs.log"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn chain(az: &Path) -> ChainedCredential {
    let cli = AzureCliCredential::builder()
        .az_path(az)
        .env(Env::from_pairs([("PATH", "/usr/bin:/bin")]))
        .build()
        .expect("valid options");
    ChainedCredential::builder()
        .env(Env::empty())
        .sticky(true)
        .developer_tool(cli)
        .build()
        .expect("one provider")
}

fn stampede(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("azure_cli");
    group.sample_size(10);
    group.bench_function("1000_cold_callers", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let dir = tempfile::tempdir().expect("tempdir");
                let chain = chain(&fake_az(dir.path()));
                total += common::stampede(&runtime, &chain, SCOPE, 1000);
                assert_eq!(
                    runs(dir.path()),
                    1,
                    "1,000 cold callers must cause exactly one az process"
                );
            }
            total
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let chain = chain(&fake_az(dir.path()));
    runtime
        .block_on(chain.get_token(SCOPE, &TokenRequestOptions::new()))
        .expect("warm");
    let options = TokenRequestOptions::new();
    group.sample_size(100);
    group.bench_function("cached_repeat_call", |b| {
        b.iter(|| black_box(chain.get_token(SCOPE, &options).now_or_never()))
    });
    assert_eq!(runs(dir.path()), 1, "cached repeat calls spawn nothing");
    group.finish();
}

criterion_group!(benches, stampede);
criterion_main!(benches);
