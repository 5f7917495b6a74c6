//! The token client against the fake Microsoft Entra endpoint: every grant, error shapes,
//! retries, timeouts, TLS roots and the proxy.

use crate::common;

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use credchain_core::{Env, ErrorKind, FakeClock, Secret, TokenRequestOptions};
use credchain_entra::{Authority, ClientCertificate, EntraClient, EntraErrorResponse, Grant};
use credchain_fake_entra::{FakeEntra, FakeProxy, TestCertificate, decode_jwt};

fn opts() -> TokenRequestOptions {
    TokenRequestOptions::default()
}

async fn secret_entra() -> FakeEntra {
    FakeEntra::builder()
        .tenant(TENANT)
        .client_secret(TENANT, APP, SECRET)
        .start()
        .await
        .expect("fake starts")
}

#[tokio::test]
async fn client_secret_grant_sends_the_right_form_and_computes_lifetimes() {
    let entra = secret_entra().await;
    let clock = FakeClock::at_unix(1_800_000_000);
    let client = builder_for(&entra)
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("builds");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let r = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token");
    assert_eq!(entra.issued_tokens(), vec![r.token.secret().to_owned()]);
    assert_eq!(clock.unix_seconds() + 3600, unix(r.token.expires_on()));
    assert_eq!(r.token.refresh_on(), None, "1 h tokens get no refresh_on");
    assert!(r.refresh_token.is_none());
    let claims = decode_jwt(r.token.secret()).expect("jwt").claims;
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], APP);

    let req = entra.requests().pop().expect("recorded");
    assert_eq!(req.path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(req.form_value("grant_type"), Some("client_credentials"));
    assert_eq!(req.form_value("client_id"), Some(APP));
    assert_eq!(req.form_value("client_secret"), Some(SECRET));
    assert_eq!(req.form_value("scope"), Some(SCOPE));
    assert_eq!(req.form_value("client_info"), Some("1"));
    assert_eq!(req.form_value("claims"), None);
}

#[tokio::test]
async fn long_lived_tokens_refresh_at_half_life_and_refresh_in_wins() {
    let entra = FakeEntra::builder()
        .client_secret(TENANT, APP, SECRET)
        .token_lifetime(Duration::from_secs(7200))
        .start()
        .await
        .expect("fake starts");
    let clock = FakeClock::at_unix(1_800_000_000);
    let client = builder_for(&entra)
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("builds");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let r = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token");
    assert_eq!(r.token.refresh_on().map(unix), Some(1_800_000_000 + 3600));

    let entra = FakeEntra::builder()
        .client_secret(TENANT, APP, SECRET)
        .refresh_in(Duration::from_secs(120))
        .start()
        .await
        .expect("fake starts");
    let client = builder_for(&entra)
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("builds");
    let r = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token");
    assert_eq!(r.token.refresh_on().map(unix), Some(1_800_000_000 + 120));
}

#[tokio::test]
async fn a_lifetime_too_large_for_system_time_is_an_unexpected_response() {
    let entra = FakeEntra::builder()
        .client_secret(TENANT, APP, SECRET)
        .token_lifetime(Duration::MAX)
        .start()
        .await
        .expect("fake starts");
    let client = builder_for(&entra).build().expect("builds");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("expires_in is u64::MAX");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(
        err.message().contains(
            "unexpected response from Microsoft Entra ID (HTTP 200): its `expires_in` is out of range"
        ),
        "{err}"
    );
    let issued = entra.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert!(!err.to_string().contains(issued[0].as_str()));
}

#[tokio::test]
async fn cae_and_claims_are_merged_into_the_claims_field() {
    let entra = secret_entra().await;
    let client = builder_for(&entra).build().expect("builds");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let o = opts()
        .with_enable_cae(true)
        .with_claims(r#"{"access_token":{"acrs":{"essential":true,"values":["p1"]}}}"#);
    client
        .request_token("P", TENANT, &grant, &[SCOPE], &o)
        .await
        .expect("token");
    let claims = entra
        .requests()
        .pop()
        .and_then(|r| r.form_value("claims").map(str::to_owned));
    let v: serde_json::Value = serde_json::from_str(&claims.expect("claims sent")).expect("json");
    assert_eq!(v["access_token"]["xms_cc"]["values"][0], "CP1");
    assert_eq!(v["access_token"]["acrs"]["values"][0], "p1");
}

async fn certificate_flow(cert: &ClientCertificate, test_cert: &TestCertificate, send_chain: bool) {
    let entra = FakeEntra::builder()
        .client_certificate(TENANT, APP, test_cert.cert_pem())
        .start()
        .await
        .expect("fake starts");
    let client = builder_for(&entra).build().expect("builds");
    let grant = Grant::ClientCertificate {
        client_id: APP,
        certificate: cert,
        send_certificate_chain: send_chain,
    };
    for _ in 0..2 {
        client
            .request_token("P", TENANT, &grant, &[SCOPE], &opts())
            .await
            .expect("token");
    }
    let reqs = entra.requests();
    assert_eq!(reqs.len(), 2);
    let jwts: Vec<_> = reqs
        .iter()
        .map(|r| {
            assert_eq!(
                r.form_value("client_assertion_type"),
                Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            );
            assert_eq!(r.form_value("client_secret"), None);
            decode_jwt(r.form_value("client_assertion").expect("assertion")).expect("jwt")
        })
        .collect();
    let (h, c) = (&jwts[0].header, &jwts[0].claims);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["x5t#S256"], test_cert.thumbprint_sha256().as_str());
    assert_eq!(h.get("x5c").is_some(), send_chain);
    if send_chain {
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(h["x5c"][0].as_str().expect("x5c string"))
            .expect("base64");
        assert_eq!(der, test_cert.cert_der());
    }
    assert_eq!(c["aud"], entra.token_url(TENANT).as_str());
    assert_eq!(c["iss"], APP);
    assert_eq!(c["sub"], APP);
    let (nbf, exp) = (c["nbf"].as_u64().unwrap_or(0), c["exp"].as_u64().unwrap_or(0));
    assert_eq!(exp - nbf, 600);
    assert_ne!(
        jwts[0].claims["jti"], jwts[1].claims["jti"],
        "every assertion has a fresh jti"
    );
}

#[tokio::test]
async fn certificate_grant_from_pem_encrypted_pem_and_pkcs12() {
    let tc = TestCertificate::generate("credchain-entra-test");
    let pw = Secret::new("cert-Passw0rd");
    let plain = ClientCertificate::load(tc.combined_pem().as_bytes(), None).expect("pem");
    certificate_flow(&plain, &tc, false).await;
    let encrypted = ClientCertificate::load(tc.encrypted_combined_pem(pw.expose()).as_bytes(), Some(&pw))
        .expect("encrypted pem");
    certificate_flow(&encrypted, &tc, true).await;
    let pfx = ClientCertificate::load(&tc.pkcs12(pw.expose()), Some(&pw)).expect("pkcs12");
    certificate_flow(&pfx, &tc, true).await;
    assert_eq!(pfx.thumbprint_sha256(), tc.thumbprint_sha256());
    assert!(
        pfx.subject().contains("credchain-entra-test"),
        "{}",
        pfx.subject()
    );
}

#[tokio::test]
async fn unregistered_certificate_is_refused_with_its_code() {
    let registered = TestCertificate::generate("registered");
    let other = TestCertificate::generate("other");
    let entra = FakeEntra::builder()
        .client_certificate(TENANT, APP, registered.cert_pem())
        .start()
        .await
        .expect("fake starts");
    let client = builder_for(&entra).build().expect("builds");
    let cert = ClientCertificate::load(other.combined_pem().as_bytes(), None).expect("pem");
    let grant = Grant::ClientCertificate {
        client_id: APP,
        certificate: &cert,
        send_certificate_chain: false,
    };
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("AADSTS700027"), "{err}");
}

#[tokio::test]
async fn refresh_token_grant_returns_the_rotated_token() {
    let entra = FakeEntra::builder()
        .tenant("organizations")
        .refresh_token(PUBLIC_APP, REFRESH)
        .start()
        .await
        .expect("fake starts");
    let client = builder_for(&entra).build().expect("builds");
    let rt = Secret::new(REFRESH);
    let grant = Grant::RefreshToken {
        client_id: PUBLIC_APP,
        refresh_token: &rt,
    };
    let scopes = [SCOPE, "offline_access"];
    let r = client
        .request_token("P", "organizations", &grant, &scopes, &opts())
        .await
        .expect("token");
    let rotated = r.refresh_token.expect("rotated refresh token");
    assert_ne!(rotated.expose(), REFRESH);
    let req = entra.requests().pop().expect("recorded");
    assert_eq!(req.form_value("grant_type"), Some("refresh_token"));
    assert_eq!(req.form_value("refresh_token"), Some(REFRESH));
    assert_eq!(
        req.form_value("scope"),
        Some("https://management.azure.com/.default offline_access")
    );
    // The rotated token works too.
    let grant = Grant::RefreshToken {
        client_id: PUBLIC_APP,
        refresh_token: &rotated,
    };
    client
        .request_token("P", "organizations", &grant, &scopes, &opts())
        .await
        .expect("rotated token redeems");

    let bad = Secret::new("not-a-known-refresh-token");
    let grant = Grant::RefreshToken {
        client_id: PUBLIC_APP,
        refresh_token: &bad,
    };
    let err = client
        .request_token("P", "organizations", &grant, &scopes, &opts())
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    let entra_err = err
        .source()
        .and_then(|s| s.downcast_ref::<EntraErrorResponse>())
        .expect("source");
    assert_eq!(entra_err.error(), "invalid_grant");
    assert_eq!(entra_err.aadsts_code().as_deref(), Some("AADSTS70000"));
    assert!(err.message().contains("sign in again"), "{err}");
}

#[tokio::test]
async fn password_grant_works_and_wrong_password_is_refused() {
    let entra = FakeEntra::builder()
        .tenant("organizations")
        .user(PUBLIC_APP, USER, PASSWORD)
        .start()
        .await
        .expect("fake starts");
    let client = builder_for(&entra).build().expect("builds");
    let pw = Secret::new(PASSWORD);
    let grant = Grant::Password {
        client_id: PUBLIC_APP,
        username: USER,
        password: &pw,
    };
    let r = client
        .request_token("P", "organizations", &grant, &[SCOPE], &opts())
        .await
        .expect("token");
    assert_eq!(decode_jwt(r.token.secret()).expect("jwt").claims["upn"], USER);
    let req = entra.requests().pop().expect("recorded");
    assert_eq!(req.form_value("grant_type"), Some("password"));
    assert_eq!(req.form_value("username"), Some(USER));

    let wrong = Secret::new("wrong-password");
    let grant = Grant::Password {
        client_id: PUBLIC_APP,
        username: USER,
        password: &wrong,
    };
    let err = client
        .request_token("P", "organizations", &grant, &[SCOPE], &opts())
        .await
        .expect_err("refused");
    assert!(err.message().contains("AADSTS50126"), "{err}");
}

#[tokio::test]
async fn entra_errors_carry_code_description_and_correlation_id() {
    let entra = secret_entra().await;
    let client = builder_for(&entra).build().expect("builds");
    let wrong = Secret::new("wrong-secret-value");
    let right = Secret::new(SECRET);
    // (tenant, client, secret, status, error, code)
    let cases = [
        (TENANT, APP, &wrong, 401, "invalid_client", "AADSTS7000215"),
        (
            "00000000-0000-0000-0000-00000000dead",
            APP,
            &right,
            400,
            "invalid_request",
            "AADSTS90002",
        ),
        (
            TENANT,
            "99999999-0000-0000-0000-000000000000",
            &right,
            400,
            "unauthorized_client",
            "AADSTS700016",
        ),
    ];
    for (tenant, client_id, secret, status, error, code) in cases {
        let grant = Grant::ClientSecret { client_id, secret };
        let err = client
            .request_token("P", tenant, &grant, &[SCOPE], &opts())
            .await
            .expect_err(code);
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
        assert_eq!(err.provider(), "P");
        let e = err
            .source()
            .and_then(|s| s.downcast_ref::<EntraErrorResponse>())
            .expect("source");
        assert_eq!(e.status(), status);
        assert_eq!(e.error(), error);
        assert_eq!(e.aadsts_code().as_deref(), Some(code));
        let correlation = e.correlation_id().expect("correlation id");
        let msg = err.message();
        assert!(msg.contains(code) && msg.contains(correlation), "{msg}");
        assert!(msg.contains(&format!("HTTP {status}, `{error}`")), "{msg}");
        assert!(!msg.contains(wrong.expose()) && !msg.contains(SECRET), "{msg}");
    }
    assert_eq!(entra.token_request_count(), 3, "4xx are never retried");
}

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let entra = secret_entra().await;
    let client = builder_for(&entra).build().expect("builds");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    entra.fail_next(1, 429, Some(1));
    let started = Instant::now();
    client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token after retry");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(entra.token_request_count(), 2);
}

#[tokio::test]
async fn retries_5xx_then_gives_up_as_transient() {
    let entra = secret_entra().await;
    let client = builder_for(&entra).max_retries(2).build().expect("builds");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    entra.fail_next(2, 500, None);
    client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("third try works");
    assert_eq!(entra.token_request_count(), 3);

    entra.fail_next(10, 503, None);
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("gives up");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(
        err.message().contains("HTTP 503") && err.message().contains("after 3 attempts"),
        "{err}"
    );
    assert!(err.message().contains("AADSTS"), "the Entra body is kept: {err}");
    assert_eq!(entra.token_request_count(), 6);

    entra.fail_next(10, 429, None);
    let client = builder_for(&entra).max_retries(0).build().expect("builds");
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("no retries");
    assert!(
        err.message().contains("throttling") && err.message().contains("after 1 attempt"),
        "{err}"
    );
    assert_eq!(entra.token_request_count(), 7);
}

#[tokio::test]
async fn retry_after_past_the_timeout_gives_up_at_once() {
    let entra = secret_entra().await;
    let client = builder_for(&entra)
        .timeout(Duration::from_secs(3))
        .build()
        .expect("builds");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    entra.fail_next(1, 429, Some(30));
    let started = Instant::now();
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("gives up");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("would pass the client's timeout"), "{err}");
}

#[tokio::test]
async fn overall_timeout_and_caller_deadline() {
    let entra = FakeEntra::builder()
        .client_secret(TENANT, APP, SECRET)
        .latency(Duration::from_secs(5))
        .start()
        .await
        .expect("fake starts");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let client = builder_for(&entra)
        .timeout(Duration::from_millis(400))
        .build()
        .expect("builds");
    let started = Instant::now();
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.message().contains("the client's timeout"), "{err}");

    let client = builder_for(&entra).build().expect("builds");
    let started = Instant::now();
    let o = opts().with_deadline(Instant::now() + Duration::from_millis(300));
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &o)
        .await
        .expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.message().contains("the request's deadline"), "{err}");
}

#[tokio::test]
async fn proxy_from_env_is_used_and_no_proxy_bypasses_it() {
    let entra = secret_entra().await;
    let proxy = FakeProxy::start().await.expect("proxy starts");
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let port = entra
        .authority()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();

    let client = builder_for(&entra)
        .env(Env::from_pairs([("HTTPS_PROXY", proxy.url())]))
        .build()
        .expect("builds");
    client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token via proxy");
    assert_eq!(proxy.connect_count(), 1);
    assert_eq!(proxy.targets(), vec![format!("127.0.0.1:{port}")]);

    let client = builder_for(&entra)
        .env(Env::from_pairs([
            ("HTTPS_PROXY", proxy.url()),
            ("NO_PROXY", "localhost,127.0.0.1".into()),
        ]))
        .build()
        .expect("builds");
    client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token direct");
    assert_eq!(proxy.connect_count(), 1, "NO_PROXY bypassed the proxy");
    assert_eq!(entra.token_request_count(), 2);
}

#[tokio::test]
async fn trust_comes_from_ssl_cert_file_and_untrusted_servers_are_refused() {
    let entra = secret_entra().await;
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let authority = Authority::parse(&entra.authority()).expect("valid");
    let ca_file = entra.ca_pem_path().to_string_lossy().into_owned();
    let client = EntraClient::builder()
        .env(Env::from_pairs([("SSL_CERT_FILE", ca_file)]))
        .authority(authority.clone())
        .build()
        .expect("builds");
    client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("trusted via SSL_CERT_FILE");

    // The system store does not know the fake's CA.
    let client = EntraClient::builder()
        .env(Env::empty())
        .authority(authority)
        .build()
        .expect("builds");
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("untrusted");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(
        err.message().contains("TLS") && err.message().contains("`SSL_CERT_FILE`"),
        "{err}"
    );
    assert_eq!(
        entra.token_request_count(),
        1,
        "no request reached the server without trust"
    );
}

#[tokio::test]
async fn insecure_authorities_are_rejected() {
    let err = Authority::parse("http://127.0.0.1:1").expect_err("http");
    assert!(err.contains("https"), "{err}");
    let err = EntraClient::builder()
        .env(Env::from_pairs([(
            "AZURE_AUTHORITY_HOST",
            "http://login.microsoftonline.com",
        )]))
        .build()
        .expect_err("http authority");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("`AZURE_AUTHORITY_HOST`"), "{err}");
}

#[tokio::test]
async fn authority_comes_from_env_when_not_given() {
    let entra = secret_entra().await;
    let client = EntraClient::builder()
        .env(Env::from_pairs([("AZURE_AUTHORITY_HOST", entra.authority())]))
        .add_root_certificate_pem(entra.ca_pem().as_bytes())
        .build()
        .expect("builds");
    assert_eq!(client.authority().as_str(), entra.authority());
    let secret = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token");
}

#[test]
fn certificate_load_errors_say_what_is_wrong() {
    use credchain_entra::CertificateErrorKind as K;
    let tc = TestCertificate::generate("a");
    let other = TestCertificate::generate("b");
    let pw = Secret::new("right-password");
    let wrong = Secret::new("wrong-password");
    let mismatched = format!("{}{}", tc.key_pem(), other.cert_pem());
    let cases: Vec<(Vec<u8>, Option<&Secret>, K)> = vec![
        (
            tc.encrypted_combined_pem(pw.expose()).into_bytes(),
            Some(&wrong),
            K::WrongPassword,
        ),
        (
            tc.encrypted_combined_pem(pw.expose()).into_bytes(),
            None,
            K::WrongPassword,
        ),
        (tc.pkcs12(pw.expose()), Some(&wrong), K::WrongPassword),
        (tc.pkcs12(pw.expose()), None, K::WrongPassword),
        (tc.cert_pem().as_bytes().to_vec(), None, K::NoPrivateKey),
        (tc.key_pem().as_bytes().to_vec(), None, K::NoCertificate),
        (mismatched.into_bytes(), None, K::KeyMismatch),
        (b"garbage".to_vec(), None, K::Malformed),
    ];
    for (bytes, password, kind) in cases {
        let err = ClientCertificate::load(&bytes, password).expect_err("must fail");
        assert_eq!(err.kind(), kind, "{err}");
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("right-password") && !text.contains("wrong-password"),
            "{text}"
        );
        let key_line = tc.key_pem().lines().nth(1).unwrap_or("none");
        assert!(!text.contains(key_line), "no key material: {text}");
    }
    // A chain file: leaf first regardless of order.
    let reordered = format!("{}{}{}", other.cert_pem(), tc.key_pem(), tc.cert_pem());
    let c = ClientCertificate::load(reordered.as_bytes(), None).expect("loads");
    assert_eq!(c.chain_der().len(), 2);
    assert_eq!(c.chain_der()[0], tc.cert_der());
    assert_eq!(c.thumbprint_sha256(), tc.thumbprint_sha256());
}

fn unix(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// The HTTP seam: a scripted, in-process HttpClient (no network).

use std::collections::VecDeque;
use std::sync::Mutex;

use credchain_core::ProviderContext;
use credchain_core::http::{HttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse, Method};
use credchain_entra::{AssertionFn, ClientAssertionSource};

/// What the scripted client saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
    /// The form arrived in a buffer of exactly its length: built once, never reallocated.
    body_exact: bool,
    timeout: Option<Duration>,
}

impl Seen {
    fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

/// How the scripted client answers once its script is used up.
#[derive(Debug, Clone, Copy)]
enum Echo {
    /// A 400 Entra error whose description holds the request body and its form-decoded fields.
    EntraError,
    /// A 500 plain-text body holding the request body.
    PlainText,
    /// No answer; the transport error's message holds the request body.
    Transport,
}

#[derive(Debug)]
struct Scripted {
    replies: Mutex<VecDeque<HttpResponse>>,
    seen: Mutex<Vec<Seen>>,
    echo: Option<Echo>,
}

impl Scripted {
    fn new(replies: impl IntoIterator<Item = HttpResponse>) -> Arc<Self> {
        Arc::new(Scripted {
            replies: Mutex::new(replies.into_iter().collect()),
            seen: Mutex::new(Vec::new()),
            echo: None,
        })
    }

    fn echoing(echo: Echo) -> Arc<Self> {
        Arc::new(Scripted {
            replies: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Vec::new()),
            echo: Some(echo),
        })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[credchain_core::async_trait]
impl HttpClient for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let seen = Seen {
            method: request.method,
            url: request.url.clone(),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_str().to_owned()))
                .collect(),
            body: body.clone(),
            body_exact: request.body.capacity() == request.body.len(),
            timeout: request.timeout,
        };
        let decoded: Vec<String> = seen
            .form()
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        // The body as a server may re-encode it: lower-case hex, `%20` for spaces, and the
        // decoded fields escaped into JSON text (with and without `\/`).
        let json = serde_json::to_string(&decoded).unwrap_or_default();
        let body = format!(
            "{body} {} {} {json} {}",
            lower_hex(&body),
            body.replace('+', "%20"),
            json.replace('/', "\\/")
        );
        if let Ok(mut all) = self.seen.lock() {
            all.push(seen);
        }
        if let Some(reply) = self.replies.lock().ok().and_then(|mut r| r.pop_front()) {
            return Ok(reply);
        }
        match self.echo {
            Some(Echo::EntraError) => {
                let description = format!("AADSTS7000215: you sent {body} which is {}", decoded.join(", "));
                let json = serde_json::json!({
                    "error": "invalid_client",
                    "error_description": description,
                    "correlation_id": body,
                    "trace_id": decoded.join(" "),
                });
                Ok(HttpResponse::new(400, json.to_string()))
            }
            Some(Echo::PlainText) => Ok(HttpResponse::new(
                500,
                format!("bad gateway for {body} / {}", decoded.join(" ")),
            )),
            Some(Echo::Transport) => Err(HttpError::new(
                HttpErrorKind::Other,
                format!("connection reset while sending {body} ({})", decoded.join(" ")),
            )),
            None => Err(HttpError::new(HttpErrorKind::Connect, "the script is used up")),
        }
    }
}

fn scripted_client(http: &Arc<Scripted>) -> EntraClient {
    let shared: credchain_core::http::SharedHttpClient = http.clone();
    EntraClient::builder()
        .env(Env::empty())
        .authority(Authority::parse("https://login.example.com").expect("authority"))
        .http_client(shared)
        .retry_delay(Duration::from_millis(1))
        .build()
        .expect("builds")
}

#[tokio::test]
async fn an_injected_http_client_sees_the_exact_request_and_its_answers_are_mapped() {
    let clock = FakeClock::at_unix(1_800_000_000);
    let http = Scripted::new([
        HttpResponse::new(429, "").with_header("Retry-After-Ms", "1"),
        HttpResponse::new(
            200,
            r#"{"access_token":"at-from-script","expires_in":7200,"token_type":"Bearer","refresh_token":"rt-2"}"#,
        ),
    ]);
    let shared: credchain_core::http::SharedHttpClient = http.clone();
    // Through a ProviderContext: its HTTP client, environment and clock are used.
    let context = ProviderContext::new()
        .with_env(Env::from_pairs([(
            "AZURE_AUTHORITY_HOST",
            "https://login.example.com/",
        )]))
        .with_clock(clock.clone())
        .with_http(shared);
    let client = EntraClient::builder()
        .context(&context)
        .retry_delay(Duration::from_millis(1))
        .build()
        .expect("builds");
    let rt = Secret::new(REFRESH);
    let grant = Grant::RefreshToken {
        client_id: PUBLIC_APP,
        refresh_token: &rt,
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    let r = client
        .request_token(
            "P",
            TENANT,
            &grant,
            &[SCOPE, "offline_access"],
            &opts().with_deadline(deadline),
        )
        .await
        .expect("token after one retry");
    assert_eq!(r.token.secret(), "at-from-script");
    assert_eq!(unix(r.token.expires_on()), clock.unix_seconds() + 7200);
    assert_eq!(r.token.refresh_on().map(unix), Some(clock.unix_seconds() + 3600));
    assert_eq!(r.refresh_token.as_ref().map(Secret::expose), Some("rt-2"));

    let seen = http.seen();
    assert_eq!(seen.len(), 2, "the 429 was retried");
    for request in &seen {
        assert_eq!(request.method, Method::Post);
        assert_eq!(
            request.url,
            format!("https://login.example.com/{TENANT}/oauth2/v2.0/token")
        );
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("content-type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(header("accept"), Some("application/json"));
        assert!(
            request.timeout.is_some_and(|t| t <= Duration::from_secs(600)),
            "{request:?}"
        );
        assert!(request.body_exact, "{request:?}");
        let form = request.form();
        let expected = [
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_APP),
            ("refresh_token", REFRESH),
            ("scope", "https://management.azure.com/.default offline_access"),
            ("client_info", "1"),
        ];
        let expected: Vec<(String, String)> =
            expected.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        assert_eq!(form, expected);
    }
}

#[tokio::test]
async fn scripted_refusals_and_odd_successes_are_mapped() {
    let s = Secret::new(SECRET);
    let grant = Grant::ClientSecret {
        client_id: APP,
        secret: &s,
    };
    let cases = [
        (
            HttpResponse::new(
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS7000222: expired","error_codes":[7000222]}"#,
            ),
            ErrorKind::AuthenticationFailed,
            "create a new one",
        ),
        (
            HttpResponse::new(200, r#"{"token_type":"Bearer"}"#),
            ErrorKind::AuthenticationFailed,
            "has no `access_token` (fields: token_type)",
        ),
        (
            HttpResponse::new(404, "<html>nope</html>"),
            ErrorKind::AuthenticationFailed,
            "(<html>nope</html>)",
        ),
    ];
    for (reply, kind, expected) in cases {
        let http = Scripted::new([reply]);
        let err = scripted_client(&http)
            .request_token("P", TENANT, &grant, &[SCOPE], &opts())
            .await
            .expect_err(expected);
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.message().contains(expected), "{err}");
        assert_eq!(http.seen().len(), 1, "not retried: {err}");
    }
    // A 503 is retried, then reported as transient.
    let http = Scripted::new([HttpResponse::new(503, "busy"), HttpResponse::new(503, "busy")]);
    let err = EntraClient::builder()
        .env(Env::empty())
        .authority(Authority::parse("https://login.example.com").expect("authority"))
        .http_client(http.clone())
        .retry_delay(Duration::from_millis(1))
        .max_retries(1)
        .build()
        .expect("builds")
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("503");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(
        err.message().contains("(HTTP 503) after 2 attempts: busy"),
        "{err}"
    );
}

#[test]
fn added_roots_with_an_injected_http_client_are_refused() {
    let http = Scripted::new([]);
    let err = EntraClient::builder()
        .env(Env::empty())
        .http_client(http)
        .add_root_certificate_pem(b"-----BEGIN CERTIFICATE-----")
        .build()
        .expect_err("roots would have no effect");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("has no effect"), "{err}");
}

/// `s` with the two hex digits after every `%` in lower case.
fn lower_hex(s: &str) -> String {
    let mut out = String::new();
    let mut left = 0;
    for c in s.chars() {
        if left > 0 {
            out.push(c.to_ascii_lowercase());
            left -= 1;
        } else {
            left = if c == '%' { 2 } else { 0 };
            out.push(c);
        }
    }
    out
}

/// Every form a secret may be echoed in.
fn encodings(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    vec![
        secret.to_owned(),
        lower_hex(&form),
        form,
        lower_hex(&percent),
        percent,
        json.replace('/', "\\/"),
        json,
    ]
}

/// The error's Display, Debug, message and every source's Display and Debug.
fn everything_shown(err: &credchain_core::Error) -> Vec<String> {
    let mut shown = vec![err.to_string(), format!("{err:?}"), err.message().to_owned()];
    let mut source = err.source();
    while let Some(s) = source {
        shown.push(s.to_string());
        shown.push(format!("{s:?}"));
        source = s.source();
    }
    shown
}

#[tokio::test]
async fn a_server_echoing_the_request_never_shows_a_secret_in_any_encoding() {
    let secret = Secret::new("Sup3r+Secret/Value= wïth \"quotes\"");
    let assertion = Secret::new("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl+/=");
    let from_callback = AssertionFn(|| Ok(Secret::new("eyJhbGciOiJub25lIn0.eyJjYWxsYmFjayI6MX0.s1g+n/d=")));
    let cert = TestCertificate::generate("echo");
    let certificate = ClientCertificate::load(cert.combined_pem().as_bytes(), None).expect("cert");
    let grants = [
        Grant::ClientSecret {
            client_id: APP,
            secret: &secret,
        },
        Grant::RefreshToken {
            client_id: PUBLIC_APP,
            refresh_token: &secret,
        },
        Grant::Password {
            client_id: PUBLIC_APP,
            username: USER,
            password: &secret,
        },
        Grant::ClientAssertion {
            client_id: APP,
            assertion: &assertion,
        },
        Grant::ClientAssertion {
            client_id: APP,
            assertion: &from_callback,
        },
        Grant::ClientCertificate {
            client_id: APP,
            certificate: &certificate,
            send_certificate_chain: false,
        },
    ];
    for echo in [Echo::EntraError, Echo::PlainText, Echo::Transport] {
        for grant in &grants {
            let http = Scripted::echoing(echo);
            let client = EntraClient::builder()
                .env(Env::empty())
                .authority(Authority::parse("https://login.example.com").expect("authority"))
                .http_client(http.clone())
                .max_retries(0)
                .build()
                .expect("builds");
            let err = client
                .request_token("P", TENANT, grant, &[SCOPE], &opts())
                .await
                .expect_err("echo server refuses");
            // What was really sent, so certificate assertions (signed per attempt) are covered.
            let sent: Vec<String> = http
                .seen()
                .iter()
                .flat_map(|r| r.form())
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "client_secret" | "refresh_token" | "password" | "client_assertion"
                    )
                })
                .map(|(_, v)| v)
                .collect();
            assert_eq!(sent.len(), 1, "{echo:?} {}", grant.kind());
            let shown = everything_shown(&err);
            assert!(
                shown.iter().any(|s| s.contains("***")),
                "{echo:?} {}: the echo is shown, scrubbed: {shown:#?}",
                grant.kind()
            );
            for needle in encodings(&sent[0]) {
                for text in &shown {
                    assert!(
                        !text.contains(&needle),
                        "{echo:?} {}: `{needle}` in {text}",
                        grant.kind()
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn client_assertion_grant_redeems_a_supplied_assertion_at_fake_entra() {
    let tc = TestCertificate::generate("federated");
    let entra = FakeEntra::builder()
        .tenant(TENANT)
        .client_certificate(TENANT, APP, tc.cert_pem())
        .start()
        .await
        .expect("fake starts");
    let client = builder_for(&entra).build().expect("builds");
    // A third-party token source: here it signs with a certificate the fake trusts, which
    // stands in for any federated issuer.
    let signer = ClientCertificate::load(tc.combined_pem().as_bytes(), None).expect("cert");
    let audience = entra.token_url(TENANT);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let source = AssertionFn(|| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        signer
            .sign_assertion(APP, &audience, std::time::SystemTime::now(), false)
            .map_err(|e| credchain_core::Error::authentication_failed("Source", e))
    });
    let grant = Grant::ClientAssertion {
        client_id: APP,
        assertion: &source,
    };
    let r = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect("token");
    assert_eq!(entra.issued_tokens(), vec![r.token.secret().to_owned()]);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let req = entra.requests().pop().expect("recorded");
    assert_eq!(req.form_value("grant_type"), Some("client_credentials"));
    assert_eq!(req.form_value("client_id"), Some(APP));
    assert_eq!(
        req.form_value("client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert!(
        req.form_value("client_assertion")
            .is_some_and(|a| a.split('.').count() == 3)
    );
    assert_eq!(req.form_value("scope"), Some(SCOPE));
    assert_eq!(req.form_value("client_secret"), None);

    // A source that fails: its error comes back unchanged and nothing is sent.
    #[derive(Debug)]
    struct Broken;
    #[credchain_core::async_trait]
    impl ClientAssertionSource for Broken {
        async fn client_assertion(&self, provider: &str) -> Result<Secret, credchain_core::Error> {
            Err(credchain_core::Error::unavailable(provider, "no token file yet"))
        }
    }
    let before = entra.token_request_count();
    let grant = Grant::ClientAssertion {
        client_id: APP,
        assertion: &Broken,
    };
    let err = client
        .request_token("Workload", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("source fails");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.message(), "no token file yet");
    assert_eq!(err.provider(), "Workload");
    // An empty assertion is refused before sending.
    let empty = Secret::new(" ");
    let grant = Grant::ClientAssertion {
        client_id: APP,
        assertion: &empty,
    };
    let err = client
        .request_token("P", TENANT, &grant, &[SCOPE], &opts())
        .await
        .expect_err("empty");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("empty assertion"), "{err}");
    assert_eq!(entra.token_request_count(), before);
}

/// `pin_server_certificate`: against Service Fabric's fake (HTTPS with a self-signed
/// certificate), the pinned client gets an answer with the SHA-1 or SHA-256 thumbprint, and the
/// unpinned client and a client pinned to another certificate are refused in the handshake.
#[tokio::test]
async fn a_pinned_client_accepts_exactly_the_pinned_self_signed_certificate() {
    use credchain_core::http::{HttpClient, HttpRequest};
    use credchain_entra::EntraHttpClient;
    use credchain_fake_entra::{FakeManagedIdentity, MiSource, TestCertificate};

    let fake = FakeManagedIdentity::builder(MiSource::ServiceFabric)
        .start()
        .await
        .expect("fake");
    let cert = fake
        .server_certificate()
        .expect("service fabric serves a certificate");
    let sha256: String = ring::digest::digest(&ring::digest::SHA256, cert.cert_der())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let request = || HttpRequest::get(fake.endpoint());
    let client = |pin: Option<&str>| {
        let mut builder = EntraHttpClient::builder().env(credchain_core::Env::empty());
        if let Some(pin) = pin {
            builder = builder.pin_server_certificate(pin);
        }
        builder.build().expect("client")
    };
    for pin in [cert.thumbprint_hex(), sha256] {
        let answer = client(Some(&pin)).send(request()).await.expect("pinned");
        assert_eq!(
            answer.status, 401,
            "reached the endpoint (which wants its Secret header)"
        );
    }
    let err = client(None).send(request()).await.expect_err("self-signed");
    assert!(err.to_string().contains("TLS failure"), "{err}");
    let other = TestCertificate::generate("someone-else").thumbprint_hex();
    let err = client(Some(&other)).send(request()).await.expect_err("other pin");
    assert!(
        err.to_string().contains("does not have the pinned thumbprint"),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 2, "refused handshakes send nothing");
    let err = EntraHttpClient::builder()
        .pin_server_certificate("ABC")
        .build()
        .expect_err("malformed");
    assert!(err.message().contains("40 (SHA-1) or 64 (SHA-256)"), "{err}");
}
