//! VsCodeCredential against the shared fake Microsoft Entra endpoint (HTTPS on 127.0.0.1), with
//! the refresh token in an in-memory secret store.

use crate::common;

use common::{ARM, GRAPH, Setup, VSCODE_RT};
use credchain_core::{Env, ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_entra::{EntraClient, EntraClientBuilder};
use credchain_vscode::{
    KEYRING_SERVICE, MemorySecretStore, SettingSource, VSCODE_CLIENT_ID, VsCodeCredential,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeems_the_stored_refresh_token_with_vs_codes_client_id() {
    let setup = Setup::new().await;
    let credential = setup.credential();
    let token = credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("token");

    assert_eq!(setup.fake.issued_tokens(), vec![token.secret().to_owned()]);
    let requests = setup.token_requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/organizations/oauth2/v2.0/token");
    assert_eq!(request.form_value("grant_type"), Some("refresh_token"));
    assert_eq!(request.form_value("refresh_token"), Some(VSCODE_RT));
    assert_eq!(request.form_value("client_id"), Some(VSCODE_CLIENT_ID));
    assert_eq!(request.form_value("scope"), Some(ARM));
    assert!(token.expires_on() > std::time::SystemTime::now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uses_the_rotated_refresh_token_from_then_on() {
    let setup = Setup::new().await;
    let credential = setup.credential();
    credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("first");
    credential
        .get_token(&[GRAPH], &TokenRequestOptions::default())
        .await
        .expect("second");
    credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("third");

    let sent: Vec<String> = setup
        .token_requests()
        .iter()
        .map(|r| r.form_value("refresh_token").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0], VSCODE_RT);
    assert_ne!(sent[1], VSCODE_RT, "the rotated token replaces the stored one");
    assert_ne!(sent[2], sent[1], "each rotation is used in turn");
    assert_eq!(setup.store.lookups(), 1, "the store is read once");
    assert_eq!(
        setup.store.find_password_value(),
        Some(VSCODE_RT.to_owned()),
        "never written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_comes_from_settings_then_the_request() {
    let setup = Setup::new().await;
    setup.settings("{\n  // chosen in VS Code\n  \"azure.tenant\": \"tenant-one\",\n}\n");
    let credential = setup.credential();
    assert_eq!(credential.home_tenant(), Some("tenant-one"));
    credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("home tenant");
    credential
        .get_token(&[ARM], &TokenRequestOptions::new().with_tenant_id("tenant-two"))
        .await
        .expect("requested tenant");
    let paths: Vec<String> = setup.token_requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/tenant-one/oauth2/v2.0/token", "/tenant-two/oauth2/v2.0/token"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_host_variable_is_used_when_no_option_is_given() {
    let setup = Setup::new().await;
    setup.settings(r#"{"azure.cloud": "AzureChinaCloud"}"#);
    setup.store.insert(KEYRING_SERVICE, "AzureChinaCloud", VSCODE_RT);
    let credential = VsCodeCredential::builder()
        .env(setup.env(&[("AZURE_AUTHORITY_HOST", &setup.fake.authority())]))
        .secret_store(setup.store.clone())
        .build()
        .expect("build");
    assert_eq!(
        credential.describe().authority_source,
        Some(SettingSource::Environment)
    );
    credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("token");
    assert_eq!(setup.fake.token_request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_refresh_token_is_an_authentication_failure_without_the_token() {
    let setup = Setup::new().await;
    setup
        .store
        .insert(KEYRING_SERVICE, "AzureCloud", "revoked-refresh-token");
    let credential = setup.credential();
    let e = credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    assert!(e.message().contains("AADSTS70000"), "{e}");
    assert!(e.message().contains("sign in to Azure in VS Code again"), "{e}");
    for shown in [e.to_string(), format!("{e:?}"), format!("{credential:?}")] {
        assert!(!shown.contains("revoked-refresh-token"), "{shown}");
    }

    // After signing in again, the new token in the store is read and used.
    setup.store.insert(KEYRING_SERVICE, "AzureCloud", VSCODE_RT);
    credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("after sign-in");
    assert_eq!(setup.store.lookups(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tenant_is_reported_with_its_code() {
    let setup = Setup::new().await;
    let credential = setup.credential();
    let e = credential
        .get_token(
            &[ARM],
            &TokenRequestOptions::new().with_tenant_id("unknown-tenant"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    assert!(e.message().contains("AADSTS90002"), "{e}");
    // An unknown tenant says nothing about the saved sign-in: the refresh token is kept.
    assert!(!e.message().contains("saved sign-in was refused"), "{e}");
    credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("the home tenant still works");
    assert_eq!(setup.store.lookups(), 1, "the refresh token was kept in memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_after_retries_are_transient() {
    let setup = Setup::new().await;
    setup.fake.fail_next(10, 503, None);
    let credential = VsCodeCredential::builder()
        .env(setup.env(&[]))
        .authority(setup.fake.authority())
        .secret_store(setup.store.clone())
        .entra_client_builder(
            EntraClientBuilder::default()
                .max_retries(1)
                .retry_delay(std::time::Duration::ZERO),
        )
        .build()
        .expect("build");
    let e = credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert_eq!(setup.fake.token_request_count(), 2, "one try and one retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entra_client_override_brings_its_own_authority() {
    let setup = Setup::new().await;
    // VS Code points at the China cloud; the client's authority wins.
    setup.settings(r#"{"azure.cloud": "AzureChinaCloud"}"#);
    setup.store.insert(KEYRING_SERVICE, "AzureChinaCloud", VSCODE_RT);
    let client = EntraClient::builder()
        .env(Env::empty())
        .authority(setup.fake.authority().parse().expect("authority"))
        .add_root_certificate_pem(setup.fake.ca_pem().as_bytes())
        .build()
        .expect("client");
    let credential = VsCodeCredential::builder()
        .env(Env::from_pairs([(
            "HOME",
            setup.home.path().display().to_string(),
        )]))
        .settings_path(setup.home.path().join(".config/Code/User/settings.json"))
        .secret_store(setup.store.clone())
        .entra_client(client)
        .build()
        .expect("build");
    let setup_view = credential.describe();
    assert_eq!(setup_view.authority_source, Some(SettingSource::Client));
    assert_eq!(
        setup_view.authority.as_deref(),
        Some(setup.fake.authority().as_str())
    );
    assert_eq!(credential.cloud(), "AzureChinaCloud");
    credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("token");
    assert_eq!(setup.fake.token_request_count(), 1);
}

/// Reads back what the store holds, to prove the credential never writes to it.
trait ReadBack {
    fn find_password_value(&self) -> Option<String>;
}

impl ReadBack for MemorySecretStore {
    fn find_password_value(&self) -> Option<String> {
        use credchain_vscode::SecretStore;
        self.find_password(KEYRING_SERVICE, "AzureCloud")
            .ok()
            .flatten()
            .map(|s| s.expose().to_owned())
    }
}
