//! Shared helpers for the integration tests: an HTTPS client that trusts the fake's CA, and
//! client-assertion signing.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credchain_fake_entra::{FakeEntra, TestCertificate};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

pub const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub const OTHER_TENANT: &str = "a1b2c3d4-0000-4000-8000-000000000002";
pub const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "fake-client-secret-value";
pub const PUBLIC_CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// A rustls client config (ring) trusting exactly `roots_pem` (may be empty).
pub fn tls_config(roots_pem: &str) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        roots.add(cert.expect("valid PEM")).expect("valid root");
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A reqwest client trusting only the fake's CA, without any proxy.
pub fn client(entra: &FakeEntra) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(entra.ca_pem()))
        .no_proxy()
        .build()
        .expect("client builds")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// POSTs a form to the tenant's token endpoint; returns status, Retry-After and the JSON body.
pub async fn post_token(
    entra: &FakeEntra,
    tenant: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = client(entra)
        .post(entra.token_url(tenant))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request succeeds");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let json = response.json_value().await;
    (status, retry_after, json)
}

/// GET with an optional bearer token.
pub async fn get(
    entra: &FakeEntra,
    path: &str,
    bearer: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = client(entra).get(format!("{}{path}", entra.authority()));
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("request succeeds");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json_value().await)
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let bytes = self.bytes().await.expect("body");
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

/// Asserts the body is an Entra error with `error` and AADSTS `code`, in the real shape.
pub fn assert_entra_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().expect("error_description");
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        let value = body[field].as_str().unwrap_or_default();
        assert!(!value.is_empty(), "{field} missing in {body}");
        assert!(
            description.contains(value),
            "{field} not repeated in the description"
        );
    }
    assert_eq!(
        body["correlation_id"].as_str().map(str::len),
        Some(36),
        "uuid-shaped correlation id"
    );
}

/// Signs a client assertion with the certificate's key (RS256, `x5t#S256`).
pub fn assertion(cert: &TestCertificate, claims: &Value) -> String {
    assertion_with_header(
        cert,
        &json!({"alg": "RS256", "typ": "JWT", "x5t#S256": cert.thumbprint_sha256()}),
        claims,
    )
}

pub fn assertion_with_header(cert: &TestCertificate, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = ring::signature::RsaKeyPair::from_pkcs8(cert.key_der()).expect("valid key");
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Claims a correct assertion for `CLIENT` at `entra`'s `TENANT` token URL carries.
pub fn good_claims(entra: &FakeEntra, jti: &str) -> Value {
    let now = now();
    json!({
        "aud": entra.token_url(TENANT),
        "iss": CLIENT,
        "sub": CLIENT,
        "jti": jti,
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    })
}
