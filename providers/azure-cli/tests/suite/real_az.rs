//! The provider against the REAL Azure CLI, signed in to a local fake Microsoft Entra endpoint.
//!
//! Gated: set `CREDCHAIN_REAL_AZ=/path/to/az` (see `.ci/install-azure-cli.sh`). Without it every
//! test prints a notice and passes, so a plain `cargo test` stays fast. Each test isolates the CLI
//! completely (`AZURE_CONFIG_DIR`, `XDG_CACHE_HOME`, `HOME` in temp dirs) through the provider's
//! [`Env`] map, which is the child's whole environment.
#![cfg(unix)]

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use common::TOOLS_PATH;
use credchain_azure_cli::AzureCliCredential;
use credchain_core::{Env, ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeEntra, decode_jwt};

const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const OTHER_TENANT: &str = "a1b2c3d4-0000-4000-8000-000000000002";
const UNKNOWN_TENANT: &str = "00000000-0000-0000-0000-00000000dead";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "fake-client-secret-value";
const SUBSCRIPTION: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

fn real_az() -> Option<PathBuf> {
    match std::env::var_os("CREDCHAIN_REAL_AZ") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "skipped: set CREDCHAIN_REAL_AZ=/path/to/az (e.g. \"$(.ci/install-azure-cli.sh)\") to run \
                 the real Azure CLI tests"
            );
            None
        }
    }
}

/// An isolated home for one real CLI: config, caches and the CA to trust.
struct Sandbox {
    az: PathBuf,
    dir: tempfile::TempDir,
    ca: Option<PathBuf>,
}

impl Sandbox {
    fn new(az: PathBuf) -> Self {
        Sandbox {
            az,
            dir: tempfile::tempdir().expect("tempdir"),
            ca: None,
        }
    }

    fn env(&self) -> Env {
        let d = self.dir.path();
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        let mut pairs = vec![
            ("PATH".to_owned(), TOOLS_PATH.to_owned()),
            ("HOME".to_owned(), s(d.join("home"))),
            ("AZURE_CONFIG_DIR".to_owned(), s(d.join("azure"))),
            ("XDG_CACHE_HOME".to_owned(), s(d.join("cache"))),
            ("AZURE_CORE_INSTANCE_DISCOVERY".to_owned(), "false".to_owned()),
            ("AZURE_CORE_COLLECT_TELEMETRY".to_owned(), "false".to_owned()),
            ("TZ".to_owned(), "UTC".to_owned()),
        ];
        if let Some(ca) = &self.ca {
            pairs.push(("REQUESTS_CA_BUNDLE".to_owned(), s(ca.clone())));
        }
        Env::from_pairs(pairs)
    }

    fn credential(&self) -> credchain_azure_cli::AzureCliCredentialBuilder {
        AzureCliCredential::builder()
            .az_path(&self.az)
            .env(self.env())
            .process_timeout(Duration::from_secs(60))
    }

    /// Runs the CLI itself (setup steps) with exactly the provider's environment.
    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let Env::Map(vars) = self.env() else {
            unreachable!("the sandbox env is a map");
        };
        let out = tokio::process::Command::new(&self.az)
            .args(args)
            .env_clear()
            .envs(vars.iter())
            .env("AZURE_CORE_NO_COLOR", "true")
            .current_dir("/")
            .output()
            .await
            .expect("az runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Points the CLI at `entra` (a registered cloud) and trusts its CA.
    async fn use_fake(&mut self, entra: &FakeEntra) {
        let ca = self.dir.path().join("fake-ca.pem");
        std::fs::write(&ca, entra.ca_pem()).expect("write CA");
        self.ca = Some(ca);
        let authority = entra.authority();
        let resource = format!("{authority}/");
        let (code, _, stderr) = self.run(&["cloud", "show", "--name", "FakeCloud"]).await;
        let verb = if code == 0 { "update" } else { "register" };
        let (code, _, stderr2) = self
            .run(&[
                "cloud",
                verb,
                "--name",
                "FakeCloud",
                "--skip-endpoint-discovery",
                "--endpoint-active-directory",
                &authority,
                "--endpoint-active-directory-resource-id",
                &resource,
                "--endpoint-resource-manager",
                &resource,
                "--endpoint-management",
                &resource,
                "--endpoint-active-directory-graph-resource-id",
                "https://graph.fake.local/",
                "--endpoint-microsoft-graph-resource-id",
                "https://graph.fake.local/",
            ])
            .await;
        assert_eq!(code, 0, "cloud {verb}: {stderr} {stderr2}");
        let (code, _, stderr) = self.run(&["cloud", "set", "--name", "FakeCloud"]).await;
        assert_eq!(code, 0, "cloud set: {stderr}");
    }

    async fn login(&self, secret: &str) -> (i32, String) {
        let (code, _, stderr) = self
            .run(&[
                "login",
                "--service-principal",
                "-u",
                CLIENT,
                "-p",
                secret,
                "--tenant",
                TENANT,
                "--allow-no-subscriptions",
                "--output",
                "none",
            ])
            .await;
        (code, stderr)
    }
}

fn fake() -> credchain_fake_entra::FakeEntraBuilder {
    FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .client_secret(OTHER_TENANT, CLIENT, SECRET)
        .subscription(SUBSCRIPTION, "Dev", TENANT)
}

#[tokio::test]
async fn logged_out_cli_is_unavailable_with_the_login_hint() {
    let Some(az) = real_az() else { return };
    let sandbox = Sandbox::new(az);
    let err = sandbox
        .credential()
        .build()
        .expect("valid")
        .get_token(
            &["https://management.azure.com/.default"],
            &TokenRequestOptions::new(),
        )
        .await
        .expect_err("logged out");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("run `az login`"), "{err}");
    assert!(
        err.message().contains("Please run 'az login' to setup account."),
        "{err}"
    );
}

#[tokio::test]
async fn signed_in_cli_returns_the_token_the_fake_issued() {
    let Some(az) = real_az() else { return };
    let entra = fake().start().await.expect("fake starts");
    let mut sandbox = Sandbox::new(az);
    sandbox.use_fake(&entra).await;
    let (code, stderr) = sandbox.login(SECRET).await;
    assert_eq!(code, 0, "login: {stderr}");

    let credential = sandbox.credential().build().expect("valid");
    let before = SystemTime::now();
    let token = credential
        .get_token(&["api://x/.default"], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(
        entra.issued_tokens().last().map(String::as_str),
        Some(token.secret())
    );
    let claims = decode_jwt(token.secret()).expect("JWT").claims;
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["aud"], "api://x");
    // `expires_on` from the CLI is the token's `exp`.
    let exp = claims["exp"].as_u64().expect("exp");
    let expires = token
        .expires_on()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970");
    assert_eq!(expires.as_secs(), exp);
    assert!(token.expires_on() > before);
    assert_eq!(token.token_type(), "Bearer");
    let scope_sent = entra
        .requests()
        .iter()
        .rev()
        .find(|r| r.is_token_request())
        .and_then(|r| r.form_value("scope").map(str::to_owned));
    assert_eq!(
        scope_sent.as_deref(),
        Some("api://x/.default"),
        "the scope reaches Entra unchanged"
    );

    // Another tenant the service principal is registered in, requested per call.
    let token = credential
        .get_token(
            &["api://x/.default"],
            &TokenRequestOptions::new().with_tenant_id(OTHER_TENANT),
        )
        .await
        .expect("token for the other tenant");
    assert_eq!(
        entra.issued_tokens().last().map(String::as_str),
        Some(token.secret())
    );
    assert_eq!(
        decode_jwt(token.secret()).expect("JWT").claims["tid"],
        OTHER_TENANT
    );

    // The same, configured as the credential's tenant.
    let other = sandbox
        .credential()
        .tenant_id(OTHER_TENANT)
        .build()
        .expect("valid");
    let token = other
        .get_token(&["api://y/.default"], &TokenRequestOptions::new())
        .await
        .expect("token for the configured tenant");
    assert_eq!(
        decode_jwt(token.secret()).expect("JWT").claims["tid"],
        OTHER_TENANT
    );

    // A configured subscription selects the account (and its tenant).
    let by_sub = sandbox
        .credential()
        .subscription(SUBSCRIPTION)
        .build()
        .expect("valid");
    let token = by_sub
        .get_token(&["api://z/.default"], &TokenRequestOptions::new())
        .await
        .expect("token by subscription");
    assert_eq!(decode_jwt(token.secret()).expect("JWT").claims["tid"], TENANT);

    // A non-.default scope reaches Entra unchanged (`--resource` would have turned it into
    // `api://x/user_impersonation/.default`). A service principal may only use `/.default`, so
    // Entra refuses it, and that refusal is an authentication failure even though az's message
    // also suggests `az login`.
    let err = credential
        .get_token(&["api://x/user_impersonation"], &TokenRequestOptions::new())
        .await
        .expect_err("client credentials need /.default");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(err.message().contains("AADSTS1002012"), "{err}");
    let sent = entra
        .requests()
        .iter()
        .rev()
        .find(|r| r.is_token_request())
        .and_then(|r| r.form_value("scope").map(str::to_owned));
    assert_eq!(sent.as_deref(), Some("api://x/user_impersonation"));
}

#[tokio::test]
async fn unknown_tenant_fails_with_the_error_line_and_no_traceback() {
    let Some(az) = real_az() else { return };
    let entra = fake().start().await.expect("fake starts");
    let mut sandbox = Sandbox::new(az);
    sandbox.use_fake(&entra).await;
    let (code, stderr) = sandbox.login(SECRET).await;
    assert_eq!(code, 0, "login: {stderr}");

    let err = sandbox
        .credential()
        .build()
        .expect("valid")
        .get_token(
            &["api://x/.default"],
            &TokenRequestOptions::new().with_tenant_id(UNKNOWN_TENANT),
        )
        .await
        .expect_err("unknown tenant");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    let m = err.message();
    assert!(m.contains("exit status 1"), "{m}");
    assert!(m.contains("Unable to get authority configuration"), "{m}");
    assert!(m.contains(UNKNOWN_TENANT), "{m}");
    assert!(m.contains("AADSTS90002"), "{m}");
    for noise in ["Traceback", "site-packages", "File \"", "WARNING"] {
        assert!(!m.contains(noise), "{noise:?} in {m}");
    }
    assert!(!m.contains(SECRET));
}

#[tokio::test]
async fn rejected_secret_and_unreachable_endpoint_are_authentication_failures() {
    let Some(az) = real_az() else { return };
    // Sign in while the fake accepts SECRET …
    let entra = fake().start().await.expect("fake starts");
    let port: u16 = entra
        .authority()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("authority has a port");
    let mut sandbox = Sandbox::new(az);
    sandbox.use_fake(&entra).await;
    let (code, stderr) = sandbox.login(SECRET).await;
    assert_eq!(code, 0, "login: {stderr}");

    // … then replace it, on the same port, by one that no longer accepts that secret (a rotated
    // secret). A scope not in MSAL's cache forces a new token request with the stored secret.
    drop(entra);
    // The old server releases its port asynchronously; retry for a while.
    let mut attempt = 0;
    let rotated = loop {
        match FakeEntra::builder()
            .client_secret(TENANT, CLIENT, "the-new-secret")
            .port(port)
            .start()
            .await
        {
            Ok(f) => break f,
            Err(e) if attempt < 100 => {
                attempt += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("fake did not restart on port {port}: {e}"),
        }
    };
    sandbox.use_fake(&rotated).await;
    let credential = sandbox.credential().build().expect("valid");
    let err = credential
        .get_token(&["api://rotated/.default"], &TokenRequestOptions::new())
        .await
        .expect_err("rejected secret");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(err.message().contains("AADSTS7000215"), "{err}");
    assert!(!err.message().contains(SECRET), "{err}");
    assert!(!err.message().contains("Traceback"), "{err}");

    // And with nothing listening at all.
    drop(rotated);
    let err = credential
        .get_token(&["api://down/.default"], &TokenRequestOptions::new())
        .await
        .expect_err("server down");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(
        err.message().contains("Connection refused") || err.message().contains("Max retries exceeded"),
        "{err}"
    );
    assert!(!err.message().contains("Traceback"), "{err}");
}

#[tokio::test]
async fn real_cli_honours_a_short_process_timeout() {
    let Some(az) = real_az() else { return };
    let sandbox = Sandbox::new(az);
    // The real CLI needs several hundred milliseconds just to start Python.
    let err = sandbox
        .credential()
        .process_timeout(Duration::from_millis(50))
        .build()
        .expect("valid")
        .get_token(
            &["https://management.azure.com/.default"],
            &TokenRequestOptions::new(),
        )
        .await
        .expect_err("too slow");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("`process_timeout`"), "{err}");
}
