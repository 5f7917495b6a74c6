//! credchain and the official `azure_identity` 1.0, side by side: the same fake `az` (first
//! on `PATH` for both), the same fake Entra token endpoint, the same runs. Prints a Markdown
//! table. Run: `cargo run --release --manifest-path benches/compare/Cargo.toml`.
//!
//! Environment knobs: `COMPARE_CACHED_CALLS` (default 100000), `COMPARE_UNCACHED_CALLS`
//! (default 200), `COMPARE_COLD_CALLERS` (default 1000), `COMPARE_FAILING_CALLERS` (default
//! 100), `COMPARE_HANG_LIMIT_SECS` (the outer bound for a library that never gives up,
//! default 15).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use azure_core::credentials::TokenCredential as AzTokenCredential;
use azure_core::http::{ClientOptions, Transport};
use credchain::{
    AzureCliCredential, ChainedCredential, Env, EnvironmentCredential, ErrorKind, TokenRequestOptions,
};
use credchain_fake_entra::FakeEntra;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

const SCOPE: &str = "https://management.azure.com/.default";
const TENANT: &str = "7f5c0f84-7e52-4f0a-9a57-7d1c1b0e3a11";
const CLIENT_ID: &str = "5d1f7e38-2c1a-4e0b-8a3c-0f1e2d3c4b5a";
const SECRET: &str = "correct-horse-battery-staple";
/// A JWT-shaped token as the real `az` prints (see `providers/azure-cli/tests/data`).
const AZ_TOKEN: &str = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJSUzI1NiJ9.eyJhdWQiOiAiaHR0cHM6Ly9tYW5hZ2VtZW50LmF6dXJlLmNvbSIsICJ0aWQiOiAiN2Y1YzBmODQtN2U1Mi00ZjBhLTlhNTctN2QxYzFiMGUzYTExIn0.bm90LWEtcmVhbC1zaWduYXR1cmU";

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fake `az`: logs its pid per run, prints a token, or hangs while `$dir/hang` exists.
struct FakeAz {
    dir: tempfile::TempDir,
}

impl FakeAz {
    fn new() -> FakeAz {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let expires_on = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() + 7200)
            .unwrap_or(4_102_444_800);
        let d = dir.path().display();
        let script = format!(
            "#!/bin/sh\n\
             echo $$ >> '{d}/calls'\n\
             if [ -f '{d}/hang' ]; then exec sleep 1000; fi\n\
             printf '%s\\n' '{{\"accessToken\":\"{AZ_TOKEN}\",\"expiresOn\":\"2100-01-01 00:00:00.000000\",\"expires_on\":{expires_on},\"subscription\":\"s\",\"tenant\":\"{TENANT}\",\"tokenType\":\"Bearer\"}}'\n"
        );
        let path = dir.path().join("az");
        std::fs::write(&path, script).expect("write fake az");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod fake az");
        FakeAz { dir }
    }

    fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    fn spawns(&self) -> usize {
        self.pids().len()
    }

    fn reset(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("calls"));
    }

    fn hang(&self, on: bool) {
        let flag = self.dir.path().join("hang");
        if on {
            std::fs::write(flag, "").expect("hang flag");
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }
}

fn alive(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn per_call(total: Duration, calls: u64) -> String {
    let ns = total.as_nanos() as f64 / calls.max(1) as f64;
    if ns < 10_000.0 {
        format!("{ns:.0} ns/call")
    } else {
        format!("{:.2} ms/call", ns / 1e6)
    }
}

async fn entra(latency: Duration) -> FakeEntra {
    FakeEntra::builder()
        .client_secret(TENANT, CLIENT_ID, SECRET)
        .latency(latency)
        .start()
        .await
        .expect("start fake Entra")
}

// ---- credchain -------------------------------------------------------------------------

fn our_cli_chain() -> Arc<ChainedCredential> {
    let cli = AzureCliCredential::builder()
        .build()
        .expect("credchain AzureCliCredential");
    Arc::new(ChainedCredential::builder().provider(cli).build().expect("chain"))
}

fn our_secret_chain(entra: &FakeEntra, secret: &str) -> Arc<ChainedCredential> {
    let env = Env::from_pairs([
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("AZURE_CLIENT_SECRET", secret.to_owned()),
        ("AZURE_AUTHORITY_HOST", entra.authority()),
        ("SSL_CERT_FILE", entra.ca_pem_path().display().to_string()),
    ]);
    let provider = EnvironmentCredential::builder().env(env).build();
    Arc::new(
        ChainedCredential::builder()
            .provider(provider)
            .build()
            .expect("chain"),
    )
}

// ---- azure_identity --------------------------------------------------------------------

fn official_cli() -> Arc<dyn AzTokenCredential> {
    azure_identity::AzureCliCredential::new(None).expect("azure_identity AzureCliCredential")
}

fn official_secret(entra: &FakeEntra, secret: &str) -> Arc<dyn AzTokenCredential> {
    let ca = CertificateDer::from_pem_slice(entra.ca_pem().as_bytes()).expect("CA PEM");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).expect("CA");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .expect("reqwest client");
    let mut cloud = azure_core::cloud::CustomConfiguration::default();
    cloud.authority_host = entra.authority();
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            cloud: Some(Arc::new(cloud.into())),
            ..ClientOptions::default()
        },
    };
    azure_identity::ClientSecretCredential::new(
        TENANT,
        CLIENT_ID.to_owned(),
        secret.to_owned().into(),
        Some(options),
    )
    .expect("azure_identity ClientSecretCredential")
}

// ---- runs ------------------------------------------------------------------------------

struct Row {
    scenario: String,
    ours: String,
    theirs: String,
}

async fn ours_many(chain: &Arc<ChainedCredential>, callers: u64) -> (Duration, usize, Vec<ErrorKind>) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.get_token(&[SCOPE], &TokenRequestOptions::new()).await })
        })
        .collect();
    let (mut ok, mut kinds) = (0, Vec::new());
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => kinds.push(e.kind()),
        }
    }
    (started.elapsed(), ok, kinds)
}

async fn theirs_many(cred: &Arc<dyn AzTokenCredential>, callers: u64) -> (Duration, usize, usize) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let cred = cred.clone();
            tokio::spawn(async move { cred.get_token(&[SCOPE], None).await })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    (started.elapsed(), ok, failed)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let cached_calls = knob("COMPARE_CACHED_CALLS", 100_000);
    let uncached_calls = knob("COMPARE_UNCACHED_CALLS", 200);
    let cold_callers = knob("COMPARE_COLD_CALLERS", 1000);
    let failing_callers = knob("COMPARE_FAILING_CALLERS", 100);
    let hang_limit = Duration::from_secs(knob("COMPARE_HANG_LIMIT_SECS", 15));
    let mut rows = Vec::new();

    let az = FakeAz::new();
    // Both libraries find `az` through `PATH`: put the fake first, for both.
    let path = std::env::var("PATH").unwrap_or_default();
    // SAFETY: the runtime's workers are idle and nothing else reads the environment yet.
    unsafe { std::env::set_var("PATH", format!("{}:{path}", az.dir.path().display())) };

    // 1. Cached get_token latency.
    eprintln!("1/4 cached get_token latency");
    let ours = our_cli_chain();
    ours.get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("credchain az token");
    let started = Instant::now();
    for _ in 0..cached_calls {
        ours.get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .expect("cached");
    }
    let ours_time = started.elapsed();
    let ours_spawns = az.spawns();
    az.reset();
    let theirs = official_cli();
    let started = Instant::now();
    for _ in 0..uncached_calls {
        theirs
            .get_token(&[SCOPE], None)
            .await
            .expect("azure_identity az token");
    }
    let theirs_time = started.elapsed();
    rows.push(Row {
        scenario: "Azure CLI: repeated `get_token` (fake `az`)".into(),
        ours: format!(
            "{} ({cached_calls} calls, {ours_spawns} `az` run)",
            per_call(ours_time, cached_calls)
        ),
        theirs: format!(
            "{} ({uncached_calls} calls, {} `az` runs: no cache)",
            per_call(theirs_time, uncached_calls),
            az.spawns()
        ),
    });
    az.reset();

    let sts = entra(Duration::ZERO).await;
    let ours = our_secret_chain(&sts, SECRET);
    ours.get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("credchain secret token");
    let started = Instant::now();
    for _ in 0..cached_calls {
        ours.get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .expect("cached");
    }
    let ours_time = started.elapsed();
    let ours_requests = sts.token_request_count();
    let sts2 = entra(Duration::ZERO).await;
    let theirs = official_secret(&sts2, SECRET);
    theirs
        .get_token(&[SCOPE], None)
        .await
        .expect("azure_identity secret token");
    let started = Instant::now();
    for _ in 0..cached_calls {
        theirs.get_token(&[SCOPE], None).await.expect("cached");
    }
    rows.push(Row {
        scenario: "Client secret: cached `get_token`".into(),
        ours: format!(
            "{} ({ours_requests} token request)",
            per_call(ours_time, cached_calls)
        ),
        theirs: format!(
            "{} ({} token request)",
            per_call(started.elapsed(), cached_calls),
            sts2.token_request_count()
        ),
    });
    drop((sts, sts2));

    // 2. Cold concurrent callers.
    eprintln!("2/4 {cold_callers} concurrent cold callers");
    let (t, ok, _) = ours_many(&our_cli_chain(), cold_callers).await;
    let ours_cell = format!("{} `az` run, {} wall, {ok}/{cold_callers} ok", az.spawns(), ms(t));
    az.reset();
    let (t, ok, _) = theirs_many(&official_cli(), cold_callers).await;
    rows.push(Row {
        scenario: format!("Azure CLI: {cold_callers} concurrent cold callers"),
        ours: ours_cell,
        theirs: format!(
            "{} `az` runs, {} wall, {ok}/{cold_callers} ok",
            az.spawns(),
            ms(t)
        ),
    });
    az.reset();

    let sts = entra(Duration::from_millis(50)).await;
    let (t, ok, _) = ours_many(&our_secret_chain(&sts, SECRET), cold_callers).await;
    let ours_cell = format!(
        "{} token request, {} wall, {ok}/{cold_callers} ok",
        sts.token_request_count(),
        ms(t)
    );
    let sts2 = entra(Duration::from_millis(50)).await;
    let (t, ok, _) = theirs_many(&official_secret(&sts2, SECRET), cold_callers).await;
    rows.push(Row {
        scenario: format!("Client secret: {cold_callers} concurrent cold callers (token endpoint 50 ms)"),
        ours: ours_cell,
        theirs: format!(
            "{} token request, {} wall, {ok}/{cold_callers} ok",
            sts2.token_request_count(),
            ms(t)
        ),
    });
    drop((sts, sts2));

    // 3. `az` hangs.
    eprintln!(
        "3/4 `az` hangs (up to {} s for a library that never gives up)",
        hang_limit.as_secs()
    );
    az.hang(true);
    let ours = our_cli_chain();
    let started = Instant::now();
    let result =
        tokio::time::timeout(hang_limit, ours.get_token(&[SCOPE], &TokenRequestOptions::new())).await;
    let ours_took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = az.pids().into_iter().filter(|p| alive(*p)).count();
    let ours_cell = match result {
        Ok(Err(e)) => format!(
            "gave up after {:.1} s ({}); `az` processes left running: {left}",
            ours_took.as_secs_f64(),
            e.kind()
        ),
        Ok(Ok(_)) => "unexpected token".into(),
        Err(_) => format!("still waiting after {} s", hang_limit.as_secs()),
    };
    az.reset();
    let theirs = official_cli();
    let result = tokio::time::timeout(hang_limit, theirs.get_token(&[SCOPE], None)).await;
    let pids = az.pids();
    let left = pids.iter().filter(|p| alive(**p)).count();
    let theirs_cell = match result {
        Err(_) => format!(
            "still waiting after {} s (stopped by the outer timeout); `az` processes left running: {left}",
            hang_limit.as_secs()
        ),
        Ok(Err(_)) => "returned an error".into(),
        Ok(Ok(_)) => "unexpected token".into(),
    };
    // Clean up the processes this run started (by pid, only ours).
    for pid in pids {
        if alive(pid) {
            let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
        }
    }
    rows.push(Row {
        scenario: "Azure CLI: `az` hangs".into(),
        ours: ours_cell,
        theirs: theirs_cell,
    });
    az.hang(false);
    az.reset();

    // 4. A failing token endpoint (wrong secret), many callers.
    eprintln!("4/4 {failing_callers} callers, failing token endpoint");
    let sts = entra(Duration::from_millis(20)).await;
    let (t, _, kinds) = ours_many(&our_secret_chain(&sts, "wrong-secret"), failing_callers).await;
    let ours_cell = format!(
        "{} token request, {} wall, {}/{failing_callers} failed ({})",
        sts.token_request_count(),
        ms(t),
        kinds.len(),
        kinds.first().map(|k| k.as_str()).unwrap_or("-")
    );
    let sts2 = entra(Duration::from_millis(20)).await;
    let (t, _, failed) = theirs_many(&official_secret(&sts2, "wrong-secret"), failing_callers).await;
    rows.push(Row {
        scenario: format!("Client secret: {failing_callers} callers, wrong secret (token endpoint 20 ms)"),
        ours: ours_cell,
        theirs: format!(
            "{} token requests, {} wall, {failed}/{failing_callers} failed",
            sts2.token_request_count(),
            ms(t)
        ),
    });

    let mut out = String::new();
    let _ = writeln!(out, "| Scenario | credchain | azure_identity 1.0 |");
    let _ = writeln!(out, "|---|---|---|");
    for row in rows {
        let _ = writeln!(out, "| {} | {} | {} |", row.scenario, row.ours, row.theirs);
    }
    print!("{out}");
    let load = std::process::Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!(
        "\nMachine: {} CPUs; `uptime` after the run: {load}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}
