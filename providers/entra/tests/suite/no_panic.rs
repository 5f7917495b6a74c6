//! Property tests: no authority string, certificate file, password or network environment
//! makes the public parsers panic; what they accept is normalised, and what they refuse is
//! explained without repeating a password.
//!
//! Nothing here sends a request: building a client only reads the environment and files.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use credchain_core::{Env, ErrorKind, Secret};
use credchain_entra::{Authority, CertificateErrorKind, ClientCertificate, EntraClient};
use credchain_fake_entra::TestCertificate;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PASSWORD: &str = "right-password-123";

/// One RSA certificate for every case; key generation is the slow part.
static CERT: LazyLock<TestCertificate> = LazyLock::new(|| TestCertificate::generate("no-panic"));
/// The certificate in each format the loader reads.
static FILES: LazyLock<[Vec<u8>; 3]> = LazyLock::new(|| {
    [
        CERT.combined_pem().into_bytes(),
        CERT.encrypted_combined_pem(PASSWORD).into_bytes(),
        CERT.pkcs12(PASSWORD),
    ]
});

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    runner(cases)
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------------
// Authority::parse
// ---------------------------------------------------------------------------------------------

/// Authority-like strings: schemes, user info, hosts (names, IPv4, IPv6, Unicode), ports,
/// paths, queries, fragments and stray whitespace and slashes.
fn authority_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just(""),
        Just("https://"),
        Just("HTTPS://"),
        Just("http://"),
        Just("ftp://"),
        Just("://"),
        Just("https:/"),
        Just("https:"),
    ];
    let userinfo = prop_oneof![
        4 => Just(String::new()),
        1 => "[a-z]{1,5}@",
        1 => "[a-z]{1,5}:[a-z0-9]{1,8}@",
    ];
    let host = prop_oneof![
        "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,12}){0,3}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,4}",
        Just("[::1]".to_owned()),
        "\\[[0-9a-f:]{0,12}\\]",
        "[a-zé\u{1F600}]{1,6}\\.example",
        "\\PC{0,6}",
        Just(String::new()),
    ];
    let port = prop_oneof![Just(String::new()), ":[0-9]{0,6}", ":[a-z]{1,3}"];
    let rest = prop_oneof![
        3 => Just(String::new()),
        1 => "(/[A-Za-z0-9%._~-]{0,8}){1,3}/?",
        1 => "/*",
        1 => "\\?[a-z=&]{0,6}",
        1 => "#[a-z]{0,4}",
        1 => "[ /\t]{1,3}",
    ];
    (" ?", scheme, userinfo, host, port, rest, " ?")
        .prop_map(|(a, s, u, h, p, r, b)| format!("{a}{s}{u}{h}{p}{r}{b}"))
}

fn check_authority(input: &str) -> Result<(), TestCaseError> {
    match Authority::parse(input) {
        Ok(a) => {
            let url = a.as_str();
            prop_assert!(url.starts_with("https://"), "{input:?} -> {url}");
            prop_assert!(!url.ends_with('/'), "{input:?} -> {url}");
            prop_assert!(!a.host().is_empty(), "{input:?} -> {url}");
            prop_assert!(
                url["https://".len()..].starts_with(a.host()),
                "{input:?} -> {url}"
            );
            prop_assert!(!url.contains(['?', '#', ' ']), "{input:?} -> {url}");
            // No user info, and no mistyped scheme taken for the host (`https:/x`).
            prop_assert!(!a.host().contains('@'), "{input:?} -> {url}");
            let name = a.host().rsplit_once(':').map_or(a.host(), |(n, _)| n);
            prop_assert!(!["http", "https"].contains(&name), "{input:?} -> {url}");
            prop_assert_eq!(a.to_string(), url);
            prop_assert_eq!(a.token_url("t1"), format!("{url}/t1/oauth2/v2.0/token"));
            // Normalising is idempotent.
            prop_assert_eq!(Authority::parse(url), Ok(a.clone()), "{:?}", input);
            prop_assert_eq!(url.parse::<Authority>(), Ok(a.clone()));
        }
        Err(message) => {
            prop_assert!(!message.is_empty());
            prop_assert!(!message.starts_with(char::is_uppercase), "{message}");
            // The value is quoted at most 100 characters long, however long the input.
            prop_assert!(
                message.chars().count() < 1_500,
                "{} chars",
                message.chars().count()
            );
        }
    }
    Ok(())
}

#[test]
fn authority_parse_never_panics_and_normalises_what_it_accepts() {
    let input = prop_oneof![
        4 => authority_like(),
        1 => any::<String>(),
        1 => "\\PC{0,40}",
        1 => (200usize..50_000).prop_map(|n| format!("https://{}.example", "a".repeat(n))),
    ];
    run(512, input, |input| check_authority(&input));
}

#[test]
fn authority_errors_do_not_repeat_a_password_in_the_url() {
    let input = (
        "[a-z]{1,6}",
        "[A-Za-z0-9]{10,16}",
        "[a-z0-9.-]{0,12}",
        prop_oneof![
            Just(""),
            Just("/"),
            Just("?x=1"),
            Just("#f"),
            Just(":99999"),
            Just(" x")
        ],
    );
    run(256, input, |(user, password, host, rest)| {
        let url = format!("https://{user}:{password}@{host}{rest}");
        let message = Authority::parse(&url).expect_err("user info is refused");
        prop_assert!(!message.contains(&password), "{url} -> {message}");
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// ClientCertificate::load
// ---------------------------------------------------------------------------------------------

fn password() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(String::new())),
        3 => Just(Some(PASSWORD.to_owned())),
        2 => any::<String>().prop_map(Some),
        1 => "[A-Za-z0-9]{8,20}".prop_map(Some),
    ]
}

/// Checks one load: no panic, and a refusal never contains the password or a line of the key.
fn check_load(bytes: &[u8], password: Option<&str>) -> Result<Option<ClientCertificate>, TestCaseError> {
    let secret = password.map(Secret::new);
    match ClientCertificate::load(bytes, secret.as_ref()) {
        Ok(cert) => {
            prop_assert_eq!(cert.thumbprint_sha256().len(), 43);
            prop_assert!(!cert.chain_der().is_empty());
            let debug = format!("{cert:?}");
            for line in CERT.key_pem().lines().filter(|l| l.len() >= 32) {
                prop_assert!(!debug.contains(line), "key material in Debug: {debug}");
            }
            // A certificate that loaded either signs or says why; it never panics.
            if let Err(message) = cert.sign_assertion("app", "https://aud", SystemTime::now(), true) {
                prop_assert!(!message.is_empty());
            }
            Ok(Some(cert))
        }
        Err(e) => {
            let message = e.message();
            prop_assert!(!message.is_empty());
            prop_assert!(!message.starts_with(char::is_uppercase), "{message}");
            prop_assert_eq!(e.to_string(), message);
            if let Some(p) = password.filter(|p| p.chars().count() >= 8) {
                prop_assert!(!message.contains(p), "the password reached: {message}");
            }
            for line in CERT.key_pem().lines().filter(|l| l.len() >= 32) {
                prop_assert!(!message.contains(line), "key material in: {message}");
            }
            Ok(None)
        }
    }
}

#[test]
fn arbitrary_bytes_are_refused_without_panicking() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096),
        // PEM-shaped text with random labels and bodies.
        prop::collection::vec(
            (
                prop_oneof![
                    Just("CERTIFICATE"),
                    Just("PRIVATE KEY"),
                    Just("RSA PRIVATE KEY"),
                    Just("ENCRYPTED PRIVATE KEY"),
                    Just("EC PRIVATE KEY"),
                    Just("X"),
                ],
                "[A-Za-z0-9+/=]{0,300}",
                prop::bool::ANY,
            ),
            0..4
        )
        .prop_map(|blocks| {
            let mut text = String::new();
            for (label, body, closed) in blocks {
                text.push_str(&format!("-----BEGIN {label}-----\n{body}\n"));
                if closed {
                    text.push_str(&format!("-----END {label}-----\n"));
                }
            }
            text.into_bytes()
        }),
    ];
    run(256, (bytes, password()), |(bytes, password)| {
        let loaded = check_load(&bytes, password.as_deref())?;
        prop_assert!(loaded.is_none(), "random bytes made a certificate");
        Ok(())
    });
}

/// A change to a real certificate file.
#[derive(Clone, Debug)]
enum Damage {
    /// Set the byte at this index (mod length) to this value.
    Set(usize, u8),
    /// Flip one bit of the byte at this index.
    Flip(usize, u8),
    /// Keep only this many bytes (mod length).
    Truncate(usize),
    /// Remove this range (start, length, both mod length).
    Cut(usize, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        3 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Damage::Flip(i, b)),
        1 => any::<usize>().prop_map(Damage::Truncate),
        1 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Damage::Cut(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        if bytes.is_empty() {
            break;
        }
        let n = bytes.len();
        match *d {
            Damage::Set(i, b) => bytes[i % n] = b,
            Damage::Flip(i, bit) => bytes[i % n] ^= 1 << bit,
            Damage::Truncate(len) => bytes.truncate(len % n),
            Damage::Cut(i, len) => {
                let start = i % n;
                bytes.drain(start..(start + len).min(n));
            }
        }
    }
    bytes
}

#[test]
fn damaged_real_certificates_never_panic() {
    let case = (0usize..3, prop::collection::vec(damage(), 1..4), password());
    run(192, case, |(format, damage, password)| {
        let bytes = apply(FILES[format].clone(), &damage);
        check_load(&bytes, password.as_deref())?;
        Ok(())
    });
}

#[test]
fn intact_certificates_load_only_with_the_right_password() {
    // PKCS#12 and encrypted PEM need the password; an unencrypted PEM ignores it.
    run(48, (0usize..3, password()), |(format, password)| {
        let loaded = check_load(&FILES[format], password.as_deref())?;
        let right = password.as_deref() == Some(PASSWORD);
        match format {
            0 => prop_assert!(loaded.is_some(), "plain PEM with {password:?}"),
            _ => prop_assert_eq!(loaded.is_some(), right, "format {} with {:?}", format, password),
        }
        if let Some(cert) = loaded {
            prop_assert_eq!(cert.thumbprint_sha256(), CERT.thumbprint_sha256());
        } else {
            let secret = password.as_deref().map(Secret::new);
            let err = ClientCertificate::load(&FILES[format], secret.as_ref()).expect_err("refused");
            prop_assert_eq!(err.kind(), CertificateErrorKind::WrongPassword, "{}", err);
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// EntraClientBuilder::build with an arbitrary network environment
// ---------------------------------------------------------------------------------------------

/// A directory of this test binary's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("credchain-entra-no-panic-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn file(&self, bytes: &[u8]) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = self.0.join(format!("f-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&path, bytes).expect("write");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone, Debug)]
enum CertFile {
    Path(&'static str),
    Bytes(Vec<u8>),
    Scratch,
}

#[derive(Clone, Debug)]
struct NetEnv {
    authority_host: Option<String>,
    ssl_cert_file: Option<CertFile>,
    ssl_cert_dir: Option<CertFile>,
    proxy: Option<(usize, String)>,
    no_proxy: Option<String>,
    extra_root: Option<Vec<u8>>,
}

fn net_env() -> impl Strategy<Value = NetEnv> {
    let file = prop_oneof![
        prop_oneof![
            Just("/nonexistent/roots.pem"),
            Just("/dev/null"),
            // Endless: must be skipped without being read.
            Just("/dev/zero"),
            Just("/"),
            Just("relative.pem"),
        ]
        .prop_map(CertFile::Path),
        prop::collection::vec(any::<u8>(), 0..512).prop_map(CertFile::Bytes),
        Just(CertFile::Bytes(CERT.cert_pem().as_bytes().to_vec())),
        Just(CertFile::Scratch),
    ];
    let proxy = prop_oneof![
        Just("http://proxy.invalid:3128".to_owned()),
        Just("http://user:proxy-password-1@proxy.invalid:3128".to_owned()),
        Just("proxy.invalid:8080".to_owned()),
        Just("socks5://127.0.0.1:1080".to_owned()),
        Just("  ".to_owned()),
        "[a-z:/@.0-9%\\[\\]]{0,30}",
        any::<String>(),
    ];
    let extra_root = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        Just(CERT.cert_pem().as_bytes().to_vec()),
        "-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=]{0,200}\n-----END CERTIFICATE-----\n"
            .prop_map(String::into_bytes),
    ];
    (
        prop::option::of(prop_oneof![authority_like(), any::<String>()]),
        prop::option::weighted(0.9, file.clone()),
        prop::option::of(file),
        prop::option::of((0usize..4, proxy)),
        prop::option::of(prop_oneof![Just("*".to_owned()), any::<String>()]),
        prop::option::of(extra_root),
    )
        .prop_map(
            |(authority_host, ssl_cert_file, ssl_cert_dir, proxy, no_proxy, extra_root)| NetEnv {
                authority_host,
                ssl_cert_file,
                ssl_cert_dir,
                proxy,
                no_proxy,
                extra_root,
            },
        )
}

#[test]
fn client_build_from_any_network_environment_never_panics() {
    let scratch = Scratch::new("client");
    let proxy_vars = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
    run(128, net_env(), |case| {
        let place = |f: &CertFile| match f {
            CertFile::Path(p) => (*p).to_owned(),
            CertFile::Bytes(b) => scratch.file(b),
            CertFile::Scratch => scratch.0.display().to_string(),
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(a) = &case.authority_host {
            pairs.push(("AZURE_AUTHORITY_HOST".into(), a.clone()));
        }
        if let Some(f) = &case.ssl_cert_file {
            pairs.push(("SSL_CERT_FILE".into(), place(f)));
        }
        if let Some(f) = &case.ssl_cert_dir {
            pairs.push(("SSL_CERT_DIR".into(), place(f)));
        }
        if let Some((i, url)) = &case.proxy {
            pairs.push((proxy_vars[*i].into(), url.clone()));
        }
        if let Some(n) = &case.no_proxy {
            pairs.push(("NO_PROXY".into(), n.clone()));
        }
        let mut builder = EntraClient::builder()
            .env(Env::from_pairs(pairs))
            .provider_name("P");
        if let Some(root) = &case.extra_root {
            builder = builder.add_root_certificate_pem(root);
        }
        match builder.build() {
            Ok(client) => {
                // The authority came from AZURE_AUTHORITY_HOST when it was set and not blank.
                match case.authority_host.as_deref().filter(|a| !a.trim().is_empty()) {
                    Some(a) => prop_assert_eq!(Ok(client.authority().clone()), Authority::parse(a)),
                    None => prop_assert_eq!(client.authority(), &Authority::public()),
                }
                let debug = format!("{client:?}");
                prop_assert!(!debug.contains("proxy-password-1"), "{debug}");
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
                prop_assert_eq!(e.provider(), "P");
                prop_assert!(!e.message().is_empty());
                let shown = format!("{e} {e:?}");
                prop_assert!(!shown.contains("proxy-password-1"), "{shown}");
            }
        }
        Ok(())
    });
}
