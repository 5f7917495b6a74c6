//! Every token-endpoint error has the real Entra status, `error`, AADSTS code and JSON shape.

use crate::common;

use std::time::Duration;

use common::*;
use credchain_fake_entra::{FakeEntra, TestCertificate};
use serde_json::json;

/// Form fields of one token request.
type Form<'a> = Vec<(&'a str, &'a str)>;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn fake() -> FakeEntra {
    FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .user(PUBLIC_CLIENT, "alice@contoso.test", "pw")
        .refresh_token(PUBLIC_CLIENT, "rt-1")
        .start()
        .await
        .expect("starts")
}

fn secret_form<'a>(secret: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", secret),
        ("scope", scope),
    ]
}

#[tokio::test]
async fn secret_and_tenant_errors() {
    let entra = fake().await;
    let scope = "api://x/.default";
    let cases: Vec<(&str, &str, Form, u16, &str, u64)> = vec![
        (
            "wrong secret",
            TENANT,
            secret_form("nope", scope),
            401,
            "invalid_client",
            7000215,
        ),
        (
            "unknown tenant",
            "00000000-0000-0000-0000-00000000dead",
            secret_form(SECRET, scope),
            400,
            "invalid_request",
            90002,
        ),
        (
            "unknown client",
            TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", SECRET),
                ("scope", scope),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            "missing scope",
            TENANT,
            secret_form(SECRET, ""),
            400,
            "invalid_request",
            900144,
        ),
        (
            "scope without /.default",
            TENANT,
            secret_form(SECRET, "api://x/read"),
            400,
            "invalid_scope",
            1002012,
        ),
        (
            "two resources",
            TENANT,
            secret_form(SECRET, "api://x/.default api://y/.default"),
            400,
            "invalid_scope",
            70011,
        ),
        (
            "no credential",
            TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("scope", scope),
            ],
            401,
            "invalid_client",
            7000218,
        ),
        (
            "missing grant_type",
            TENANT,
            vec![("client_id", CLIENT), ("scope", scope)],
            400,
            "invalid_request",
            900144,
        ),
        (
            "missing client_id",
            TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_secret", SECRET),
                ("scope", scope),
            ],
            400,
            "invalid_request",
            900144,
        ),
        (
            "unsupported grant",
            TENANT,
            vec![
                ("grant_type", "urn:unknown"),
                ("client_id", CLIENT),
                ("scope", scope),
            ],
            400,
            "unsupported_grant_type",
            70003,
        ),
        (
            "client credentials on common",
            "common",
            secret_form(SECRET, scope),
            400,
            "invalid_request",
            90002,
        ),
    ];
    for (name, tenant, form, status, error, code) in cases {
        let (got, _, body) = post_token(&entra, tenant, &form).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_entra_error(&body, error, code);
    }
    let wrong = post_token(&entra, TENANT, &secret_form("nope", scope)).await.2;
    let description = wrong["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains("Invalid client secret provided"),
        "{description}"
    );
    assert!(
        !description.contains("nope"),
        "the submitted secret is never echoed"
    );
    let unknown = post_token(&entra, "bad!tenant", &secret_form(SECRET, scope))
        .await
        .2;
    assert!(
        unknown["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("Tenant 'bad!tenant' not found")
    );
    assert!(entra.issued_tokens().is_empty(), "no failure issued a token");
}

#[tokio::test]
async fn correlation_ids_are_fresh_per_response() {
    let entra = fake().await;
    let a = post_token(&entra, TENANT, &secret_form("nope", "api://x/.default"))
        .await
        .2;
    let b = post_token(&entra, TENANT, &secret_form("nope", "api://x/.default"))
        .await
        .2;
    assert_ne!(a["correlation_id"], b["correlation_id"]);
    assert_ne!(a["trace_id"], b["trace_id"]);
}

#[tokio::test]
async fn user_flow_errors() {
    let entra = fake().await;
    let scope = "https://management.azure.com/.default";
    let cases: Vec<(&str, Form, u16, &str, u64)> = vec![
        (
            "unknown refresh token",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", PUBLIC_CLIENT),
                ("refresh_token", "bogus"),
                ("scope", scope),
            ],
            400,
            "invalid_grant",
            70000,
        ),
        (
            "refresh token of another client",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT),
                ("refresh_token", "rt-1"),
                ("scope", scope),
            ],
            400,
            "invalid_grant",
            70000,
        ),
        (
            "missing refresh token",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", PUBLIC_CLIENT),
                ("scope", scope),
            ],
            400,
            "invalid_request",
            900144,
        ),
        (
            "wrong password",
            vec![
                ("grant_type", "password"),
                ("client_id", PUBLIC_CLIENT),
                ("username", "alice@contoso.test"),
                ("password", "wrong"),
                ("scope", scope),
            ],
            400,
            "invalid_grant",
            50126,
        ),
        (
            "unknown user",
            vec![
                ("grant_type", "password"),
                ("client_id", PUBLIC_CLIENT),
                ("username", "mallory@contoso.test"),
                ("password", "pw"),
                ("scope", scope),
            ],
            400,
            "invalid_grant",
            50034,
        ),
        (
            "password grant for an unknown client",
            vec![
                ("grant_type", "password"),
                ("client_id", "nobody"),
                ("username", "alice@contoso.test"),
                ("password", "pw"),
                ("scope", scope),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
    ];
    for (name, form, status, error, code) in cases {
        let (got, _, body) = post_token(&entra, TENANT, &form).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_entra_error(&body, error, code);
    }
}

fn assertion_form(assertion: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
        ("scope", "api://x/.default"),
    ]
}

#[tokio::test]
async fn assertion_errors_and_jti_reuse() {
    let cert = TestCertificate::generate("assertion-errors");
    let stranger = TestCertificate::generate("not-registered");
    let entra = FakeEntra::builder()
        .client_certificate(TENANT, CLIENT, cert.cert_pem())
        .start()
        .await
        .expect("starts");

    let good = assertion(&cert, &good_claims(&entra, "once"));
    assert_eq!(post_token(&entra, TENANT, &assertion_form(&good)).await.0, 200);
    let (status, _, body) = post_token(&entra, TENANT, &assertion_form(&good)).await;
    assert_eq!(status, 401, "replayed jti: {body}");
    assert_entra_error(&body, "invalid_client", 700023);

    let mut expired = good_claims(&entra, "expired");
    expired["exp"] = json!(now() - 30);
    expired["nbf"] = json!(now() - 900);
    let mut early = good_claims(&entra, "early");
    early["nbf"] = json!(now() + 600);
    let mut wrong_aud = good_claims(&entra, "aud");
    wrong_aud["aud"] = json!("https://login.microsoftonline.com/t/oauth2/v2.0/token");
    let mut wrong_iss = good_claims(&entra, "iss");
    wrong_iss["iss"] = json!("someone-else");
    let cases = [
        ("expired", assertion(&cert, &expired), 700024),
        ("not yet valid", assertion(&cert, &early), 700024),
        ("wrong aud", assertion(&cert, &wrong_aud), 50027),
        ("wrong iss", assertion(&cert, &wrong_iss), 700021),
        (
            "unregistered certificate",
            assertion(&stranger, &good_claims(&entra, "stranger")),
            700027,
        ),
        (
            "forged signature",
            assertion_with_header(
                &stranger,
                &json!({"alg": "RS256", "x5t#S256": cert.thumbprint_sha256()}),
                &good_claims(&entra, "forged"),
            ),
            700027,
        ),
        ("garbage", "not.a.jwt".to_owned(), 50027),
    ];
    for (name, assertion, code) in cases {
        let (status, _, body) = post_token(&entra, TENANT, &assertion_form(&assertion)).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_entra_error(&body, "invalid_client", code);
    }
    // A wrong client_assertion_type is rejected even with a good assertion.
    let fresh = assertion(&cert, &good_claims(&entra, "type"));
    let mut form = assertion_form(&fresh);
    form[2].1 = "urn:other";
    let (status, _, body) = post_token(&entra, TENANT, &form).await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 50027);
    // A failed attempt does not burn its jti: the same assertion then succeeds.
    assert_eq!(post_token(&entra, TENANT, &assertion_form(&fresh)).await.0, 200);
    assert_eq!(entra.issued_tokens().len(), 2);
}

#[tokio::test]
async fn fail_next_injects_failures_with_retry_after() {
    let entra = fake().await;
    let form = secret_form(SECRET, "api://x/.default");
    entra.fail_next(2, 429, Some(7));
    for _ in 0..2 {
        let (status, retry_after, body) = post_token(&entra, TENANT, &form).await;
        assert_eq!((status, retry_after.as_deref()), (429, Some("7")));
        assert_entra_error(&body, "temporarily_unavailable", 90055);
    }
    let (status, retry_after, _) = post_token(&entra, TENANT, &form).await;
    assert_eq!(
        (status, retry_after),
        (200, None),
        "the third request is served normally"
    );

    entra.fail_next(1, 500, None);
    let (status, retry_after, body) = post_token(&entra, TENANT, &form).await;
    assert_eq!((status, retry_after), (500, None));
    assert_entra_error(&body, "server_error", 50000);
    entra.fail_next(1, 503, Some(1));
    let (status, retry_after, body) = post_token(&entra, TENANT, &form).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("1")));
    assert_entra_error(&body, "temporarily_unavailable", 90033);
    // fail_next(0, ..) cancels a plan.
    entra.fail_next(3, 500, None);
    entra.fail_next(0, 500, None);
    assert_eq!(post_token(&entra, TENANT, &form).await.0, 200);
    assert_eq!(entra.token_request_count(), 6);
    assert_eq!(entra.issued_tokens().len(), 2);
}

#[tokio::test]
async fn latency_delays_token_responses() {
    let delay = Duration::from_millis(300);
    let entra = FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .latency(delay)
        .start()
        .await
        .expect("starts");
    let started = std::time::Instant::now();
    let (status, _, _) = post_token(&entra, TENANT, &secret_form(SECRET, "api://x/.default")).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= delay,
        "the response came before the configured latency"
    );
}
