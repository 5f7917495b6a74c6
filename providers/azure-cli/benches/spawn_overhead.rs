//! What `AzureCliCredential::get_token` costs on top of the process it runs.
//!
//! Both benchmarks run the same fake `az` (a `/bin/sh` script printing a real CLI response):
//!
//! * `spawn_directly`: `tokio::process::Command` with the same argv, stdin null, piped output,
//!   `.output().await`; the floor for any implementation.
//! * `get_token`: the credential end to end: validation, locating `az` (explicit path), the
//!   process group, bounded capture, the exit/kill bookkeeping and JSON parsing.
//!
//! The difference is the provider's overhead (target: at most 1 ms).
//!
//! Run: `cargo bench -p credchain-azure-cli --bench spawn_overhead`
#[cfg(unix)]
mod unix {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Stdio;
    use std::time::Duration;

    use credchain_azure_cli::AzureCliCredential;
    use credchain_core::{Env, TokenCredential, TokenRequestOptions};
    use criterion::{Criterion, criterion_group};

    const SCOPE: &str = "https://management.azure.com/.default";

    fn fake_az(dir: &std::path::Path) -> std::path::PathBuf {
        let sample =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ok_scope.stdout"))
                .expect("sample output");
        let path = dir.join("az");
        std::fs::write(&path, format!("#!/bin/sh\ncat <<'EOF'\n{}EOF\n", sample)).expect("write fake");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn bench(c: &mut Criterion) {
        let dir = tempfile::tempdir().expect("tempdir");
        let az = fake_az(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let credential = AzureCliCredential::builder()
            .az_path(&az)
            .env(Env::from_pairs([("PATH", "/usr/bin:/bin"), ("TZ", "UTC")]))
            .build()
            .expect("valid options");
        let options = TokenRequestOptions::new();
        let args = [
            "account",
            "get-access-token",
            "--output",
            "json",
            "--scope",
            SCOPE,
        ];

        let mut group = c.benchmark_group("azure_cli");
        group.sample_size(60).measurement_time(Duration::from_secs(8));
        group.bench_function("spawn_directly", |b| {
            b.to_async(&runtime).iter(|| async {
                let out = tokio::process::Command::new(&az)
                    .args(args)
                    .current_dir("/bin")
                    .env_clear()
                    .env("PATH", "/usr/bin:/bin")
                    .env("AZURE_CORE_NO_COLOR", "true")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .output()
                    .await
                    .expect("runs");
                assert!(out.status.success());
                out
            });
        });
        group.bench_function("get_token", |b| {
            b.to_async(&runtime)
                .iter(|| async { credential.get_token(&[SCOPE], &options).await.expect("token") });
        });
        group.finish();
    }

    criterion_group!(benches, bench);
}

#[cfg(unix)]
criterion::criterion_main!(unix::benches);

/// The fake `az` is a shell script, so the benchmark only runs on Unix.
#[cfg(not(unix))]
fn main() {}
