//! `credchain token --cache` across processes: 100 sequential runs of the built binary against a
//! fake `az` that takes 500 ms cause one `az` run, and each later run costs only process start-up
//! plus a few small file reads. Goal: median ≤ 10 ms per run.
//!
//! Run with `cargo bench --bench cli_cache`. It first makes exactly 100 sequential runs, asserts
//! that `az` ran once, and prints their median; then criterion measures more runs the same way.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

/// A clean environment with the fake `az` first on PATH and a private XDG_RUNTIME_DIR.
fn command(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_credchain"));
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", root.join("bin").display()))
        .env("HOME", root.join("home"))
        .env("XDG_RUNTIME_DIR", root.join("run"))
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/no-bus", root.display()),
        )
        .args(["token", "--cache", "-o", "token"]);
    cmd
}

fn setup(root: &Path) {
    for dir in ["bin", "home", "run"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = version ]; then echo '{{\"azure-cli\": \"2.91.0\"}}'; exit 0; fi\n\
         echo run >> '{log}'\nsleep 0.5\n\
         echo '{{\"accessToken\": \"bench-token\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \
         \"expires_on\": 4070908800, \"tenant\": \"t\", \"tokenType\": \"Bearer\"}}'\n",
        log = root.join("az.log").display()
    );
    let az = root.join("bin/az");
    std::fs::write(&az, script).expect("write az");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn az_runs(root: &Path) -> usize {
    std::fs::read_to_string(root.join("az.log"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn run_once(root: &Path) -> Duration {
    let started = Instant::now();
    let out = command(root).output().expect("run credchain");
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"bench-token\n");
    elapsed
}

fn cli_cache(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    setup(root);

    let mut times: Vec<Duration> = (0..100).map(|_| run_once(root)).collect();
    assert_eq!(az_runs(root), 1, "100 sequential runs must cause one az run");
    let first = times[0];
    times.sort();
    println!(
        "100 sequential `credchain token --cache` runs: 1 az run; first {first:.1?} (fetch), median {:.2?}, p90 {:.2?}, max {:.2?}",
        times[50], times[90], times[99]
    );

    let mut group = c.benchmark_group("cli_cache");
    group.sample_size(100).measurement_time(Duration::from_secs(5));
    group.bench_function("token --cache hit (whole process)", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_once(root)).sum())
    });
    group.finish();
    assert_eq!(az_runs(root), 1, "every measured run was a cache hit");
}

criterion_group!(benches, cli_cache);
criterion_main!(benches);
