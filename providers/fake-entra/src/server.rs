//! The running fake: TLS listener, builder and the accessors tests use.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as Body;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::jwt::RegisteredCert;
use crate::record::{RecordedRequest, parse_urlencoded};
use crate::reply::Reply;
use crate::state::{Config, Incoming, State, Subscription, User};
use crate::time_fmt::unix_secs;

/// Default `expires_in` of issued tokens.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Largest request body the fake reads; bigger bodies get `413`.
const MAX_BODY: usize = 1 << 20;

/// A fake Microsoft Entra ID (plus the two ARM listing calls `az login` makes), serving HTTPS on
/// `127.0.0.1` at a random port. It stops when dropped.
///
/// Build one with [`FakeEntra::builder`]; see the [crate docs](crate) for what it checks.
pub struct FakeEntra {
    state: Arc<State>,
    ca_pem: String,
    ca_path: PathBuf,
    _ca_dir: tempfile::TempDir,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for FakeEntra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEntra")
            .field("authority", &self.state.config.authority)
            .field("tenants", &self.state.config.tenants)
            .field("ca_pem_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

impl FakeEntra {
    /// Starts configuring a fake. Nothing is known until registered: no tenants, no clients.
    pub fn builder() -> FakeEntraBuilder {
        FakeEntraBuilder::default()
    }

    /// `https://127.0.0.1:PORT`, without a trailing slash: the authority host to give a client.
    pub fn authority(&self) -> String {
        self.state.config.authority.clone()
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`; also the `aud` a client assertion must carry.
    pub fn token_url(&self, tenant: &str) -> String {
        self.state.token_url(tenant)
    }

    /// PEM of the CA that signed the server certificate; trust it as a root in the client.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA PEM written to a temporary file (removed on drop), for `SSL_CERT_FILE` or
    /// `REQUESTS_CA_BUNDLE`.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_path
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// How many `POST`s reached any `/{tenant}/oauth2/v2.0/token`, including failed and
    /// injected-failure ones.
    pub fn token_request_count(&self) -> usize {
        self.state.token_request_count()
    }

    /// Makes the next `n` token requests fail with `status` (typically 429, 500 or 503), an
    /// Entra-shaped JSON error body and, when given, a `Retry-After: {secs}` header. Replaces
    /// any earlier plan; `n == 0` cancels it.
    pub fn fail_next(&self, n: usize, status: u16, retry_after_secs: Option<u64>) {
        self.state.fail_next(n, status, retry_after_secs);
    }

    /// Access tokens handed out so far, in order.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued_tokens()
    }
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Configures a [`FakeEntra`]. All methods take and return `self`; nothing fails until
/// [`start`](Self::start).
///
/// Tenant ids are compared case-insensitively. Registering a client in a tenant also makes the
/// tenant known.
#[derive(Debug, Clone)]
pub struct FakeEntraBuilder {
    config: Config,
    port: u16,
    errors: Vec<String>,
}

impl Default for FakeEntraBuilder {
    fn default() -> Self {
        FakeEntraBuilder {
            config: Config {
                token_lifetime: DEFAULT_TOKEN_LIFETIME,
                ..Config::default()
            },
            port: 0,
            errors: Vec::new(),
        }
    }
}

impl FakeEntraBuilder {
    /// Adds a known tenant (GUID or domain). Requests for other tenants get `AADSTS90002`.
    /// The first tenant added is the one `common` / `organizations` resolve to in user flows.
    pub fn tenant(mut self, tenant_id: &str) -> Self {
        self.config.add_tenant(tenant_id);
        self
    }

    /// Registers a confidential client with a client secret in `tenant_id`. Can be called again
    /// to add more secrets (all are accepted) or more tenants.
    pub fn client_secret(mut self, tenant_id: &str, client_id: &str, secret: &str) -> Self {
        let tenant = self.config.add_tenant(tenant_id);
        self.config
            .secrets
            .entry((tenant, client_id.to_owned()))
            .or_default()
            .push(secret.to_owned());
        self
    }

    /// Registers a certificate (PEM; every `CERTIFICATE` block in it, so a combined key+cert file
    /// works) for a confidential client in `tenant_id`. Client assertions must be signed by its
    /// key. A PEM without certificates makes [`start`](Self::start) fail.
    pub fn client_certificate(mut self, tenant_id: &str, client_id: &str, cert_pem: &str) -> Self {
        let tenant = self.config.add_tenant(tenant_id);
        let certs: Vec<RegisteredCert> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .filter_map(Result::ok)
            .map(|der| RegisteredCert::from_der(der.to_vec()))
            .collect();
        if certs.is_empty() {
            self.errors.push(format!(
                "no certificate found in the PEM registered for client `{client_id}`"
            ));
        }
        self.config
            .certs
            .entry((tenant, client_id.to_owned()))
            .or_default()
            .extend(certs);
        self
    }

    /// Registers a federated identity credential for a confidential client in `tenant_id`: a
    /// token whose `iss` is `issuer` and `sub` is `subject` (compared case-sensitively, as by
    /// Entra), with audience `api://AzureADTokenExchange`, is accepted as its
    /// `client_assertion` while unexpired. The token's signature is not verified. Can be called
    /// again to add more pairs. Mint tokens with [`federated_token`](crate::federated_token).
    pub fn federated_credential(
        mut self,
        tenant_id: &str,
        client_id: &str,
        issuer: &str,
        subject: &str,
    ) -> Self {
        let tenant = self.config.add_tenant(tenant_id);
        self.config
            .federated
            .entry((tenant, client_id.to_owned()))
            .or_default()
            .push(crate::federation::FederatedCredential {
                issuer: issuer.to_owned(),
                subject: subject.to_owned(),
            });
        self
    }

    /// Registers a refresh token for a public client, valid in every known tenant (and `common` /
    /// `organizations`). Each redemption returns a new, rotated refresh token; the old one stays
    /// valid, so tests can check which one a client sends next.
    pub fn refresh_token(mut self, client_id: &str, refresh_token: &str) -> Self {
        self.config
            .refresh_tokens
            .push((client_id.to_owned(), refresh_token.to_owned()));
        self
    }

    /// Registers a user for the `password` grant of a public client, valid in every known tenant.
    pub fn user(mut self, client_id: &str, username: &str, password: &str) -> Self {
        self.config.users.push(User {
            client_id: client_id.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
        });
        self
    }

    /// Adds an ARM subscription listed by `GET /subscriptions` for tokens of `tenant_id` (which
    /// becomes known).
    pub fn subscription(mut self, subscription_id: &str, name: &str, tenant_id: &str) -> Self {
        let tenant = self.config.add_tenant(tenant_id);
        self.config.subscriptions.push(Subscription {
            id: subscription_id.to_owned(),
            name: name.to_owned(),
            tenant,
        });
        self
    }

    /// Lifetime of issued tokens (`expires_in`, `ext_expires_in`, the `exp` claim), whole seconds;
    /// default [`DEFAULT_TOKEN_LIFETIME`] (3600 s).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// Adds `refresh_in` (whole seconds) to token responses, as Entra does for long-lived tokens.
    /// Off by default.
    pub fn refresh_in(mut self, refresh_in: Duration) -> Self {
        self.config.refresh_in = Some(refresh_in);
        self
    }

    /// Waits this long before every token-endpoint response (including errors). Default none.
    pub fn latency(mut self, delay: Duration) -> Self {
        self.config.latency = delay;
        self
    }

    /// Listens on this port instead of a random one (`0`, the default, means random).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Generates the CA and server certificate, binds `127.0.0.1`, writes the CA file and starts
    /// serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// Fails when the port cannot be bound, the CA file cannot be written, certificate generation
    /// fails, or a registered certificate PEM held no certificate (`InvalidInput`).
    pub async fn start(self) -> std::io::Result<FakeEntra> {
        if let Some(first) = self.errors.first() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                first.clone(),
            ));
        }
        let pki = crate::tls::generate()?;
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let port = listener.local_addr()?.port();
        let mut config = self.config;
        config.authority = format!("https://127.0.0.1:{port}");
        let ca_dir = tempfile::Builder::new()
            .prefix("credchain-fake-entra-")
            .tempdir()?;
        let ca_path = ca_dir.path().join("ca.pem");
        std::fs::write(&ca_path, &pki.ca_pem)?;
        let state = Arc::new(State::new(config));
        let acceptor = TlsAcceptor::from(pki.server_config);
        let task = tokio::spawn(serve(listener, acceptor, Arc::clone(&state)));
        Ok(FakeEntra {
            state,
            ca_pem: pki.ca_pem,
            ca_path,
            _ca_dir: ca_dir,
            task,
        })
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, state: Arc<State>) {
    // Connection tasks live in the set, so aborting this task (on drop) aborts them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = Arc::clone(&state);
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |req| handle(Arc::clone(&state), req));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(state: Arc<State>, req: Request<Body>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await.map(|b| b.to_bytes()) else {
        return Ok(to_response(Reply::json(
            413,
            &serde_json::json!({"error": "request body too large or unreadable"}),
        )));
    };
    let mut headers = std::collections::BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let incoming = Incoming {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parse_urlencoded(parts.uri.query().unwrap_or_default().as_bytes()),
        form: if body.is_empty() {
            Default::default()
        } else {
            parse_urlencoded(&body)
        },
        headers,
    };
    let (reply, is_token) = state.handle(incoming, unix_secs(SystemTime::now()));
    if is_token && !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    Ok(to_response(reply))
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
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
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn debug_output_never_shows_credentials() {
        let builder = FakeEntra::builder()
            .client_secret("t", "app", "the-client-secret")
            .user("pub", "alice@x.test", "the-password")
            .refresh_token("pub", "the-refresh-token");
        let shown = format!("{builder:?}");
        assert!(shown.contains("alice@x.test") && shown.contains("app"), "{shown}");
        for secret in ["the-client-secret", "the-password", "the-refresh-token"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        let entra = builder.start().await.expect("starts");
        let shown = format!("{entra:?}");
        assert!(shown.contains(&entra.authority()));
        assert!(!shown.contains("the-client-secret"));
    }

    #[tokio::test]
    async fn a_certificate_pem_without_certificates_fails_start() {
        let err = FakeEntra::builder()
            .client_certificate(
                "t",
                "app",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            )
            .start()
            .await
            .expect_err("no certificate in the PEM");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no certificate found"), "{err}");
    }
}
