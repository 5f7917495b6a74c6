//! Property tests: no combination of `AZURE_*` values makes `EnvironmentCredential` panic, the
//! outcome follows the documented classification, and no secret value reaches an error.
//!
//! Every request goes to `https://127.0.0.1:9` (the discard port, closed on loopback), so a
//! complete configuration fails at the connection and nothing leaves the machine.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use credchain_core::{Env, Error, ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_environment::{
    AZURE_CLIENT_CERTIFICATE_PASSWORD, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
    AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, AZURE_PASSWORD, AZURE_TENANT_ID, AZURE_USERNAME,
    DEFAULT_USER_TENANT, EnvironmentCredential, NAME, VARIABLES,
};
use credchain_fake_entra::TestCertificate;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const SCOPE: &str = "https://management.azure.com/.default";
/// A closed port on loopback: connections are refused at once.
const CLOSED_AUTHORITY: &str = "https://127.0.0.1:9";
const CERT_PASSWORD: &str = "right-cert-password";

/// One test certificate for every case (RSA key generation is the slow part).
static CERT: LazyLock<TestCertificate> = LazyLock::new(|| TestCertificate::generate("no-panic"));

/// A directory of this test binary's own, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("credchain-env-no-panic-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn file(&self, bytes: &[u8]) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = self
            .0
            .join(format!("cert-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&path, bytes).expect("write cert file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A variable's value: blank, whitespace, plausible, arbitrary Unicode, or huge.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => "[ \t\r\n]{1,4}",
        3 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        1 => Just("organizations".to_owned()),
        3 => "[A-Za-z0-9._~@-]{1,40}",
        2 => " ?[A-Za-z0-9._~@-]{1,20} ?",
        2 => any::<String>(),
        2 => "\\PC{0,80}",
        // Huge values, with a distinctive tail so a leak of a truncated copy is still visible.
        1 => (1_000usize..200_000).prop_map(|n| format!("{}{}", "a".repeat(n), "z9")),
    ]
}

/// A tenant: mostly valid, so that the grants behind it are reached.
fn tenant() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        1 => Just(" contoso.onmicrosoft.com ".to_owned()),
        3 => value(),
    ]
}

/// What `AZURE_CLIENT_CERTIFICATE_PATH` points at.
#[derive(Clone, Debug)]
enum CertFile {
    /// A literal path string (mostly nonexistent, sometimes a directory or a device).
    Path(String),
    /// A file with these bytes.
    Bytes(Vec<u8>),
    /// A real certificate: plain PEM, encrypted PEM or PKCS#12 (password [`CERT_PASSWORD`]).
    Real(u8),
    /// A real certificate's PEM with one byte changed.
    Mutated(usize, u8),
}

fn cert_file() -> impl Strategy<Value = CertFile> {
    prop_oneof![
        prop_oneof![
            Just("/".to_owned()),
            Just("/dev/null".to_owned()),
            // Endless: must be refused without being read.
            Just("/dev/zero".to_owned()),
            Just("/nonexistent/credchain/cert.pem".to_owned()),
            Just("relative/cert.pem".to_owned()),
            any::<String>(),
        ]
        .prop_map(CertFile::Path),
        prop::collection::vec(any::<u8>(), 0..2048).prop_map(CertFile::Bytes),
        "-----BEGIN (CERTIFICATE|PRIVATE KEY|RSA PRIVATE KEY|ENCRYPTED PRIVATE KEY)-----\n[A-Za-z0-9+/=\n]{0,400}\n-----END (CERTIFICATE|PRIVATE KEY|RSA PRIVATE KEY)-----\n"
            .prop_map(|s| CertFile::Bytes(s.into_bytes())),
        (0u8..3).prop_map(CertFile::Real),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| CertFile::Mutated(i, b)),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    tenant: Option<String>,
    client_id: Option<String>,
    secret: Option<String>,
    cert: Option<CertFile>,
    cert_password: Option<String>,
    send_chain: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn case() -> impl Strategy<Value = Case> {
    let password = prop_oneof![Just(CERT_PASSWORD.to_owned()), value()];
    let send_chain = prop_oneof![
        Just("true".to_owned()),
        Just("FALSE".to_owned()),
        Just(" yes ".to_owned()),
        value()
    ];
    (
        (
            prop::option::weighted(0.8, tenant()),
            prop::option::weighted(0.9, value()),
            prop::option::weighted(0.4, value()),
            prop::option::weighted(0.6, cert_file()),
        ),
        (
            prop::option::of(password),
            prop::option::of(send_chain),
            prop::option::of(value()),
            prop::option::of(value()),
        ),
    )
        .prop_map(
            |((tenant, client_id, secret, cert), (cert_password, send_chain, username, password))| Case {
                tenant,
                client_id,
                secret,
                cert,
                cert_password,
                send_chain,
                username,
                password,
            },
        )
}

/// The environment for `case`, writing certificate files into `scratch`.
fn env_for(case: &Case, scratch: &Scratch) -> Env {
    let mut pairs: Vec<(String, String)> = vec![("AZURE_AUTHORITY_HOST".into(), CLOSED_AUTHORITY.into())];
    let mut put = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            pairs.push((name.to_owned(), v.clone()));
        }
    };
    put(AZURE_TENANT_ID, &case.tenant);
    put(AZURE_CLIENT_ID, &case.client_id);
    put(AZURE_CLIENT_SECRET, &case.secret);
    put(AZURE_CLIENT_CERTIFICATE_PASSWORD, &case.cert_password);
    put(AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, &case.send_chain);
    put(AZURE_USERNAME, &case.username);
    put(AZURE_PASSWORD, &case.password);
    let cert_path = case.cert.as_ref().map(|c| match c {
        CertFile::Path(p) => p.clone(),
        CertFile::Bytes(b) => scratch.file(b).display().to_string(),
        CertFile::Real(0) => scratch.file(CERT.combined_pem().as_bytes()).display().to_string(),
        CertFile::Real(1) => scratch
            .file(CERT.encrypted_combined_pem(CERT_PASSWORD).as_bytes())
            .display()
            .to_string(),
        CertFile::Real(_) => scratch.file(&CERT.pkcs12(CERT_PASSWORD)).display().to_string(),
        CertFile::Mutated(i, b) => {
            let mut pem = CERT.combined_pem().into_bytes();
            let at = i % pem.len();
            pem[at] = *b;
            scratch.file(&pem).display().to_string()
        }
    });
    put(AZURE_CLIENT_CERTIFICATE_PATH, &cert_path);
    Env::from_pairs(pairs)
}

fn non_blank(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// The secrets of `case` as the credential would use them (the client secret is trimmed,
/// passwords are not), when long enough that finding one in a message cannot be chance.
fn secrets(case: &Case) -> Vec<String> {
    // Texts that may legitimately be shown: the non-secret values, and the fixed ones.
    let mut others: Vec<&str> = [&case.tenant, &case.client_id, &case.username, &case.send_chain]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .collect();
    others.extend([DEFAULT_USER_TENANT, CLOSED_AUTHORITY, SCOPE]);
    others.extend(VARIABLES);
    [
        case.secret.as_deref().map(str::trim),
        case.password.as_deref(),
        case.cert_password.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| s.chars().count() >= 8)
    // A secret that is also part of such a text may be shown as that text.
    .filter(|s| !others.iter().any(|o| o.contains(s)))
    .map(str::to_owned)
    .collect()
}

fn assert_no_secret(err: &Error, secrets: &[String]) -> Result<(), TestCaseError> {
    let shown = [err.to_string(), format!("{err:?}")];
    for secret in secrets {
        for text in &shown {
            prop_assert!(
                !text.contains(secret.as_str()),
                "a secret reached the error: {text}"
            );
        }
    }
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn any_environment_gives_a_documented_error_without_secrets() {
    let rt = rt();
    let scratch = Scratch::new("any");
    let mut runner = runner(96);
    runner
        .run(&case(), |case| {
            let env = env_for(&case, &scratch);
            let credential = EnvironmentCredential::builder()
                .env(env)
                .timeout(Duration::from_millis(500))
                .build();
            // Debug of the credential never shows a secret either.
            let debug = format!("{credential:?}");
            for secret in secrets(&case) {
                prop_assert!(!debug.contains(&secret), "a secret reached Debug: {debug}");
            }
            prop_assert_eq!(credential.kind().is_some(), !credential.variables().is_empty());

            let err = rt
                .block_on(credential.get_token(&[SCOPE], &TokenRequestOptions::default()))
                .expect_err("nothing listens on the authority, so no token can come back");
            prop_assert_eq!(err.provider(), NAME);
            prop_assert!(!err.message().is_empty());
            assert_no_secret(&err, &secrets(&case))?;

            if !non_blank(&case.client_id) {
                // Without a client ID nothing is configured: the chain moves on.
                prop_assert_eq!(err.kind(), ErrorKind::Unavailable, "{}", err);
                prop_assert_eq!(credential.kind(), None);
            }
            match credential.kind() {
                // A complete configuration never says "unavailable"; with the authority closed
                // it fails at the connection (or, for a certificate, earlier).
                Some(kind) => {
                    // A damaged RSA key that still loads (ring checks its structure, not every
                    // value) is only found out when signing the assertion, before sending.
                    let bad_key = kind == "client_certificate"
                        && err.kind() == ErrorKind::AuthenticationFailed
                        && err.message().contains("signing the client assertion failed");
                    prop_assert!(
                        bad_key || matches!(err.kind(), ErrorKind::Transient | ErrorKind::Timeout),
                        "{kind}: {:?}: {err}",
                        err.kind()
                    );
                }
                None => prop_assert!(
                    matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::InvalidInput),
                    "{:?}: {err}",
                    err.kind()
                ),
            }
            if credential.kind() == Some("client_secret") {
                prop_assert!(non_blank(&case.tenant) && non_blank(&case.secret));
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn bad_requests_are_invalid_input_for_any_environment() {
    let rt = rt();
    let scratch = Scratch::new("bad-request");
    let mut runner = runner(24);
    let scope = prop_oneof![
        Just(String::new()),
        Just("https://x/.default https://y/.default".to_owned()),
        "[^A-Za-z0-9_.:/-]{1,3}", // at least one character outside the scope alphabet
    ];
    runner
        .run(&(case(), scope), |(case, scope)| {
            let credential = EnvironmentCredential::builder()
                .env(env_for(&case, &scratch))
                .timeout(Duration::from_millis(500))
                .build();
            let err = rt
                .block_on(credential.get_token(&[&scope], &TokenRequestOptions::default()))
                .expect_err("no token");
            // Unavailable (nothing configured) may come first; a configured credential refuses
            // the scope before sending anything.
            if credential.kind().is_some() {
                prop_assert_eq!(err.kind(), ErrorKind::InvalidInput, "{}", err);
            }
            assert_no_secret(&err, &secrets(&case))?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
