//! The built `credchain` binary: every subcommand, output format and exit code, in a hermetic
//! environment (`env_clear`, a temporary HOME, a fake `az` on PATH, the fake Entra endpoint).
#![cfg(all(unix, feature = "cli"))]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use base64::Engine as _;
use credchain_fake_entra::FakeEntra;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "0bc2a8f1-5f5e-4b8a-9a3d-5a6b0d2c3e4f";
const CLIENT_SECRET: &str = "client-secret-value-do-not-print";
const ARM: &str = "https://management.azure.com/.default";
const LOGGED_OUT: &str = "ERROR: Please run 'az login' to setup account.\n";
const WRONG_SECRET: &str = "ERROR: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in \
    the request is the client secret value, not the client secret ID, for a secret added to app. Trace ID: \
    64b0dbda-4e1b-45a9-adc3-2e572d880115 Correlation ID: c02c58eb-fbac-422b-a21e-91a652b8f04d Timestamp: \
    2026-11-26 06:51:55Z\n";

/// A JWT-shaped token (unsigned) with a `tid` claim, as az would print one.
fn az_token() -> String {
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc(r#"{"typ":"JWT","alg":"RS256"}"#),
        enc(&format!(
            r#"{{"aud":"https://management.azure.com","tid":"{TENANT}","oid":"11111111-2222-3333-4444-555555555555","upn":"ada@contoso.com","exp":4070908800}}"#
        ))
    )
}

fn az_ok(token: &str) -> String {
    format!(
        r#"{{
  "accessToken": "{token}",
  "expiresOn": "2099-01-01 00:00:00.000000",
  "expires_on": 4070908800,
  "subscription": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
  "tenant": "{TENANT}",
  "tokenType": "Bearer"
}}
"#
    )
}

/// A temporary machine: an empty HOME, optionally a fake `az` in `bin/` that logs each
/// `get-access-token` call's arguments to `az.log` and answers `az version`; IMDS on a refused
/// loopback port (a laptop: the managed identity probe finds nothing at once).
struct Machine {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        std::fs::create_dir_all(dir.path().join("bin")).expect("bin");
        let imds = credchain_fake_entra::refused_url().expect("a refused port");
        Machine {
            dir,
            env: vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(), imds)],
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// A fake `az` that prints `stdout` and `stderr` and exits with `exit` after `delay` seconds.
    fn with_az_after(self, stdout: &str, stderr: &str, exit: i32, delay: &str) -> Self {
        std::fs::write(self.root().join("az.stdout"), stdout).expect("write");
        std::fs::write(self.root().join("az.stderr"), stderr).expect("write");
        let script = format!(
            "#!/bin/sh\n\
             if [ \"$1\" = version ]; then echo '{{\"azure-cli\": \"2.91.0\", \"extensions\": {{}}}}'; exit 0; fi\n\
             echo \"$@\" >> '{root}/az.log'\n\
             sleep {delay}\n\
             cat '{root}/az.stdout'\n\
             cat '{root}/az.stderr' >&2\n\
             exit {exit}\n",
            root = self.root().display(),
        );
        let az = self.root().join("bin/az");
        std::fs::write(&az, script).expect("write az");
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    /// A fake `az` that never answers `get-access-token`: it starts a `sleep` child, writes that
    /// child's PID to `sleep.pid` and then its own to `az.pid` (the marker that it is running),
    /// and waits.
    fn with_hanging_az(self) -> Self {
        let script = format!(
            "#!/bin/sh\n\
             if [ \"$1\" = version ]; then echo '{{\"azure-cli\": \"2.91.0\"}}'; exit 0; fi\n\
             sleep 300 &\n\
             echo $! > '{root}/sleep.pid'\n\
             echo $$ > '{root}/az.pid.tmp' && mv '{root}/az.pid.tmp' '{root}/az.pid'\n\
             wait\n",
            root = self.root().display(),
        );
        let az = self.root().join("bin/az");
        std::fs::write(&az, script).expect("write az");
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    /// A VS Code Azure Resources sign-in record for `username` in this machine's HOME.
    fn with_auth_record(self, username: &str) -> Self {
        let dir = self
            .home()
            .join(".azure/ms-azuretools.vscode-azureresourcegroups");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let record = serde_json::json!({
            "tenantId": TENANT,
            "clientId": "aebc6443-996d-45c2-90f0-388ff96faa56",
            "username": username,
            "homeAccountId": "uid.utid",
            "authority": "login.microsoftonline.com",
        });
        std::fs::write(dir.join("authRecord.json"), record.to_string()).expect("write record");
        self
    }

    fn with_az(self, stdout: &str, stderr: &str, exit: i32) -> Self {
        self.with_az_after(stdout, stderr, exit, "0")
    }

    fn var(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `get-access-token` calls the fake `az` received.
    fn az_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.root().join("az.log"))
            .map(|s| s.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn command(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_command(args))
    }

    /// [`command`](Self::command) as a `std` command, for tests that spawn and signal it.
    fn std_command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_credchain"));
        let home = self.home();
        cmd.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.root().join("bin").display()),
            )
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            // No Secret Service on this bus: the VS Code provider is unavailable at once.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}/no-bus", self.root().display()),
            )
            .env("TZ", "UTC")
            .args(args);
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run credchain"))
    }

    /// Runs the binary off the async runtime, so a fake Entra in this process keeps serving.
    async fn run_async(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        tokio::task::spawn_blocking(move || Run::from(cmd.output().expect("run credchain")))
            .await
            .expect("join")
    }

    /// Replaces this machine's temporary paths, for snapshots.
    fn redact(&self, text: &str) -> String {
        text.replace(&self.root().display().to_string(), "[ROOT]")
    }
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }

    fn assert_never_shows(&self, secret: &str) -> &Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "a secret was printed: {self:#?}"
        );
        self
    }
}

/// Compares doctor's output with a checked-in snapshot, with the timings (which vary between
/// runs) and the machine's temporary directory redacted.
fn assert_doctor_snapshot(name: &str, machine: &Machine, output: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"[ 0-9]{5} ms", "    N ms");
    settings.add_filter(r#""elapsed_ms": \d+"#, r#""elapsed_ms": "N""#);
    settings.add_filter(r"\b\d+ ms\b", "N ms");
    settings.add_filter(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:PORT");
    settings.set_omit_expression(true);
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name.to_owned(), machine.redact(output)));
}

// ---------------------------------------------------------------------------------------------
// token

#[test]
fn token_json_from_the_azure_cli_is_az_compatible() {
    let token = az_token();
    let machine = Machine::new().with_az(&az_ok(&token), "", 0);
    let run = machine.run(&["token"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "", "{run:#?}");
    let json = run.json();
    assert_eq!(json["accessToken"], token.as_str());
    assert_eq!(json["credential"], "AzureCliCredential");
    assert_eq!(json["expiresOn"], "2099-01-01 00:00:00.000000");
    assert_eq!(json["expires_on"], 4_070_908_800_i64);
    assert_eq!(json["tenant"], TENANT, "from the token's `tid` claim");
    assert_eq!(json["tokenType"], "Bearer");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "accessToken",
            "credential",
            "expiresOn",
            "expires_on",
            "tenant",
            "tokenType"
        ]
    );
    assert_eq!(
        machine.az_calls(),
        [format!("account get-access-token --output json --scope {ARM}")]
    );
}

#[test]
fn expires_on_is_local_time_like_az() {
    let machine = Machine::new()
        .with_az(&az_ok("opaque-token"), "", 0)
        .var("TZ", "America/New_York");
    let json = machine.run(&["token"]).assert_code(0).json();
    assert_eq!(json["expiresOn"], "2098-12-31 19:00:00.000000");
    assert_eq!(json["expires_on"], 4_070_908_800_i64);
    assert!(json.get("tenant").is_none(), "not a JWT and no --tenant: {json}");
}

#[test]
fn output_token_prints_only_the_token() {
    let token = az_token();
    let machine = Machine::new().with_az(&az_ok(&token), "", 0);
    let run = machine.run(&["token", "--output", "token"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{token}\n"));
    assert_eq!(run.stderr, "");
    let short = machine.run(&["token", "-o", "token"]);
    assert_eq!(short.stdout, run.stdout);
}

#[test]
fn scope_resource_and_tenant_reach_az() {
    let machine = Machine::new().with_az(&az_ok("opaque-token"), "", 0);
    machine
        .run(&["token", "--resource", "https://vault.azure.net"])
        .assert_code(0);
    machine
        .run(&["token", "--resource", "https://management.core.windows.net/"])
        .assert_code(0);
    let with_tenant = machine.run(&[
        "token",
        "--scope",
        "api://x/.default",
        "--tenant",
        "contoso.onmicrosoft.com",
    ]);
    with_tenant.assert_code(0);
    assert_eq!(with_tenant.json()["tenant"], "contoso.onmicrosoft.com");
    assert_eq!(
        machine.az_calls(),
        [
            "account get-access-token --output json --scope https://vault.azure.net/.default",
            "account get-access-token --output json --scope https://management.core.windows.net//.default",
            "account get-access-token --output json --scope api://x/.default --tenant contoso.onmicrosoft.com",
        ]
    );
}

#[test]
fn logged_out_az_means_no_credential() {
    let machine = Machine::new().with_az("", LOGGED_OUT, 1);
    let run = machine.run(&["token"]);
    run.assert_code(3);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with("error: DefaultCredential: no provider"),
        "{run:#?}"
    );
    for line in [
        "\n  1. EnvironmentCredential (unavailable, ",
        "\n  2. WorkloadIdentityCredential (unavailable, ",
        "\n  3. ManagedIdentityCredential (unavailable, ",
        "\n  4. VisualStudioCodeCredential (unavailable, ",
        "\n  5. AzureCliCredential (unavailable, ",
        "run `az login`",
    ] {
        assert!(run.stderr.contains(line), "missing {line:?}: {run:#?}");
    }
}

#[test]
fn az_failure_alone_is_an_authentication_failure() {
    let machine = Machine::new()
        .with_az("", WRONG_SECRET, 1)
        .var("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential");
    let run = machine.run(&["token"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("AADSTS7000215"), "{run:#?}");
    assert!(run.stderr.contains("AzureCliCredential (failed, "), "{run:#?}");
    assert!(!run.stderr.contains("EnvironmentCredential"), "{run:#?}");

    // In the full chain the CLI is a developer tool: its failure only makes it unavailable.
    let machine = Machine::new().with_az("", WRONG_SECRET, 1);
    let run = machine.run(&["token"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("AzureCliCredential (failed (developer tool, skipped), "),
        "{run:#?}"
    );
}

#[test]
fn bad_scope_or_tenant_is_a_usage_error_and_runs_nothing() {
    let machine = Machine::new().with_az(&az_ok("opaque-token"), "", 0);
    for args in [
        &["token", "--scope", "https://x.com/.default offline_access"][..],
        &["token", "--scope", ARM, "--scope", "bad|scope"],
        &["token", "--resource", "https://vault.azure.net?x=1"],
        &["token", "--scope", ""],
        &["token", "--tenant", "bad tenant"],
        &["token", "--tenant", "t;rm -rf"],
        &["token", "--tenant", ""],
        &["doctor", "--scope", "not a scope"],
    ] {
        let run = machine.run(args);
        run.assert_code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(run.stderr.starts_with("error: invalid "), "{args:?}: {run:#?}");
    }
    assert_eq!(machine.az_calls(), Vec::<String>::new(), "az must never run");
}

#[test]
fn usage_errors_exit_2() {
    let machine = Machine::new();
    for args in [
        &["token", "--output", "yaml"][..],
        &["token", "--scope", "a", "--resource", "b"],
        &["doctor", "--timeout", "0"],
        &["frobnicate"],
        &[],
    ] {
        let run = machine.run(args);
        run.assert_code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.contains("error: ") || run.stderr.contains("Usage: "),
            "{args:?}: {run:#?}"
        );
    }
    let help = machine.run(&["token", "--help"]);
    help.assert_code(0);
    assert!(help.stdout.contains("Exit codes:"), "{help:#?}");
}

#[test]
fn fresh_machine_token_is_unavailable() {
    // No az anywhere on PATH, an empty HOME, no D-Bus session, no AZURE_* variables.
    let machine = Machine::new();
    let run = machine.run(&["token"]);
    run.assert_code(3);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("Azure CLI not found on path"), "{run:#?}");
    assert!(run.stderr.contains("`AZURE_CLIENT_ID`"), "{run:#?}");
}

#[test]
fn verbose_logs_to_stderr_without_the_token() {
    let token = az_token();
    let machine = Machine::new().with_az(&az_ok(&token), "", 0);
    let quiet = machine.run(&["token", "-o", "token"]);
    assert_eq!(quiet.stderr, "");
    for flag in ["-v", "-vv"] {
        let run = machine.run(&[flag, "token", "-o", "token"]);
        run.assert_code(0);
        assert_eq!(run.stdout, format!("{token}\n"));
        // Debug events of the chain and of the Azure CLI provider, whatever their wording.
        assert!(run.stderr.contains(" DEBUG "), "{flag}: {run:#?}");
        assert!(run.stderr.contains("credchain_azure_cli"), "{flag}: {run:#?}");
        assert!(!run.stderr.contains(&token), "{flag}: the token was logged");
    }
    let by_env = machine.clone_with_var("RUST_LOG", "credchain_azure_cli=debug");
    let run = by_env.run(&["token", "-o", "token"]);
    assert!(run.stderr.contains("credchain_azure_cli"), "{run:#?}");
    assert!(
        !run.stderr.contains("credchain::chain"),
        "only what RUST_LOG asked for: {run:#?}"
    );
}

impl Machine {
    /// The same machine (same HOME and az) with one more variable.
    fn clone_with_var(&self, name: &str, value: &str) -> MachineView<'_> {
        let mut env = self.env.clone();
        env.push((name.to_owned(), value.to_owned()));
        MachineView { machine: self, env }
    }
}

struct MachineView<'a> {
    machine: &'a Machine,
    env: Vec<(String, String)>,
}

impl MachineView<'_> {
    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.machine.command(args);
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        Run::from(cmd.output().expect("run credchain"))
    }
}

// ---------------------------------------------------------------------------------------------
// AZURE_TOKEN_CREDENTIALS

/// The `prod` providers, which `dev` excludes.
const PROD: &[&str] = &[
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
];

#[test]
fn token_credentials_values() {
    let token = az_token();
    let machine = Machine::new().with_az(&az_ok(&token), "", 0);
    // (value, token exit code, issuing provider, doctor's excluded providers)
    let cases: &[(&str, i32, Option<&str>, &[&str])] = &[
        ("dev", 0, Some("AzureCliCredential"), PROD),
        (" DEV ", 0, Some("AzureCliCredential"), PROD),
        (
            "prod",
            3,
            None,
            &[
                "VisualStudioCodeCredential",
                "AzureCliCredential",
                "AzureDeveloperCliCredential",
            ],
        ),
        (
            "AzureCliCredential",
            0,
            Some("AzureCliCredential"),
            &[
                "EnvironmentCredential",
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential",
                "VisualStudioCodeCredential",
                "AzureDeveloperCliCredential",
            ],
        ),
        (
            "environmentcredential",
            3,
            None,
            &[
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential",
                "VisualStudioCodeCredential",
                "AzureCliCredential",
                "AzureDeveloperCliCredential",
            ],
        ),
        (
            "VisualStudioCodeCredential",
            3,
            None,
            &[
                "EnvironmentCredential",
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential",
                "AzureCliCredential",
                "AzureDeveloperCliCredential",
            ],
        ),
        (
            "WorkloadIdentityCredential",
            3,
            None,
            &[
                "EnvironmentCredential",
                "ManagedIdentityCredential",
                "VisualStudioCodeCredential",
                "AzureCliCredential",
                "AzureDeveloperCliCredential",
            ],
        ),
    ];
    for (value, code, issuer, excluded) in cases {
        let view = machine.clone_with_var("AZURE_TOKEN_CREDENTIALS", value);
        let run = view.run(&["token"]);
        run.assert_code(*code);
        if let Some(issuer) = issuer {
            assert_eq!(run.json()["credential"], *issuer, "{value}");
        }
        let doctor = view.run(&["doctor", "--output", "json"]);
        doctor.assert_code(*code);
        let report = doctor.json();
        let shown_excluded: Vec<&str> = report["providers"]
            .as_array()
            .expect("providers")
            .iter()
            .filter(|p| p["outcome"] == "excluded")
            .map(|p| p["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(shown_excluded, *excluded, "{value}");
        for p in report["providers"].as_array().expect("providers") {
            if p["outcome"] == "excluded" {
                assert!(
                    p["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("AZURE_TOKEN_CREDENTIALS")),
                    "{p}"
                );
            }
        }
        assert_eq!(report["default_credential"]["uses"].as_str(), *issuer, "{value}");
    }
}

#[test]
fn invalid_token_credentials_lists_the_valid_values() {
    let machine = Machine::new()
        .with_az(&az_ok("opaque-token"), "", 0)
        .var("AZURE_TOKEN_CREDENTIALS", "AzurePowerShellCredential");
    for command in ["token", "doctor"] {
        let run = machine.run(&[command]);
        run.assert_code(2);
        assert!(
            run.stderr.contains(
                "valid values are: dev, prod, azureclicredential, azuredeveloperclicredential, \
                 environmentcredential, managedidentitycredential, visualstudiocodecredential, \
                 workloadidentitycredential"
            ),
            "{command}: {run:#?}"
        );
    }
    // doctor still shows what it found.
    let doctor = machine.run(&["doctor"]);
    assert!(doctor.stdout.contains("Azure CLI: `"), "{doctor:#?}");
    assert!(
        doctor
            .stdout
            .contains("AZURE_TOKEN_CREDENTIALS: `AzurePowerShellCredential` (not valid)"),
        "{doctor:#?}"
    );
    assert_eq!(machine.az_calls(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Environment variables against the fake Entra

async fn entra() -> FakeEntra {
    FakeEntra::builder()
        .client_secret(TENANT, CLIENT, CLIENT_SECRET)
        .start()
        .await
        .expect("fake Entra")
}

fn with_service_principal(machine: Machine, entra: &FakeEntra, secret: &str) -> Machine {
    machine
        .var("AZURE_TENANT_ID", TENANT)
        .var("AZURE_CLIENT_ID", CLIENT)
        .var("AZURE_CLIENT_SECRET", secret)
        .var("AZURE_AUTHORITY_HOST", &entra.authority())
        .var("SSL_CERT_FILE", &entra.ca_pem_path().display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_service_principal_against_fake_entra() {
    let entra = entra().await;
    let machine = with_service_principal(Machine::new(), &entra, CLIENT_SECRET);
    let run = machine.run_async(&["token", "--scope", "api://x/.default"]).await;
    run.assert_code(0).assert_never_shows(CLIENT_SECRET);
    let json = run.json();
    assert_eq!(json["credential"], "EnvironmentCredential");
    assert_eq!(json["tenant"], TENANT);
    assert_eq!(
        entra.issued_tokens(),
        [json["accessToken"].as_str().unwrap_or_default()]
    );
    let expires_on = json["expires_on"].as_i64().expect("int");
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits");
    assert!((now + 3000..now + 3700).contains(&expires_on), "{json}");

    let only = machine.run_async(&["token", "-o", "token"]).await;
    only.assert_code(0);
    assert_eq!(only.stdout.trim_end(), entra.issued_tokens()[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_stops_the_chain_with_exit_1() {
    let entra = entra().await;
    let wrong = "wrong-secret-value-do-not-print";
    let machine = with_service_principal(Machine::new().with_az(&az_ok(&az_token()), "", 0), &entra, wrong);
    let run = machine.run_async(&["token"]).await;
    run.assert_code(1)
        .assert_never_shows(wrong)
        .assert_never_shows(CLIENT_SECRET);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("AADSTS7000215"), "{run:#?}");
    assert!(
        run.stderr.contains("providers after it were not tried"),
        "{run:#?}"
    );
    assert_eq!(
        machine.az_calls(),
        Vec::<String>::new(),
        "the chain stopped before az"
    );

    // doctor tries az anyway, and explains that the chain would still fail.
    let doctor = machine.run_async(&["doctor"]).await;
    doctor.assert_code(0).assert_never_shows(wrong);
    assert!(
        doctor
            .stdout
            .contains("DefaultCredential would fail: `EnvironmentCredential` failed"),
        "{doctor:#?}"
    );
    assert!(doctor.stdout.contains("AADSTS7000215"), "{doctor:#?}");
    assert!(
        doctor
            .stdout
            .contains("environment credential: client_secret, from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET"),
        "{doctor:#?}"
    );
    assert_eq!(machine.az_calls().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// doctor

#[test]
fn doctor_table_on_a_fresh_machine() {
    let machine = Machine::new();
    let run = machine.run(&["doctor"]);
    run.assert_code(3);
    assert_eq!(run.stderr, "", "no spinner or logs when stderr is not a terminal");
    assert_doctor_snapshot("doctor_fresh_table", &machine, &run.stdout);
}

#[test]
fn doctor_json_on_a_fresh_machine() {
    let machine = Machine::new();
    let run = machine.run(&["doctor", "--output", "json"]);
    run.assert_code(3);
    assert_eq!(run.json()["exit_code"], 3);
    assert_doctor_snapshot("doctor_fresh_json", &machine, &run.stdout);
}

#[test]
fn doctor_table_with_a_signed_in_az() {
    let token = az_token();
    let machine = Machine::new()
        .with_az(&az_ok(&token), "", 0)
        .var("AZURE_CLIENT_ID", CLIENT)
        .var("AZURE_TENANT_ID", TENANT)
        .var("SSL_CERT_FILE", "/nonexistent/ca.pem");
    let run = machine.run(&["doctor", "--show-claims"]);
    run.assert_code(0).assert_never_shows(&token);
    assert_eq!(run.stderr, "");
    assert_doctor_snapshot("doctor_az_table", &machine, &run.stdout);
}

#[test]
fn doctor_json_with_a_signed_in_az() {
    let token = az_token();
    let machine = Machine::new().with_az(&az_ok(&token), "", 0);
    let run = machine.run(&[
        "doctor",
        "-o",
        "json",
        "--show-claims",
        "--scope",
        "api://x/.default",
    ]);
    run.assert_code(0).assert_never_shows(&token);
    let json = run.json();
    assert_eq!(json["default_credential"]["uses"], "AzureCliCredential");
    assert_eq!(json["providers"][4]["claims"]["upn"], "ada@contoso.com");
    assert_eq!(
        machine.az_calls(),
        ["account get-access-token --output json --scope api://x/.default"]
    );
    assert_doctor_snapshot("doctor_az_json", &machine, &run.stdout);
}

#[test]
fn doctor_without_claims_flag_shows_no_claims() {
    let machine = Machine::new().with_az(&az_ok(&az_token()), "", 0);
    let run = machine.run(&["doctor"]);
    run.assert_code(0);
    assert!(!run.stdout.contains("Token claims"), "{run:#?}");
    assert!(!run.stdout.contains("ada@contoso.com"), "{run:#?}");
    let json = machine.run(&["doctor", "-o", "json"]).json();
    assert!(json["providers"][4].get("claims").is_none(), "{json}");
}

#[test]
fn doctor_handles_non_jwt_tokens() {
    let machine = Machine::new().with_az(&az_ok("opaque-token-value"), "", 0);
    let run = machine.run(&["doctor", "--show-claims"]);
    run.assert_code(0).assert_never_shows("opaque-token-value");
    assert!(
        run.stdout.contains(
            "AzureCliCredential: the token is not a JWT (it may be opaque), so it has no claims to show"
        ),
        "{run:#?}"
    );
}

#[test]
fn doctor_bounds_each_provider() {
    // az answers `get-access-token` only after 30 s; doctor gives it 1 s.
    let machine = Machine::new().with_az_after(&az_ok("late-token"), "", 0, "30");
    let started = std::time::Instant::now();
    let run = machine.run(&["doctor", "--timeout", "1", "-o", "json"]);
    let took = started.elapsed();
    run.assert_code(3);
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    let json = run.json();
    let cli = &json["providers"][4];
    assert_eq!(cli["outcome"], "failed", "{cli}");
    assert_eq!(cli["kind"], "timed out", "{cli}");
    // A limit shorter than the provider's own 10 s leaves that in place; the deadline wins.
    assert_eq!(
        json["configuration"]["azure_cli"]["process_timeout_seconds"],
        10.0
    );
    assert!(
        cli["elapsed_ms"]
            .as_u64()
            .is_some_and(|ms| (900..10_000).contains(&ms)),
        "{cli}"
    );
}

#[test]
fn doctor_timeout_longer_than_the_providers_reaches_az() {
    // `--timeout 30` must give az 30 s, not the provider's default 10 s. The JSON reports the
    // `process_timeout` of an Azure CLI provider built the way doctor builds the chain's.
    let machine = Machine::new().with_az(&az_ok(&az_token()), "", 0);
    let run = machine.run(&["doctor", "--timeout", "30", "-o", "json"]);
    run.assert_code(0);
    let json = run.json();
    assert_eq!(json["timeout_seconds"], 30.0);
    assert_eq!(
        json["configuration"]["azure_cli"]["process_timeout_seconds"],
        30.0
    );
}

#[test]
fn doctor_reports_a_failing_az_and_its_next_step() {
    let machine = Machine::new().with_az("", WRONG_SECRET, 1);
    let run = machine.run(&["doctor"]);
    run.assert_code(3);
    assert!(
        run.stdout.contains(
            "authentication failed: `az account get-access-token` failed with exit status 1: AADSTS7000215"
        ),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "5. AzureCliCredential: run `az account get-access-token --scope {ARM}` to see the whole error"
        )),
        "{run:#?}"
    );
    let az = machine.root().join("bin/az");
    assert!(
        run.stdout
            .contains(&format!("Azure CLI: `{}`, version 2.91.0", az.display())),
        "{run:#?}"
    );
}

#[test]
fn claims_challenge_reaches_the_providers() {
    // The Azure CLI cannot answer a claims challenge itself: it says how to sign in again, and
    // is not run. With AZURE_TOKEN_CREDENTIALS selecting it alone, that is still "unavailable".
    let machine = Machine::new().with_az(&az_ok("opaque-token"), "", 0);
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1726000000"}}}"#;
    for view in [
        machine.clone_with_var("AZURE_TOKEN_CREDENTIALS", ""),
        machine.clone_with_var("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential"),
    ] {
        let run = view.run(&["token", "--claims", claims, "--tenant", "contoso"]);
        run.assert_code(3);
        assert!(
            run.stderr.contains("`az login --claims-challenge ") && run.stderr.contains(" --tenant contoso"),
            "{run:#?}"
        );
    }
    assert_eq!(machine.az_calls(), Vec::<String>::new());
}

/// The real Azure CLI (gated: set `CREDCHAIN_REAL_AZ` to its path, as `.ci/run` does), logged
/// out because HOME is empty: doctor finds it, reads its version, and says to run `az login`.
#[test]
fn doctor_with_the_real_azure_cli_logged_out() {
    let Some(real_az) = std::env::var_os("CREDCHAIN_REAL_AZ").map(PathBuf::from) else {
        eprintln!("skipped: set CREDCHAIN_REAL_AZ to an `az` executable to run this test");
        return;
    };
    let machine = Machine::new();
    let bin = real_az.parent().expect("az's directory");
    let mut cmd = machine.command(&["doctor", "--output", "json"]);
    cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    let run = Run::from(cmd.output().expect("run credchain"));
    run.assert_code(3);
    let json = run.json();
    let cli = &json["providers"][4];
    assert_eq!(cli["outcome"], "unavailable", "{cli}");
    assert!(
        cli["reason"].as_str().is_some_and(|r| r.contains("az login")),
        "{cli}"
    );
    assert_eq!(cli["next_step"], "run `az login`");
    let az = &json["configuration"]["azure_cli"];
    assert_eq!(az["path"], real_az.display().to_string().as_str());
    let version = az["version"].as_str().unwrap_or_default();
    assert!(
        version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
        "{az}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_outside_the_allow_list_is_refused() {
    let entra = entra().await;
    let machine = with_service_principal(Machine::new(), &entra, CLIENT_SECRET);
    let run = machine
        .run_async(&["token", "--tenant", "other-tenant.onmicrosoft.com"])
        .await;
    run.assert_code(1).assert_never_shows(CLIENT_SECRET);
    assert!(
        run.stderr.contains("`AZURE_ADDITIONALLY_ALLOWED_TENANTS`"),
        "{run:#?}"
    );
    assert_eq!(entra.token_request_count(), 0, "refused before any request");
}

// ---------------------------------------------------------------------------------------------
// Managed identity and workload identity

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_doctor_with_app_service_managed_identity() {
    use credchain_fake_entra::{FakeManagedIdentity, MiSource};
    let fake = FakeManagedIdentity::builder(MiSource::AppService)
        .start()
        .await
        .expect("fake managed identity");
    let secret = fake.env()[1].1.clone();
    let mut machine = Machine::new().with_az(&az_ok(&az_token()), "", 0);
    for (name, value) in fake.env() {
        machine = machine.var(&name, &value);
    }
    let run = machine
        .run_async(&["token", "--scope", "https://vault.azure.net/.default"])
        .await;
    run.assert_code(0).assert_never_shows(&secret);
    let json = run.json();
    assert_eq!(json["credential"], "ManagedIdentityCredential");
    assert_eq!(
        fake.issued_tokens(),
        [json["accessToken"].as_str().unwrap_or_default()]
    );
    let request = &fake.requests()[0];
    assert_eq!(
        request.query.get("resource").map(String::as_str),
        Some("https://vault.azure.net")
    );
    assert_eq!(
        machine.az_calls(),
        Vec::<String>::new(),
        "the chain stopped at managed identity"
    );

    let doctor = machine.run_async(&["doctor"]).await;
    doctor.assert_code(0).assert_never_shows(&secret);
    assert!(
        doctor.stdout.contains(&format!(
            "  managed identity: App Service (from IDENTITY_ENDPOINT, IDENTITY_HEADER) at `{}`, system-assigned; \
             probe: none (used alone, or not IMDS)\n",
            fake.endpoint()
        )),
        "{doctor:#?}"
    );
    assert!(
        doctor
            .stdout
            .contains("DefaultCredential would use: ManagedIdentityCredential"),
        "{doctor:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_shows_the_imds_probe_and_the_user_assigned_identity() {
    use credchain_fake_entra::{FakeManagedIdentity, MiSource};
    let fake = FakeManagedIdentity::builder(MiSource::Imds)
        .user_assigned(CLIENT, "obj", "/subscriptions/s/ua")
        .start()
        .await
        .expect("fake IMDS");
    let machine = Machine::new()
        .var("AZURE_POD_IDENTITY_AUTHORITY_HOST", fake.base_url())
        .var("AZURE_CLIENT_ID", CLIENT);
    let doctor = machine.run_async(&["doctor", "-o", "json"]).await;
    doctor.assert_code(0);
    let json = doctor.json();
    let mi = &json["configuration"]["managed_identity"];
    assert_eq!(mi["source"], "IMDS", "{mi}");
    assert_eq!(mi["user_assigned"]["id"], CLIENT, "{mi}");
    assert_eq!(mi["probe"]["outcome"], "answered", "{mi}");
    assert_eq!(mi["probe"]["status"], 400, "{mi}");
    assert!(mi["probe"]["elapsed_ms"].is_u64(), "{mi}");
    assert_eq!(json["default_credential"]["uses"], "ManagedIdentityCredential");
    let requests = fake.requests();
    let sent: Vec<Option<&str>> = requests
        .iter()
        .map(|r| r.headers.get("metadata").map(String::as_str))
        .collect();
    assert_eq!(sent, [None, Some("true")], "one probe, then the token request");
    assert_eq!(
        fake.requests()[1].query.get("client_id").map(String::as_str),
        Some(CLIENT)
    );
}

#[test]
fn doctor_on_a_laptop_reports_no_imds_quickly() {
    let machine = Machine::new();
    let run = machine.run(&["doctor", "-o", "json"]);
    run.assert_code(3);
    let json = run.json();
    let mi = &json["configuration"]["managed_identity"];
    assert_eq!(mi["probe"]["outcome"], "no_answer", "{mi}");
    let row = &json["providers"][2];
    assert_eq!(row["name"], "ManagedIdentityCredential");
    assert_eq!(row["outcome"], "unavailable", "{row}");
    assert!(
        row["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no response from the IMDS endpoint")),
        "{row}"
    );
    assert!(
        row["next_step"]
            .as_str()
            .is_some_and(|s| s.contains("turn on the resource's managed identity")),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_doctor_with_workload_identity_against_fake_entra() {
    const ISSUER: &str = "https://token.actions.githubusercontent.com";
    const SUBJECT: &str = "repo:contoso/app:environment:prod";
    let entra = FakeEntra::builder()
        .federated_credential(TENANT, CLIENT, ISSUER, SUBJECT)
        .start()
        .await
        .expect("fake Entra");
    let machine = Machine::new().with_az(&az_ok(&az_token()), "", 0);
    let file = machine.root().join("federated-token");
    let assertion = credchain_fake_entra::federated_token(
        ISSUER,
        SUBJECT,
        std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
    );
    std::fs::write(&file, &assertion).expect("write token file");
    let machine = machine
        .var("AZURE_TENANT_ID", TENANT)
        .var("AZURE_CLIENT_ID", CLIENT)
        .var("AZURE_FEDERATED_TOKEN_FILE", &file.display().to_string())
        .var("AZURE_AUTHORITY_HOST", &entra.authority())
        .var("SSL_CERT_FILE", &entra.ca_pem_path().display().to_string());
    let run = machine.run_async(&["token"]).await;
    run.assert_code(0).assert_never_shows(&assertion);
    let json = run.json();
    assert_eq!(json["credential"], "WorkloadIdentityCredential");
    assert_eq!(
        entra.issued_tokens(),
        [json["accessToken"].as_str().unwrap_or_default()]
    );

    let doctor = machine.run_async(&["doctor"]).await;
    doctor.assert_code(0).assert_never_shows(&assertion);
    assert!(
        doctor.stdout.contains(
            "  workload identity: configured from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE; \
             token file found\n"
        ),
        "{doctor:#?}"
    );
    assert!(
        doctor
            .stdout
            .contains("DefaultCredential would use: WorkloadIdentityCredential"),
        "{doctor:#?}"
    );
    std::fs::remove_file(&file).expect("remove token file");
    let json = machine.run_async(&["doctor", "-o", "json"]).await.json();
    assert_eq!(
        json["configuration"]["workload_identity"]["token_file_found"],
        false
    );
    assert_eq!(json["providers"][1]["outcome"], "failed", "{json}");
}

// ---------------------------------------------------------------------------------------------
// Signals, write errors, terminal escapes

/// Polls `done` every 20 ms for at most 30 s; `false` if it never held.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < give_up {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    done()
}

/// Whether process `pid` is alive (not a zombie) and its command line contains `marker`, so a
/// reused PID does not count.
fn alive(pid: u32, marker: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    !matches!(state, None | Some('Z' | 'X')) && String::from_utf8_lossy(&cmdline).contains(marker)
}

/// `credchain token` waits on an `az` that hangs; `signal` stops credchain, which must exit with
/// `code` (128 + the signal) and leave neither `az` nor its child running.
fn stop_signal_stops_az(signal: &str, code: i32) {
    let machine = Machine::new().with_hanging_az();
    let credchain = machine
        .std_command(&["token"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn credchain");
    let pid_of = |file: &str| -> Option<u32> {
        std::fs::read_to_string(machine.root().join(file))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    };
    assert!(
        eventually(|| pid_of("az.pid").is_some()),
        "the fake az never started"
    );
    let az = pid_of("az.pid").expect("az pid");
    let sleep = pid_of("sleep.pid").expect("sleep pid");
    let az_marker = machine.root().join("bin/az").display().to_string();
    assert!(
        alive(az, &az_marker) && alive(sleep, "sleep"),
        "az and its child run"
    );

    let sent = std::process::Command::new("kill")
        .args(["-s", signal, &credchain.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -s {signal}");
    let output = credchain.wait_with_output().expect("wait for credchain");
    let run = Run::from(output);
    run.assert_code(code);
    assert!(
        run.stderr.contains(&format!("interrupted by SIG{signal}")),
        "{run:#?}"
    );
    assert_eq!(run.stdout, "");
    assert!(
        eventually(|| !alive(az, &az_marker) && !alive(sleep, "sleep")),
        "az (alive: {}) or its sleep child (alive: {}) outlived credchain",
        alive(az, &az_marker),
        alive(sleep, "sleep")
    );
}

#[test]
fn sigterm_stops_az_and_exits_143() {
    stop_signal_stops_az("TERM", 143);
}

#[test]
fn sighup_stops_az_and_exits_129() {
    stop_signal_stops_az("HUP", 129);
}

#[test]
fn sigquit_stops_az_and_exits_131() {
    stop_signal_stops_az("QUIT", 131);
}

#[test]
fn sigint_stops_az_and_exits_130() {
    stop_signal_stops_az("INT", 130);
}

#[test]
fn stdout_write_errors_exit_1_but_a_closed_pipe_does_not() {
    let token = az_token();
    let machine = Machine::new().with_az(&az_ok(&token), "", 0);
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    for args in [
        &["token", "-o", "token"][..],
        &["token"],
        &["doctor"],
        &["doctor", "-o", "json"],
    ] {
        let output = machine
            .std_command(args)
            .stdout(full())
            .output()
            .expect("run credchain");
        let run = Run::from(output);
        run.assert_code(1).assert_never_shows(&token);
        assert!(
            run.stderr
                .starts_with("error: cannot write the output to stdout: "),
            "{args:?}: {run:#?}"
        );
    }

    // A reader that went away is not an error: `credchain token | head -c0`.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = machine
        .std_command(&["token", "-o", "token"])
        .stdout(writer)
        .output()
        .expect("run credchain");
    let run = Run::from(output);
    run.assert_code(0);
    assert_eq!(run.stderr, "", "{run:#?}");
}

#[test]
fn control_characters_never_reach_the_terminal() {
    // VS Code's sign-in record names the user; the VS Code provider's message repeats it.
    let machine = Machine::new().with_auth_record("ada\u{1b}]0;pwned\u{7}\u{1b}[2J@contoso.com");
    let raw = |text: &str| text.contains('\u{1b}') || text.contains('\u{7}');
    let run = machine.run(&["token"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("signed in as `ada\\u{1b}]0;pwned\\u{7}\\u{1b}[2J@contoso.com`"),
        "{run:#?}"
    );
    assert!(!raw(&run.stderr), "{run:#?}");
    assert!(
        run.stderr
            .contains("\n  4. VisualStudioCodeCredential (unavailable, "),
        "the report keeps its lines: {run:#?}"
    );
    let doctor = machine.run(&["doctor"]);
    assert!(doctor.stdout.contains("ada\\u{1b}]0;pwned"), "{doctor:#?}");
    assert!(!raw(&doctor.stdout) && !raw(&doctor.stderr), "{doctor:#?}");

    // What the user typed, echoed back by our checks (escaped) and by clap (which drops
    // control characters from its messages).
    for (args, escaped) in [
        (&["token", "--scope", "https://x/.default\u{1b}[31m"][..], true),
        (&["token", "--tenant", "t\u{7}"], true),
        (&["token", "--output", "\u{7}\u{1b}[31mjson"], false),
        (&["doctor", "--timeout", "\u{7}\u{1b}[2J"], false),
        (&["\u{7}\u{1b}[2J"], false),
    ] {
        let run = machine.run(args);
        run.assert_code(2);
        assert!(!raw(&run.stderr), "{args:?}: {run:#?}");
        assert_eq!(run.stderr.contains("\\u{"), escaped, "{args:?}: {run:#?}");
    }
}
