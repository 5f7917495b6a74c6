//! Interop with the official Rust SDK: `azure_identity::ManagedIdentityCredential` (1.x) and
//! credchain's provider ask the same `FakeManagedIdentity`, for a system-assigned and a
//! user-assigned identity, and must get the token the fake issued with the same expiry.
//!
//! The official crate reads the process environment (`managed_identity_credential.rs`
//! `get_source`, `Env::default()` outside its own tests), so it runs in a child process: this
//! test binary again, running only [`official_client_in_child`] with the variables set.
//!
//! Sources the official crate can be pointed at:
//! * App Service: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, honoured as is.
//! * IMDS: its endpoint is the constant `ENDPOINT` (`http://169.254.169.254/…`) in
//!   `virtual_machine_managed_identity_credential.rs` with no override variable (it does not read
//!   `AZURE_POD_IDENTITY_AUTHORITY_HOST`), so the child gives it an SDK transport that rewrites
//!   only the scheme and authority `http://169.254.169.254` to the fake's; the path, query and
//!   headers are the official crate's own.
//! * Azure Arc, Azure ML, Cloud Shell and Service Fabric: the official crate refuses them
//!   (`ManagedIdentityCredential::new`: "{source} managed identity isn't supported"), so there is
//!   nothing to compare.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azure_core::http::{AsyncRawResponse, ClientOptions, HttpClient, Request, Transport, Url};
use azure_identity::{ManagedIdentityCredential as OfficialCredential, ManagedIdentityCredentialOptions};
use credchain_core::{TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeManagedIdentity, MiSource};
use credchain_managed_identity::FakeTimer;

use crate::common::{SCOPE, builder};

/// Set in the child: which source the official crate is run against (`imds`, `app_service`).
const CHILD_SOURCE: &str = "CREDCHAIN_MI_INTEROP_SOURCE";
/// Set in the child for IMDS: the fake's base URL that `http://169.254.169.254` is rewritten to.
const CHILD_IMDS_BASE: &str = "CREDCHAIN_MI_INTEROP_IMDS_BASE";
/// Set in the child for a user-assigned identity: its client id.
const CHILD_CLIENT_ID: &str = "CREDCHAIN_MI_INTEROP_CLIENT_ID";
/// The child prints its result after this marker.
const RESULT_MARKER: &str = "OFFICIAL-MI-RESULT ";
/// The official IMDS address, fixed in `virtual_machine_managed_identity_credential.rs`.
const OFFICIAL_IMDS: &str = "http://169.254.169.254";
/// Every variable either crate's source detection reads, removed from the child's environment.
const SOURCE_VARIABLES: &[&str] = &[
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
];

const USER_CLIENT_ID: &str = "0b7c2b9e-6f7a-4c55-9b1e-3d1f6c0a7e21";
const USER_OBJECT_ID: &str = "6a3e9f1d-2b4c-4d8e-a1f0-9c8b7a6d5e4f";
const USER_RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/interop";

/// An SDK transport over reqwest (rustls on `ring`, no proxy) that sends requests for
/// `http://169.254.169.254` to `imds_base` instead, unchanged otherwise.
#[derive(Debug)]
struct ToFake {
    client: reqwest::Client,
    imds_base: Option<String>,
}

#[async_trait::async_trait]
impl HttpClient for ToFake {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut request = request.clone();
        if let Some(base) = &self.imds_base
            && let Some(rest) = request.url().as_str().strip_prefix(OFFICIAL_IMDS)
        {
            let url = format!("{base}{rest}");
            *request.url_mut() = Url::parse(&url)?;
        }
        self.client.execute_request(&request).await
    }
}

fn transport(imds_base: Option<String>) -> Transport {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client");
    Transport::new(Arc::new(ToFake { client, imds_base }))
}

/// The official client's half, in a child process started by [`official_token`]. Prints
/// `RESULT_MARKER {"token":…,"expires_on":…}`. Does nothing when run by hand.
#[tokio::test]
#[ignore = "runs in a child process started by the official_* interop tests"]
async fn official_client_in_child() {
    let Ok(source) = std::env::var(CHILD_SOURCE) else {
        return;
    };
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: std::env::var(CHILD_CLIENT_ID)
            .ok()
            .map(azure_identity::UserAssignedId::ClientId),
        client_options: ClientOptions {
            transport: Some(transport(std::env::var(CHILD_IMDS_BASE).ok())),
            ..ClientOptions::default()
        },
    };
    let credential = OfficialCredential::new(Some(options)).expect("official credential");
    let token = azure_core::credentials::TokenCredential::get_token(&*credential, &[SCOPE], None)
        .await
        .unwrap_or_else(|e| panic!("official {source} get_token: {e}"));
    let result = serde_json::json!({
        "token": token.token.secret(),
        "expires_on": token.expires_on.unix_timestamp(),
    });
    println!("{RESULT_MARKER}{result}");
}

/// Runs the official client against `fake` in a child process: its token and expiry (Unix s).
async fn official_token(fake: &FakeManagedIdentity, client_id: Option<&str>) -> (String, i64) {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args([
        "official_interop::official_client_in_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for name in SOURCE_VARIABLES {
        command.env_remove(name);
    }
    let source = match fake.env().first().map(|(k, _)| k.as_str()) {
        Some("IDENTITY_ENDPOINT") => "app_service",
        _ => {
            command.env(CHILD_IMDS_BASE, fake.base_url());
            "imds"
        }
    };
    if source == "app_service" {
        command.envs(fake.env());
    }
    command.env(CHILD_SOURCE, source);
    if let Some(id) = client_id {
        command.env(CHILD_CLIENT_ID, id);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(RESULT_MARKER).map(|(_, result)| result))
        .unwrap_or_else(|| {
            panic!(
                "the child printed no result; stdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let json: serde_json::Value = serde_json::from_str(line).expect("child result is JSON");
    (
        json["token"].as_str().expect("token").to_owned(),
        json["expires_on"].as_i64().expect("expires_on"),
    )
}

/// Runs both clients against one fake of `source` and compares what they got.
async fn both_get_the_same_answer(source: MiSource, user_assigned: bool) {
    // A frozen clock in the fake: both answers carry the same `expires_on`.
    let issued_at = SystemTime::now();
    let mut fake = FakeManagedIdentity::builder(source).fixed_time(issued_at);
    if user_assigned {
        fake = fake
            .user_assigned(USER_CLIENT_ID, USER_OBJECT_ID, USER_RESOURCE_ID)
            .no_system_assigned();
    }
    let fake = fake.start().await.expect("fake");
    let client_id = user_assigned.then_some(USER_CLIENT_ID);

    let mut ours = builder(&fake, &FakeTimer::new());
    if let Some(id) = client_id {
        ours = ours.client_id(id);
    }
    let ours = ours
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("credchain token");
    let (official, official_expires_on) = official_token(&fake, client_id).await;

    let issued = fake.issued_tokens();
    assert_eq!(issued.len(), 2, "one token for each client: {issued:?}");
    assert_eq!(ours.secret(), issued[0], "credchain got the fake's token");
    assert_eq!(official, issued[1], "the official crate got the fake's token");
    let ours_expires_on = ours
        .expires_on()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let expected = issued_at
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 3600;
    assert_eq!(ours_expires_on, expected, "credchain's expiry");
    assert_eq!(
        i64::try_from(ours_expires_on).expect("fits"),
        official_expires_on,
        "both clients read the same expiry"
    );

    // Both asked for the same resource and identity, each in its own protocol version.
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for request in &requests {
        assert_eq!(
            request.query.get("resource").map(String::as_str),
            Some("https://management.azure.com")
        );
        assert_eq!(request.query.get("client_id").map(String::as_str), client_id);
    }
}

#[tokio::test]
async fn official_and_credchain_agree_app_service_system_assigned() {
    both_get_the_same_answer(MiSource::AppService, false).await;
}

#[tokio::test]
async fn official_and_credchain_agree_app_service_user_assigned() {
    both_get_the_same_answer(MiSource::AppService, true).await;
}

#[tokio::test]
async fn official_and_credchain_agree_imds_system_assigned() {
    both_get_the_same_answer(MiSource::Imds, false).await;
}

#[tokio::test]
async fn official_and_credchain_agree_imds_user_assigned() {
    both_get_the_same_answer(MiSource::Imds, true).await;
}
