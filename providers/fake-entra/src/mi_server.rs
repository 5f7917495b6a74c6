//! [`FakeManagedIdentity`]: a managed identity endpoint of any source over plain HTTP on
//! loopback, with scripted failures and delays; and [`SilentListener`], which accepts
//! connections and never answers (a firewalled IMDS).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as Body;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::cert::TestCertificate;
use crate::mi_protocol::{self, Identity, MiConfig, MiSource};
use crate::record::{RecordedRequest, parse_urlencoded};
use crate::reply::Reply;
use crate::state::Incoming;
use crate::time_fmt::unix_secs;

/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// A scripted answer that replaces the next normal one.
#[derive(Clone, Debug)]
struct Scripted {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Shared {
    requests: Vec<RecordedRequest>,
    script: VecDeque<Scripted>,
    delays: VecDeque<Duration>,
    issued: Vec<String>,
}

#[derive(Debug)]
struct MiState {
    config: MiConfig,
    shared: Mutex<Shared>,
}

impl MiState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fake managed identity endpoint (IMDS, App Service, Azure Arc, Azure ML, Cloud Shell or
/// Service Fabric) serving plain HTTP on `127.0.0.1` at a random port, as the real ones do on
/// their machines; Service Fabric serves HTTPS with a fresh self-signed certificate, whose
/// SHA-1 thumbprint [`env`](Self::env) gives as `IDENTITY_SERVER_THUMBPRINT`. It stops when
/// dropped.
///
/// It checks what the real source checks and answers with the real source's error shapes:
///
/// | request | answer |
/// |---|---|
/// | IMDS / Arc / Cloud Shell without `Metadata: true` | 400 `{"error":"invalid_request","error_description":"Required metadata header not specified"}` |
/// | App Service without the right `X-IDENTITY-HEADER`, Azure ML without the right `secret` | 401 `{"statusCode":401,"message":…}` (shape of App Service errors; the text is this fake's) |
/// | Service Fabric without the right `Secret` | 401 `{"error":{"code":"SecretHeaderNotFound",…}}` |
/// | Arc without `Authorization` | 401 with `WWW-Authenticate: Basic realm=<key file path>` ([`arc_key_path`](Self::arc_key_path)) |
/// | Arc with the wrong key | 401 |
/// | missing or other `api-version` than the client libraries send (IMDS: `2018-02-01` or `2019-08-01`) | 400 |
/// | no `resource` | 400 `Required query variable 'resource' is missing` |
/// | an unknown user-assigned id, or none and no system-assigned identity | IMDS/Arc: 400 `Identity not found`; App Service/Azure ML: 400 `Unable to load the proper Managed Identity.` |
/// | otherwise | 200 with the source's token fields (`expires_on` etc. as strings; IMDS and App Service echo `client_id`) |
///
/// Tokens are opaque random strings (`fake-mi-…`); see [`issued_tokens`](Self::issued_tokens).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use credchain_fake_entra::{FakeManagedIdentity, MiSource};
/// let fake = FakeManagedIdentity::builder(MiSource::AppService).start().await?;
/// let env = fake.env(); // IDENTITY_ENDPOINT and IDENTITY_HEADER for the client under test
/// assert_eq!(env[0].0, "IDENTITY_ENDPOINT");
/// fake.fail_next(2, 503, Some(1)); // two 503s with `Retry-After: 1`, then tokens
/// # Ok(())
/// # }
/// ```
pub struct FakeManagedIdentity {
    state: Arc<MiState>,
    base: String,
    task: JoinHandle<()>,
    /// Service Fabric: the self-signed certificate served.
    certificate: Option<TestCertificate>,
}

impl std::fmt::Debug for FakeManagedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeManagedIdentity")
            .field("source", &self.state.config.source)
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

/// Configures a [`FakeManagedIdentity`].
#[derive(Debug, Clone)]
pub struct FakeManagedIdentityBuilder {
    config: MiConfig,
}

fn random_identity(name: &str) -> Identity {
    let client_id = uuid::Uuid::new_v4().to_string();
    Identity {
        object_id: uuid::Uuid::new_v4().to_string(),
        resource_id: format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        ),
        client_id,
    }
}

impl FakeManagedIdentityBuilder {
    /// The secret header value (App Service's `IDENTITY_HEADER`, Azure ML's `MSI_SECRET`);
    /// random by default.
    #[must_use]
    pub fn secret(mut self, secret: &str) -> Self {
        self.config.secret = secret.to_owned();
        self
    }

    /// Adds a user-assigned identity (IMDS, App Service; Azure ML by client id).
    #[must_use]
    pub fn user_assigned(mut self, client_id: &str, object_id: &str, resource_id: &str) -> Self {
        self.config.user_assigned.push(Identity {
            client_id: client_id.to_owned(),
            object_id: object_id.to_owned(),
            resource_id: resource_id.to_owned(),
        });
        self
    }

    /// Sets the system-assigned identity's client id (a random one exists by default).
    #[must_use]
    pub fn system_assigned(mut self, client_id: &str) -> Self {
        let mut identity = random_identity("system");
        identity.client_id = client_id.to_owned();
        self.config.system = Some(identity);
        self
    }

    /// Removes the system-assigned identity: requests without a user-assigned id fail as the
    /// real source fails when none is assigned.
    #[must_use]
    pub fn no_system_assigned(mut self) -> Self {
        self.config.system = None;
        self
    }

    /// `expires_in` of issued tokens (default one hour).
    #[must_use]
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// Answers as if the time were always `at`: every token's `expires_on` is `at` plus the
    /// lifetime, so clients asking at different moments get the same expiry (e.g. to compare
    /// two client libraries). Default: the real clock.
    #[must_use]
    pub fn fixed_time(mut self, at: SystemTime) -> Self {
        self.config.fixed_now = Some(unix_secs(at));
        self
    }

    /// Starts serving on `127.0.0.1` at a random port.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start(self) -> std::io::Result<FakeManagedIdentity> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (base, certificate, acceptor) = if self.config.source == MiSource::ServiceFabric {
            let certificate = TestCertificate::generate("service-fabric-managed-identity");
            let acceptor = self_signed_acceptor(&certificate)?;
            (
                format!("https://127.0.0.1:{port}"),
                Some(certificate),
                Some(acceptor),
            )
        } else {
            (format!("http://127.0.0.1:{port}"), None, None)
        };
        let state = Arc::new(MiState {
            config: self.config,
            shared: Mutex::default(),
        });
        let task = tokio::spawn(serve(listener, acceptor, Arc::clone(&state)));
        Ok(FakeManagedIdentity {
            state,
            base,
            task,
            certificate,
        })
    }
}

impl FakeManagedIdentity {
    /// Starts configuring a fake of `source`: one system-assigned identity, a random secret and
    /// Arc key.
    pub fn builder(source: MiSource) -> FakeManagedIdentityBuilder {
        let key = uuid::Uuid::new_v4().simple().to_string();
        FakeManagedIdentityBuilder {
            config: MiConfig {
                source,
                secret: format!("fake-mi-secret-{}", uuid::Uuid::new_v4().simple()),
                system: Some(random_identity("system")),
                user_assigned: Vec::new(),
                arc_key_path: format!("/var/opt/azcmagent/tokens/{key}.key"),
                arc_key: format!("fake-arc-key-{}", uuid::Uuid::new_v4().simple()),
                token_lifetime: Duration::from_secs(3600),
                fixed_now: None,
            },
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` for Service Fabric).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Service Fabric: the self-signed certificate the fake serves (its
    /// [`thumbprint_hex`](TestCertificate::thumbprint_hex) is `IDENTITY_SERVER_THUMBPRINT`).
    pub fn server_certificate(&self) -> Option<&TestCertificate> {
        self.certificate.as_ref()
    }

    /// The token endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("{}{}", self.base, self.state.config.source.path())
    }

    /// The variables a client on this source sees (for IMDS: `AZURE_POD_IDENTITY_AUTHORITY_HOST`
    /// pointing at this fake, as in AKS pod identity).
    pub fn env(&self) -> Vec<(String, String)> {
        let pair = |k: &str, v: String| (k.to_owned(), v);
        let secret = self.state.config.secret.clone();
        match self.state.config.source {
            MiSource::Imds => vec![pair("AZURE_POD_IDENTITY_AUTHORITY_HOST", self.base.clone())],
            MiSource::AppService => {
                vec![
                    pair("IDENTITY_ENDPOINT", self.endpoint()),
                    pair("IDENTITY_HEADER", secret),
                ]
            }
            MiSource::AzureArc => {
                vec![
                    pair("IDENTITY_ENDPOINT", self.endpoint()),
                    pair("IMDS_ENDPOINT", self.base.clone()),
                ]
            }
            MiSource::AzureMl => vec![pair("MSI_ENDPOINT", self.endpoint()), pair("MSI_SECRET", secret)],
            MiSource::CloudShell => vec![pair("MSI_ENDPOINT", self.endpoint())],
            MiSource::ServiceFabric => vec![
                pair("IDENTITY_ENDPOINT", self.endpoint()),
                pair("IDENTITY_HEADER", secret),
                pair(
                    "IDENTITY_SERVER_THUMBPRINT",
                    self.certificate
                        .as_ref()
                        .map(TestCertificate::thumbprint_hex)
                        .unwrap_or_default(),
                ),
            ],
        }
    }

    /// The system-assigned identity's client id, if it has one.
    pub fn system_client_id(&self) -> Option<&str> {
        self.state.config.system.as_ref().map(|i| i.client_id.as_str())
    }

    /// Arc: the key file path the challenge names.
    pub fn arc_key_path(&self) -> &str {
        &self.state.config.arc_key_path
    }

    /// Arc: the key the file must hold (put it at [`arc_key_path`](Self::arc_key_path) in the
    /// client's file system).
    pub fn arc_key(&self) -> &str {
        &self.state.config.arc_key
    }

    /// Answers the next `n` requests with `status`, a body in the source's error shape and, when
    /// given, `Retry-After: {secs}`, before checking anything. Adds to earlier scripts.
    pub fn fail_next(&self, n: usize, status: u16, retry_after_secs: Option<u64>) {
        let body = serde_json::json!({"error": "scripted_failure", "error_description": format!("scripted {status}")})
            .to_string();
        let headers = retry_after_secs
            .map(|s| vec![("Retry-After".to_owned(), s.to_string())])
            .unwrap_or_default();
        for _ in 0..n {
            self.reply_next(status, &body, &headers);
        }
    }

    /// Answers the next request with exactly this status, body and headers (e.g. a 2xx that is
    /// not JSON, or a 403 from Docker Desktop). Adds to earlier scripts.
    pub fn reply_next(&self, status: u16, body: &str, headers: &[(String, String)]) {
        self.state.lock().script.push_back(Scripted {
            status,
            body: body.to_owned(),
            headers: headers.to_vec(),
        });
    }

    /// Waits `delay` before answering each of the next `n` requests.
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.state.lock().delays.extend(std::iter::repeat_n(delay, n));
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.clone()
    }

    /// Tokens handed out so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.lock().issued.clone()
    }
}

impl Drop for FakeManagedIdentity {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TLS acceptor serving `certificate` alone (self-signed, as Service Fabric's endpoint).
fn self_signed_acceptor(certificate: &TestCertificate) -> std::io::Result<TlsAcceptor> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certificate.key_der().to_vec()));
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(certificate.cert_der().to_vec())], key)
            .map_err(std::io::Error::other)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn serve(listener: TcpListener, acceptor: Option<TlsAcceptor>, state: Arc<MiState>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let state = Arc::clone(&state);
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(Arc::clone(&state), req));
                    let http = hyper::server::conn::http1::Builder::new();
                    let _ = match acceptor {
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(tcp).await else { return };
                            http.serve_connection(TokioIo::new(tls), service).await
                        }
                        None => http.serve_connection(TokioIo::new(tcp), service).await,
                    };
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(state: Arc<MiState>, req: Request<Body>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut headers = std::collections::BTreeMap::new();
    for (name, value) in &parts.headers {
        headers.insert(
            name.as_str().to_owned(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        );
    }
    let incoming = Incoming {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parse_urlencoded(parts.uri.query().unwrap_or_default().as_bytes()),
        form: parse_urlencoded(&body),
        headers,
    };
    let (scripted, delay) = {
        let mut shared = state.lock();
        shared.requests.push(RecordedRequest {
            method: incoming.method.clone(),
            path: incoming.path.clone(),
            query: incoming.query.clone(),
            form: incoming.form.clone(),
            headers: incoming.headers.clone(),
        });
        (shared.script.pop_front(), shared.delays.pop_front())
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let reply = match scripted {
        Some(s) => Reply {
            status: s.status,
            headers: s.headers,
            body: s.body,
        },
        None => {
            let token = format!("fake-mi-{}", uuid::Uuid::new_v4().simple());
            let now = state
                .config
                .fixed_now
                .unwrap_or_else(|| unix_secs(SystemTime::now()));
            let (reply, issued) = mi_protocol::handle(&state.config, &incoming, now, &token);
            if let Some(token) = issued {
                state.lock().issued.push(token);
            }
            reply
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}

/// A TCP listener on loopback that accepts connections and never answers, like an IMDS address
/// that a firewall silently drops. Stops (and closes held connections) when dropped.
#[derive(Debug)]
pub struct SilentListener {
    base: String,
    task: JoinHandle<()>,
}

impl SilentListener {
    /// Starts listening on `127.0.0.1` at a random port.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let base = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                held.push(tcp);
            }
        });
        Ok(SilentListener { base, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `http://127.0.0.1:PORT` for a port nothing listens on (bound, then released), so
/// connections are refused.
///
/// # Errors
///
/// When no port can be bound.
pub fn refused_url() -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(format!("http://127.0.0.1:{port}"))
}
