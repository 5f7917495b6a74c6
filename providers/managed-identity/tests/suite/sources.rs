//! Every row of the source table, end to end: detection, the request on the wire, the answer.

use credchain_core::fs::MemoryFileSystem;
use credchain_core::{ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeManagedIdentity, MiSource};
use credchain_managed_identity::{FakeTimer, SourceKind};

use crate::common::{RESOURCE, SCOPE, builder, builder_with};

const USER_CLIENT: &str = "0a1b2c3d-0000-4000-8000-00000000c11e";
const USER_OBJECT: &str = "0a1b2c3d-0000-4000-8000-0000000000b1";
const USER_RESOURCE: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app";

async fn fake(source: MiSource) -> FakeManagedIdentity {
    FakeManagedIdentity::builder(source)
        .user_assigned(USER_CLIENT, USER_OBJECT, USER_RESOURCE)
        .start()
        .await
        .expect("fake starts")
}

#[tokio::test]
async fn imds_system_assigned() {
    let fake = fake(MiSource::Imds).await;
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer).build();
    assert_eq!(credential.describe().source, Some(SourceKind::Imds));
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.issued_tokens(), [token.secret()]);
    let request = &fake.requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/metadata/identity/oauth2/token");
    assert_eq!(
        request.query.get("api-version").map(String::as_str),
        Some("2018-02-01")
    );
    assert_eq!(request.query.get("resource").map(String::as_str), Some(RESOURCE));
    assert_eq!(request.header("metadata"), Some("true"));
}

#[tokio::test]
async fn imds_user_assigned_by_each_id() {
    let fake = fake(MiSource::Imds).await;
    let timer = FakeTimer::new();
    let by_client = builder(&fake, &timer).client_id(USER_CLIENT).build();
    let by_object = builder(&fake, &timer).object_id(USER_OBJECT).build();
    let by_resource = builder(&fake, &timer).resource_id(USER_RESOURCE).build();
    for credential in [by_client, by_object, by_resource] {
        credential
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .expect("token");
    }
    let requests = fake.requests();
    assert_eq!(
        requests[0].query.get("client_id").map(String::as_str),
        Some(USER_CLIENT)
    );
    assert_eq!(
        requests[1].query.get("object_id").map(String::as_str),
        Some(USER_OBJECT)
    );
    assert_eq!(
        requests[2].query.get("msi_res_id").map(String::as_str),
        Some(USER_RESOURCE)
    );
}

#[tokio::test]
async fn imds_unknown_identity_is_unavailable() {
    let fake = fake(MiSource::Imds).await;
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer).client_id("not-assigned").build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("Identity not found"), "{err}");
}

#[tokio::test]
async fn app_service_system_and_user_assigned() {
    let fake = fake(MiSource::AppService).await;
    let timer = FakeTimer::new();
    let system = builder(&fake, &timer).build();
    assert_eq!(system.describe().source, Some(SourceKind::AppService));
    system
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    for credential in [
        builder(&fake, &timer).client_id(USER_CLIENT).build(),
        builder(&fake, &timer).object_id(USER_OBJECT).build(),
        builder(&fake, &timer).resource_id(USER_RESOURCE).build(),
    ] {
        credential
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .expect("token");
    }
    let requests = fake.requests();
    let secret = &fake.env()[1].1;
    assert_eq!(requests[0].header("x-identity-header"), Some(secret.as_str()));
    assert_eq!(
        requests[0].query.get("api-version").map(String::as_str),
        Some("2019-08-01")
    );
    assert_eq!(
        requests[1].query.get("client_id").map(String::as_str),
        Some(USER_CLIENT)
    );
    assert_eq!(
        requests[2].query.get("object_id").map(String::as_str),
        Some(USER_OBJECT)
    );
    assert_eq!(
        requests[3].query.get("mi_res_id").map(String::as_str),
        Some(USER_RESOURCE)
    );
}

#[tokio::test]
async fn app_service_wrong_header_fails_without_showing_it() {
    let fake = fake(MiSource::AppService).await;
    let timer = FakeTimer::new();
    let mut env = fake.env();
    env[1].1 = "wrong-header-value".into();
    let credential = builder_with(env, MemoryFileSystem::new(), &timer).build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("answered 401"), "{err}");
    assert!(!format!("{err} {err:?} {credential:?}").contains("wrong-header-value"));
}

#[tokio::test]
async fn arc_answers_the_key_file_challenge() {
    let fake = fake(MiSource::AzureArc).await;
    let timer = FakeTimer::new();
    let fs = MemoryFileSystem::new().with_file(fake.arc_key_path(), fake.arc_key());
    let credential = builder_with(fake.env(), fs, &timer).build();
    assert_eq!(credential.describe().source, Some(SourceKind::AzureArc));
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.issued_tokens(), [token.secret()]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Basic {}", fake.arc_key()).as_str())
    );
    assert_eq!(
        requests[1].query.get("api-version").map(String::as_str),
        Some("2020-06-01")
    );
}

#[tokio::test]
async fn arc_without_the_key_file_fails_and_names_it() {
    let fake = fake(MiSource::AzureArc).await;
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer).build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains(fake.arc_key_path()), "{err}");
    let err = builder(&fake, &timer)
        .client_id(USER_CLIENT)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidInput,
        "Arc has no user-assigned identities: {err}"
    );
}

#[tokio::test]
async fn azure_ml_with_secret_and_clientid() {
    let fake = fake(MiSource::AzureMl).await;
    let timer = FakeTimer::new();
    builder(&fake, &timer)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("system");
    builder(&fake, &timer)
        .client_id(USER_CLIENT)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("user-assigned");
    let requests = fake.requests();
    assert_eq!(requests[0].header("secret"), Some(fake.env()[1].1.as_str()));
    assert_eq!(
        requests[0].query.get("api-version").map(String::as_str),
        Some("2017-09-01")
    );
    assert_eq!(
        requests[1].query.get("clientid").map(String::as_str),
        Some(USER_CLIENT)
    );
}

#[tokio::test]
async fn cloud_shell_posts_the_resource() {
    let fake = fake(MiSource::CloudShell).await;
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer).build();
    assert_eq!(credential.describe().source, Some(SourceKind::CloudShell));
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    let request = &fake.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.form_value("resource"), Some(RESOURCE));
    assert_eq!(request.header("metadata"), Some("true"));
}

#[tokio::test]
async fn service_fabric_over_https_pinned_to_the_thumbprint() {
    let fake = fake(MiSource::ServiceFabric).await;
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer).build();
    assert_eq!(credential.describe().source, Some(SourceKind::ServiceFabric));
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token from the pinned self-signed endpoint");
    assert_eq!(fake.issued_tokens(), [token.secret()]);
    let request = &fake.requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.query.get("api-version").map(String::as_str),
        Some("2019-07-01-preview")
    );
    assert_eq!(request.query.get("resource").map(String::as_str), Some(RESOURCE));
    let secret = &fake.env()[1].1;
    assert_eq!(request.header("secret"), Some(secret.as_str()));
}

#[tokio::test]
async fn service_fabric_refuses_a_certificate_with_another_thumbprint() {
    let fake = fake(MiSource::ServiceFabric).await;
    let timer = FakeTimer::new();
    let mut env = fake.env();
    env[2].1 = "00".repeat(20);
    let credential = builder_with(env, MemoryFileSystem::new(), &timer).build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(
        err.message().contains("does not have the pinned thumbprint"),
        "{err}"
    );
    assert!(fake.requests().is_empty(), "nothing was sent to the impostor");
    assert!(timer.sleeps().is_empty(), "a refused certificate is not retried");
    assert!(!err.to_string().contains(&fake.env()[1].1), "no header secret");
}

#[tokio::test]
async fn service_fabric_with_a_malformed_thumbprint_is_invalid_input() {
    let timer = FakeTimer::new();
    let env = [
        (
            "IDENTITY_ENDPOINT",
            "https://127.0.0.1:2377/metadata/identity/oauth2/token",
        ),
        ("IDENTITY_HEADER", "sf-secret"),
        ("IDENTITY_SERVER_THUMBPRINT", "0123456789ABCDEF"),
    ];
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let credential = builder_with(env, MemoryFileSystem::new(), &timer).build();
    assert_eq!(credential.describe().source, Some(SourceKind::ServiceFabric));
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("`IDENTITY_SERVER_THUMBPRINT`"), "{err}");
    assert!(err.message().contains("40 (SHA-1) or 64 (SHA-256)"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cold_callers_through_the_cache_make_one_request() {
    let fake = fake(MiSource::Imds).await;
    let cache = std::sync::Arc::new(credchain::TokenCache::new(
        builder(&fake, &FakeTimer::new()).build(),
    ));
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = std::sync::Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .get_token(&[SCOPE], &TokenRequestOptions::new())
                    .await
                    .map(|t| t.secret().to_owned())
            })
        })
        .collect();
    let tokens: Vec<String> = futures::future::join_all(callers)
        .await
        .into_iter()
        .map(|joined| joined.expect("task").expect("token"))
        .collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(fake.requests().len(), 1, "one request for 1,000 cold callers");
}
