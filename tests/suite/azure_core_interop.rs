//! The official Azure SDK for Rust with credchain credentials, end to end over loopback HTTPS:
//!
//! * a real SDK client (`azure_security_keyvault_secrets::SecretClient`) authenticated by
//!   credchain's `DefaultCredential` (environment provider → fake Entra) sends
//!   `Authorization: Bearer <our token>` to a fake Key Vault that records it;
//! * credchain errors reach SDK callers with their text and kind;
//! * an official `azure_identity` credential works as a provider inside a credchain chain.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use azure_core::http::{ClientOptions, Transport};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use credchain::azure_core_interop::{AzureCoreCredential, FromAzureCore, find_credchain_error};
use credchain::{ChainedCredential, DefaultCredential, Env, ErrorKind, TokenRequestOptions};
use credchain_fake_entra::{FakeEntra, decode_jwt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use parking_lot::Mutex;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const TENANT: &str = "7f5c0f84-7e52-4f0a-9a57-7d1c1b0e3a11";
const CLIENT_ID: &str = "5d1f7e38-2c1a-4e0b-8a3c-0f1e2d3c4b5a";
const CLIENT_SECRET: &str = "correct-horse-battery-staple";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";

fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// One request the fake vault received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path_and_query: String,
    authorization: Option<String>,
}

/// A fake Key Vault: `GET /secrets/{name}` answers 401 with a Bearer challenge without a token,
/// and the secret with one. It records every request.
struct FakeVault {
    url: String,
    cert: CertificateDer<'static>,
    seen: Arc<Mutex<Vec<Seen>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeVault {
    async fn start(challenge_authority: String) -> FakeVault {
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = key.cert.der().clone();
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(crypto())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], private)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://127.0.0.1:{}/", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let server_seen = seen.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, seen, authority) =
                    (acceptor.clone(), server_seen.clone(), challenge_authority.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (seen, authority) = (seen.clone(), authority.clone());
                        async move { Ok::<_, Infallible>(vault_answer(&req, &seen, &authority)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeVault {
            url,
            cert,
            seen,
            _server: server,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }
}

fn vault_answer(req: &Request<Incoming>, seen: &Mutex<Vec<Seen>>, authority: &str) -> Response<Full<Bytes>> {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    seen.lock().push(Seen {
        method: req.method().to_string(),
        path_and_query: path_and_query.clone(),
        authorization: authorization.clone(),
    });
    // `GET /secrets/{name}/{version}`; the version is empty for "latest".
    let Some(name) = req
        .uri()
        .path()
        .strip_prefix("/secrets/")
        .map(|n| n.trim_end_matches('/'))
    else {
        return Response::builder().status(404).body(Full::default()).unwrap();
    };
    if authorization.is_none_or(|a| !a.starts_with("Bearer ")) {
        let challenge =
            format!(r#"Bearer authorization="{authority}/{TENANT}", resource="https://vault.azure.net""#);
        return Response::builder()
            .status(401)
            .header("www-authenticate", challenge)
            .body(Full::default())
            .unwrap();
    }
    let body = serde_json::json!({
        "value": format!("value-of-{name}"),
        "id": format!("https://myvault.vault.azure.net/secrets/{name}/0123456789abcdef"),
        "attributes": {"enabled": true, "created": 1_767_225_600, "updated": 1_767_225_600},
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// A reqwest client (rustls on `ring`, no proxy) trusting exactly `roots`, as an SDK transport.
fn transport(roots: &[CertificateDer<'static>]) -> Transport {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(crypto())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    Transport::new(Arc::new(client))
}

fn secret_client(
    vault: &FakeVault,
    credential: Arc<dyn azure_core::credentials::TokenCredential>,
) -> SecretClient {
    let options = SecretClientOptions {
        client_options: ClientOptions {
            transport: Some(transport(std::slice::from_ref(&vault.cert))),
            ..ClientOptions::default()
        },
        // The challenge names vault.azure.net; the fake vault lives on 127.0.0.1.
        verify_challenge_resource: Some(false),
        ..SecretClientOptions::default()
    };
    SecretClient::new(&vault.url, credential, Some(options)).unwrap()
}

/// The environment a service principal in CI would have, pointed at the fake Entra.
fn env_for(entra: &FakeEntra, secret: &str) -> Env {
    Env::from_pairs([
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("AZURE_CLIENT_SECRET", secret.to_owned()),
        ("AZURE_AUTHORITY_HOST", entra.authority()),
        ("SSL_CERT_FILE", entra.ca_pem_path().display().to_string()),
    ])
}

async fn entra() -> FakeEntra {
    FakeEntra::builder()
        .client_secret(TENANT, CLIENT_ID, CLIENT_SECRET)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_vault_client_sends_the_token_from_our_default_credential() {
    let entra = entra().await;
    let vault = FakeVault::start(entra.authority()).await;
    let default = DefaultCredential::builder()
        .env(env_for(&entra, CLIENT_SECRET))
        .build()
        .unwrap();
    let client = secret_client(&vault, AzureCoreCredential::shared(default));

    let secret = client
        .get_secret("db-password", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(secret.value.as_deref(), Some("value-of-db-password"));

    // The client first asked without a token, got the challenge, then sent ours.
    let seen = vault.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert!(
        seen[0]
            .path_and_query
            .starts_with("/secrets/db-password/?api-version="),
        "{seen:?}"
    );
    assert_eq!(seen[0].authorization, None);
    let issued = entra.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(
        seen[1].authorization.as_deref(),
        Some(format!("Bearer {}", issued[0]).as_str())
    );

    // The token is the one our environment provider got for the challenge's resource.
    let claims = decode_jwt(&issued[0]).unwrap().claims;
    assert_eq!(claims["aud"], "https://vault.azure.net");
    assert_eq!(claims["appid"], CLIENT_ID);
    assert_eq!(claims["tid"], TENANT);
    let token_request = entra
        .requests()
        .into_iter()
        .find(|r| r.is_token_request())
        .unwrap();
    assert_eq!(token_request.form_value("scope"), Some(VAULT_SCOPE));
    assert_eq!(token_request.tenant(), Some(TENANT));

    // A second call reuses the token: no new token request, same header.
    client.get_secret("api-key", None).await.unwrap();
    assert_eq!(entra.token_request_count(), 1);
    let seen = vault.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[2].authorization, seen[1].authorization);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_callers_see_our_error_text_and_kind_without_the_secret() {
    let entra = entra().await;
    let vault = FakeVault::start(entra.authority()).await;
    let default = DefaultCredential::builder()
        .env(env_for(&entra, "wrong-secret-value"))
        .build()
        .unwrap();
    let client = secret_client(&vault, AzureCoreCredential::shared(default));

    let err = client.get_secret("db-password", None).await.unwrap_err();
    assert!(
        matches!(err.kind(), azure_core::error::ErrorKind::Credential),
        "{err:?}"
    );
    // The SDK's retry policy wraps the credential's error; ours is in the source chain, whole.
    let mut text = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        text.push_str(&format!("{e}\n"));
        source = e.source();
    }
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("EnvironmentCredential"), "{text}");
    assert!(!text.contains("wrong-secret-value") && !format!("{err:?}").contains("wrong-secret-value"));
    let ours = find_credchain_error(&err).expect("the credchain error is in the sources");
    assert_eq!(ours.kind(), ErrorKind::AuthenticationFailed);
    assert!(
        ours.attempts()
            .iter()
            .any(|a| a.provider() == "EnvironmentCredential"),
        "{ours}"
    );

    // No request carried a token.
    assert!(vault.seen().iter().all(|s| s.authorization.is_none()));
}

/// The official `ClientSecretCredential`, pointed at the fake Entra and trusting its CA.
fn official_client_secret(
    entra: &FakeEntra,
    secret: &str,
) -> Arc<dyn azure_core::credentials::TokenCredential> {
    let ca = CertificateDer::from_pem_slice(entra.ca_pem().as_bytes()).unwrap();
    let mut cloud = azure_core::cloud::CustomConfiguration::default();
    cloud.authority_host = entra.authority();
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: ClientOptions {
            transport: Some(transport(&[ca])),
            cloud: Some(Arc::new(cloud.into())),
            ..ClientOptions::default()
        },
    };
    azure_identity::ClientSecretCredential::new(
        TENANT,
        CLIENT_ID.to_owned(),
        secret.to_owned().into(),
        Some(options),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_credential_works_inside_our_chain() {
    let entra = entra().await;
    let official = FromAzureCore::new(
        "OfficialClientSecret",
        official_client_secret(&entra, CLIENT_SECRET),
    )
    .with_home_tenant(TENANT);
    let chain = Arc::new(ChainedCredential::builder().provider(official).build().unwrap());

    // 50 concurrent callers: our middleware single-flights them into one request.
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { chain.get_token(&[VAULT_SCOPE], &TokenRequestOptions::new()).await })
        })
        .collect();
    let mut secrets = Vec::new();
    for caller in callers {
        secrets.push(caller.await.unwrap().unwrap().secret().to_owned());
    }
    assert_eq!(entra.token_request_count(), 1);
    let issued = entra.issued_tokens();
    assert!(secrets.iter().all(|s| *s == issued[0]));

    // The home tenant may be asked for by name; another tenant cannot be served.
    let home = TokenRequestOptions::new().with_tenant_id(TENANT);
    assert!(chain.get_token(&[VAULT_SCOPE], &home).await.is_ok());
    let other = TokenRequestOptions::new().with_tenant_id("other-tenant");
    let err = chain.get_token(&[VAULT_SCOPE], &other).await.unwrap_err();
    assert_ne!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(entra.token_request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_credentials_refusal_stops_the_chain_with_its_text() {
    let entra = entra().await;
    let official = FromAzureCore::new(
        "OfficialClientSecret",
        official_client_secret(&entra, "wrong-secret-value"),
    );
    let chain = ChainedCredential::builder().provider(official).build().unwrap();
    let err = chain
        .get_token(&[VAULT_SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    let attempt = &err.attempts()[0];
    assert_eq!(attempt.provider(), "OfficialClientSecret");
    assert_eq!(attempt.error().kind(), ErrorKind::AuthenticationFailed);
    assert!(attempt.error().message().contains("AADSTS7000215"), "{err}");
    assert!(!err.to_string().contains("wrong-secret-value"));
}
