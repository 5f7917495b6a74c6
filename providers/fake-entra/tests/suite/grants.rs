//! Each grant type succeeds against the fake and yields decodable, JWT-shaped tokens.

use crate::common;

use std::time::Duration;

use common::*;
use credchain_fake_entra::{FakeEntra, TestCertificate, decode_jwt};

#[tokio::test]
async fn client_secret_grant_issues_an_app_token() {
    let entra = FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .start()
        .await
        .expect("starts");
    let (status, _, body) = post_token(
        &entra,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "https://management.azure.com/.default"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["ext_expires_in"], 3600);
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token for client credentials"
    );
    assert!(
        body.get("refresh_in").is_none(),
        "refresh_in only when configured"
    );
    let token = body["access_token"].as_str().expect("access_token");
    assert_eq!(entra.issued_tokens(), vec![token.to_owned()]);
    assert_eq!(entra.token_request_count(), 1);
    let jwt = decode_jwt(token).expect("JWT-shaped");
    let claims = &jwt.claims;
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], CLIENT);
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["scp"], "https://management.azure.com/.default");
    assert!(claims.get("upn").is_none());
    assert!(claims["oid"].as_str().is_some_and(|o| o.len() == 36));
    let (iat, nbf, exp) = (
        claims["iat"].as_u64(),
        claims["nbf"].as_u64(),
        claims["exp"].as_u64(),
    );
    assert_eq!(iat, nbf);
    assert_eq!(exp.zip(iat).map(|(e, i)| e - i), Some(3600));
    assert!(iat.is_some_and(|i| i.abs_diff(now()) < 60));
}

#[tokio::test]
async fn token_lifetime_and_refresh_in_are_configurable() {
    let entra = FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .token_lifetime(Duration::from_secs(7200))
        .refresh_in(Duration::from_secs(3600))
        .start()
        .await
        .expect("starts");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("scope", "api://x/.default"),
    ];
    let (status, _, body) = post_token(&entra, TENANT, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["expires_in"].as_u64(), body["refresh_in"].as_u64()),
        (Some(7200), Some(3600))
    );
    // Two tokens for the same request are still distinct.
    post_token(&entra, TENANT, &form).await;
    let issued = entra.issued_tokens();
    assert_eq!(issued.len(), 2);
    assert_ne!(issued[0], issued[1]);
}

#[tokio::test]
async fn certificate_assertion_grant_issues_a_token() {
    let cert = TestCertificate::generate("grant-test");
    let entra = FakeEntra::builder()
        .client_certificate(TENANT, CLIENT, &cert.combined_pem())
        .start()
        .await
        .expect("starts");
    let assertion = assertion(&cert, &good_claims(&entra, "jti-1"));
    let (status, _, body) = post_token(
        &entra,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
            ("scope", "api://x/.default"),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = decode_jwt(body["access_token"].as_str().unwrap_or_default())
        .expect("jwt")
        .claims;
    assert_eq!(
        (claims["appid"].as_str(), claims["aud"].as_str()),
        (Some(CLIENT), Some("api://x"))
    );
    // The recorded form lets a test inspect the assertion the client sent.
    let sent = entra.requests()[0]
        .form_value("client_assertion")
        .map(str::to_owned)
        .expect("recorded");
    let header = decode_jwt(&sent).expect("assertion decodes").header;
    assert_eq!(header["x5t#S256"], cert.thumbprint_sha256());
}

#[tokio::test]
async fn refresh_token_grant_rotates_and_keeps_the_old_token_valid() {
    let entra = FakeEntra::builder()
        .tenant(TENANT)
        .tenant(OTHER_TENANT)
        .user(PUBLIC_CLIENT, "alice@contoso.test", "pw")
        .refresh_token(PUBLIC_CLIENT, "rt-original")
        .start()
        .await
        .expect("starts");
    let redeem = |tenant: &'static str, rt: String| {
        let entra = &entra;
        async move {
            post_token(
                entra,
                tenant,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", PUBLIC_CLIENT),
                    ("refresh_token", &rt),
                    (
                        "scope",
                        "https://management.azure.com/.default offline_access openid profile",
                    ),
                    ("client_info", "1"),
                    ("claims", r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#),
                ],
            )
            .await
        }
    };
    let (status, _, first) = redeem(TENANT, "rt-original".into()).await;
    assert_eq!(status, 200, "{first}");
    let rotated = first["refresh_token"]
        .as_str()
        .expect("rotated refresh token")
        .to_owned();
    assert_ne!(rotated, "rt-original");
    assert!(
        first["scope"]
            .as_str()
            .is_some_and(|s| s.contains("offline_access"))
    );
    assert!(
        first["id_token"].as_str().and_then(decode_jwt).is_some(),
        "openid scope yields an id_token"
    );
    assert!(first["client_info"].is_string());
    let claims = decode_jwt(first["access_token"].as_str().unwrap_or_default())
        .expect("jwt")
        .claims;
    assert_eq!(claims["upn"], "alice@contoso.test");
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["scp"], "https://management.azure.com/.default");
    assert!(claims.get("appid").is_none());

    // The rotated token works, in another known tenant too, and rotates again.
    let (status, _, second) = redeem(OTHER_TENANT, rotated.clone()).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"].as_str(), Some(rotated.as_str()));
    assert_eq!(
        decode_jwt(second["access_token"].as_str().unwrap_or_default())
            .expect("jwt")
            .claims["tid"],
        OTHER_TENANT
    );
    // The original stays valid; `organizations` resolves to the first tenant.
    let (status, _, third) = redeem("organizations", "rt-original".into()).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(
        decode_jwt(third["access_token"].as_str().unwrap_or_default())
            .expect("jwt")
            .claims["tid"],
        TENANT
    );
    // Claims and client_info were recorded as sent.
    let recorded = entra.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[1].form_value("refresh_token"), Some(rotated.as_str()));
    assert_eq!(
        recorded[0].form_value("claims"),
        Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#)
    );
    assert_eq!(recorded[0].form_value("client_info"), Some("1"));
}

#[tokio::test]
async fn password_grant_issues_a_user_token_and_refresh_token() {
    let entra = FakeEntra::builder()
        .tenant(TENANT)
        .user(PUBLIC_CLIENT, "bob@contoso.test", "correct horse")
        .start()
        .await
        .expect("starts");
    let (status, _, body) = post_token(
        &entra,
        "organizations",
        &[
            ("grant_type", "password"),
            ("client_id", PUBLIC_CLIENT),
            ("username", "Bob@Contoso.test"),
            ("password", "correct horse"),
            ("scope", "https://graph.microsoft.com/User.Read offline_access"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = decode_jwt(body["access_token"].as_str().unwrap_or_default())
        .expect("jwt")
        .claims;
    assert_eq!(
        (claims["upn"].as_str(), claims["tid"].as_str()),
        (Some("bob@contoso.test"), Some(TENANT))
    );
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["scp"], "https://graph.microsoft.com/User.Read");
    let rt = body["refresh_token"].as_str().expect("refresh token").to_owned();
    // The refresh token from the password grant can be redeemed.
    let (status, _, body) = post_token(
        &entra,
        TENANT,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", &rt),
            ("scope", "api://x/.default"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_all_served_and_counted() {
    let entra = FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .start()
        .await
        .expect("starts");
    let http = client(&entra);
    let url = entra.token_url(TENANT);
    let body = format!(
        "grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}&scope=api%3A%2F%2Fx%2F.default"
    );
    let requests = (0..40).map(|_| {
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        tokio::spawn(async move {
            let response = http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("sent");
            response.status().as_u16()
        })
    });
    let statuses: Vec<u16> = futures_join(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(entra.token_request_count(), 40);
    let mut issued = entra.issued_tokens();
    issued.sort();
    issued.dedup();
    assert_eq!(issued.len(), 40, "every token is distinct");
    assert_eq!(entra.requests().len(), 40);
}

async fn futures_join(handles: impl Iterator<Item = tokio::task::JoinHandle<u16>>) -> Vec<u16> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task"));
    }
    out
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakeEntra>();
    assert_send_sync::<credchain_fake_entra::FakeEntraBuilder>();
    assert_send_sync::<credchain_fake_entra::FakeProxy>();
    assert_send_sync::<TestCertificate>();
    assert_send_sync::<credchain_fake_entra::RecordedRequest>();
}

#[tokio::test]
async fn federated_token_grant_issues_a_token_and_refuses_like_entra() {
    use credchain_fake_entra::federated_token;
    use std::time::SystemTime;

    const ISSUER: &str = "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/";
    const SUBJECT: &str = "system:serviceaccount:default:workload";
    let entra = FakeEntra::builder()
        .federated_credential(TENANT, CLIENT, ISSUER, SUBJECT)
        .start()
        .await
        .expect("starts");
    let form = |assertion: &str| {
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", CLIENT.to_owned()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion", assertion.to_owned()),
            ("scope", "https://vault.azure.net/.default".to_owned()),
        ]
    };
    let send = |assertion: String| {
        let entra = &entra;
        async move {
            let owned = form(&assertion);
            let fields: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_token(entra, TENANT, &fields).await
        }
    };
    let valid = federated_token(ISSUER, SUBJECT, SystemTime::now() + Duration::from_secs(3600));
    // The same token is accepted again (no replay rule for federated tokens).
    for _ in 0..2 {
        let (status, _, body) = send(valid.clone()).await;
        assert_eq!(status, 200, "{body}");
        let claims = decode_jwt(body["access_token"].as_str().unwrap_or_default())
            .expect("JWT")
            .claims;
        assert_eq!(
            (claims["appid"].as_str(), claims["tid"].as_str()),
            (Some(CLIENT), Some(TENANT))
        );
    }

    let expired = federated_token(ISSUER, SUBJECT, SystemTime::now() - Duration::from_secs(1));
    let (status, _, body) = send(expired).await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 700024);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("Client assertion is not within its valid time range.")),
        "{body}"
    );

    let stranger = federated_token(
        ISSUER,
        "system:serviceaccount:other:sa",
        SystemTime::now() + Duration::from_secs(600),
    );
    let (status, _, body) = send(stranger).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_request", 70021);
    assert!(
        body["error_description"].as_str().is_some_and(|d| d.contains(
            "No matching federated identity record found for presented assertion. Assertion Issuer: \
             'https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/'. Assertion Subject: \
             'system:serviceaccount:other:sa'."
        )),
        "{body}"
    );
}
