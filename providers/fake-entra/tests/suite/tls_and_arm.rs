//! The CA really validates the server; discovery and the ARM calls `az login` makes.

use crate::common;

use std::time::Duration;

use common::*;
use credchain_fake_entra::FakeEntra;

async fn fake() -> FakeEntra {
    FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .client_secret(OTHER_TENANT, CLIENT, SECRET)
        .subscription("0b1f6471-1bf0-4dda-aec3-cb9272f09590", "Dev", TENANT)
        .subscription("9c2e1a52-0000-4000-8000-00000000beef", "Prod", TENANT)
        .subscription("5d3f0000-0000-4000-8000-00000000f00d", "Other", OTHER_TENANT)
        .start()
        .await
        .expect("starts")
}

async fn app_token(entra: &FakeEntra, tenant: &str) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("scope", "https://management.azure.com//.default"),
    ];
    let (status, _, body) = post_token(entra, tenant, &form).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn ca_validates_the_server_and_nothing_else_does() {
    let entra = fake().await;
    assert!(entra.authority().starts_with("https://127.0.0.1:"));
    assert!(!entra.authority().ends_with('/'));
    assert_eq!(
        std::fs::read_to_string(entra.ca_pem_path()).expect("CA file"),
        entra.ca_pem()
    );
    let url = format!(
        "{}/{TENANT}/v2.0/.well-known/openid-configuration",
        entra.authority()
    );

    // Trusting the CA: 200, over h2 or http/1.1 alike.
    let response = client(&entra)
        .get(&url)
        .send()
        .await
        .expect("trusted CA connects");
    assert_eq!(response.status(), 200);

    // Trusting nothing: the handshake fails with a certificate error.
    let untrusted = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(""))
        .no_proxy()
        .build()
        .expect("builds");
    let err = untrusted
        .get(&url)
        .send()
        .await
        .expect_err("untrusted CA must fail");
    let chain = format!("{:?}", anyhow_chain(&err));
    assert!(
        chain.contains("UnknownIssuer") || chain.to_lowercase().contains("certificate"),
        "{chain}"
    );

    // Another fake's CA does not vouch for this server.
    let other = FakeEntra::builder().tenant(TENANT).start().await.expect("starts");
    let wrong = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(other.ca_pem()))
        .no_proxy()
        .build()
        .expect("builds");
    assert!(wrong.get(&url).send().await.is_err());
    assert_ne!(other.ca_pem(), entra.ca_pem());
}

fn anyhow_chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        out.push(format!("{e:?}"));
        source = e.source();
    }
    out
}

#[tokio::test]
async fn dropping_the_fake_stops_the_server_and_removes_the_ca_file() {
    let entra = fake().await;
    let (authority, ca_path, http) = (entra.authority(), entra.ca_pem_path().to_owned(), client(&entra));
    drop(entra);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        http.get(format!(
            "{authority}/common/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .is_err()
    );
    assert!(!ca_path.exists());
}

#[tokio::test]
async fn discovery_documents() {
    let entra = fake().await;
    for tenant in [TENANT, "organizations", "common"] {
        let (status, _, doc) = get(
            &entra,
            &format!("/{tenant}/v2.0/.well-known/openid-configuration"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{tenant}: {doc}");
        assert_eq!(doc["token_endpoint"], entra.token_url(tenant));
        assert!(
            doc["issuer"]
                .as_str()
                .is_some_and(|i| i.starts_with(&entra.authority()))
        );
    }
    let (status, _, body) = get(&entra, "/bad!tenant/v2.0/.well-known/openid-configuration", None).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_tenant", 90002);
    let (status, _, _) = get(&entra, "/nowhere", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn arm_calls_need_a_bearer_token_the_fake_issued() {
    let entra = fake().await;
    let path = "/subscriptions?api-version=2022-12-01";
    let (status, headers, body) = get(&entra, path, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    assert!(headers.get("www-authenticate").is_some());
    let (status, _, body) = get(&entra, path, Some("eyJhbGciOiJub25lIn0.e30.")).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");

    let token = app_token(&entra, TENANT).await;
    let (status, _, body) = get(&entra, path, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|s| s["displayName"].as_str())
        .collect();
    assert_eq!(names, ["Dev", "Prod"], "only the token's tenant's subscriptions");
    let first = &body["value"][0];
    assert_eq!(first["id"], "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590");
    assert_eq!(
        (first["tenantId"].as_str(), first["state"].as_str()),
        (Some(TENANT), Some("Enabled"))
    );

    let other = app_token(&entra, OTHER_TENANT).await;
    let (_, _, body) = get(&entra, path, Some(&other)).await;
    assert_eq!(body["value"].as_array().map(Vec::len), Some(1));
    let (status, _, body) = get(&entra, "/tenants?api-version=2022-12-01", Some(&other)).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"][0]["tenantId"], OTHER_TENANT);
    assert_eq!(body["value"].as_array().map(Vec::len), Some(1));

    let (status, _, body) = get(
        &entra,
        "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590?api-version=2022-12-01",
        Some(&token),
    )
    .await;
    assert_eq!((status, body["displayName"].as_str()), (200, Some("Dev")));
    let (status, _, _) = get(
        &entra,
        "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590?api-version=2022-12-01",
        Some(&other),
    )
    .await;
    assert_eq!(status, 404, "another tenant's token cannot read the subscription");
    let (status, _, body) = get(&entra, "/subscriptions", Some(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MissingApiVersionParameter"))
    );
}

#[tokio::test]
async fn expired_tokens_are_rejected_by_arm() {
    let entra = FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .token_lifetime(Duration::ZERO)
        .start()
        .await
        .expect("starts");
    let token = app_token(&entra, TENANT).await;
    let (status, _, body) = get(&entra, "/subscriptions?api-version=2022-12-01", Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "ExpiredAuthenticationToken");
}

#[tokio::test]
async fn every_request_is_recorded() {
    let entra = fake().await;
    let token = app_token(&entra, TENANT).await;
    get(&entra, "/subscriptions?api-version=2022-12-01", Some(&token)).await;
    let requests = entra.requests();
    assert_eq!(requests.len(), 2);
    let post = &requests[0];
    assert!(post.is_token_request());
    assert_eq!((post.method.as_str(), post.tenant()), ("POST", Some(TENANT)));
    assert_eq!(post.form_value("client_secret"), Some(SECRET));
    assert_eq!(
        post.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let arm = &requests[1];
    assert_eq!(
        (arm.method.as_str(), arm.path.as_str()),
        ("GET", "/subscriptions")
    );
    assert_eq!(
        arm.query.get("api-version").map(String::as_str),
        Some("2022-12-01")
    );
    assert_eq!(
        arm.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert!(arm.form.is_empty());
    assert_eq!(entra.token_request_count(), 1);
}
