//! [`EntraHttpClient`]: credchain's one HTTP stack (reqwest + rustls on `ring`), behind the
//! [`HttpClient`] seam.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use credchain_core::http::{HttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse, Method};
use credchain_core::{Env, Error};
use zeroize::Zeroizing;

use crate::net::{self, RootsSummary};
use crate::pinned::{PinnedVerifier, Thumbprint};

/// The default cap on a response body: token responses are a few KiB.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// How [`EntraHttpClient`] starts the message of an error for a TLS failure (an untrusted
/// certificate, a failed handshake), so the token client can tell it from a broken connection.
pub(crate) const TLS_FAILURE: &str = "TLS failure: ";

/// The [`HttpClient`] credchain's providers use by default.
///
/// * TLS through rustls (with `ring`): the system's roots, or `SSL_CERT_FILE` / `SSL_CERT_DIR`
///   when either is set (replacing the system store), plus roots added on the builder.
/// * `https://` requests go through the proxy named by `https_proxy` / `HTTPS_PROXY` /
///   `all_proxy` / `ALL_PROXY` unless `no_proxy` / `NO_PROXY` exempts the host. `http://`
///   requests (loopback and instance-metadata endpoints) are sent directly, never proxied.
/// * No redirects are followed and nothing is retried: callers decide.
/// * The response body is read into a buffer wiped on drop, and refused past
///   [`max_body_bytes`](EntraHttpClientBuilder::max_body_bytes) (1 MiB by default).
/// * Errors never hold header values, the body, or the proxy's password.
///
/// What is *not* wiped: the request body is handed to reqwest without a copy and wiped when
/// reqwest drops it, but hyper may copy it into its write buffer and rustls encrypts from its
/// own buffers; header values are copied into reqwest's header map; the response arrives in
/// hyper's chunks before it is copied into the wiped buffer. Those library buffers are freed
/// without being wiped.
///
/// Cloning is cheap and clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use credchain_core::http::{HttpClient, HttpRequest};
/// use credchain_entra::EntraHttpClient;
/// let http = EntraHttpClient::builder().build()?;
/// let response = http.send(HttpRequest::get("http://169.254.169.254/metadata/identity/oauth2/token")
///     .with_header("Metadata", "true")).await?;
/// println!("HTTP {}", response.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EntraHttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    roots: RootsSummary,
    /// The only server certificate accepted, when pinned.
    pinned: Option<Thumbprint>,
    proxy: Option<String>,
    proxy_password: Option<Zeroizing<String>>,
    max_body: usize,
    http_only: bool,
}

impl fmt::Debug for EntraHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraHttpClient")
            .field("roots", &self.inner.roots)
            .field("pinned", &self.inner.pinned)
            .field("proxy", &self.inner.proxy)
            .field("max_body", &self.inner.max_body)
            .finish_non_exhaustive()
    }
}

/// Builds an [`EntraHttpClient`]. Defaults: the process environment, no added roots, a 1 MiB
/// body cap.
#[derive(Debug)]
pub struct EntraHttpClientBuilder {
    env: Env,
    extra_roots: Vec<Vec<u8>>,
    max_body: usize,
    http_only: bool,
    pinned: Option<String>,
}

impl Default for EntraHttpClientBuilder {
    fn default() -> Self {
        EntraHttpClientBuilder {
            env: Env::process(),
            extra_roots: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            http_only: false,
            pinned: None,
        }
    }
}

impl EntraHttpClientBuilder {
    /// Reads `SSL_CERT_FILE`, `SSL_CERT_DIR` and the proxy variables from `env` (default: the
    /// process).
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Trusts the certificates in `pem` as roots too. Can be called more than once.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.extra_roots.push(pem.to_vec());
        self
    }

    /// The largest response body accepted (default 1 MiB); a longer one is an error.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body = max;
        self
    }

    /// Plain `http://` only (`true`), for loopback and instance-metadata endpoints such as
    /// managed identity's: no TLS root store is loaded (reading the system's takes tens of
    /// milliseconds, which a chain probing IMDS on a laptop should not pay), and every
    /// `https://` request is refused with an error saying so. Default: `false`.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// Accepts, for `https://`, only the server certificate whose SHA-1 (40 hex digits) or
    /// SHA-256 (64) thumbprint is `thumbprint`, whoever issued it and whatever names and
    /// validity dates it holds (the root store is not used; the thumbprint is the whole
    /// trust); the server must still prove it holds the certificate's key. For endpoints with a self-signed certificate known by its thumbprint, such as
    /// Service Fabric's managed identity endpoint (`IDENTITY_SERVER_THUMBPRINT`).
    pub fn pin_server_certificate(mut self, thumbprint: &str) -> Self {
        self.pinned = Some(thumbprint.to_owned());
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) (provider
    /// `EntraHttpClient`) when the proxy variable is not a valid URL, an added root is not
    /// valid PEM, a pinned thumbprint is not 40 or 64 hex digits, or roots or a pin are added to
    /// an [`http_only`](Self::http_only) client.
    pub fn build(self) -> Result<EntraHttpClient, Error> {
        self.build_for("EntraHttpClient")
    }

    /// [`build`](Self::build) with errors carrying `provider`'s name.
    pub(crate) fn build_for(self, provider: &str) -> Result<EntraHttpClient, Error> {
        if self.http_only && (!self.extra_roots.is_empty() || self.pinned.is_some()) {
            return Err(Error::invalid_input(
                provider,
                "root certificates or a pinned certificate have no effect on an `http_only` client; \
                 remove them or the option",
            ));
        }
        let (roots, summary) = if self.http_only {
            (rustls::RootCertStore::empty(), RootsSummary::http_only())
        } else {
            net::root_store(&self.env, &self.extra_roots).map_err(|e| Error::invalid_input(provider, e))?
        };
        let pinned = self
            .pinned
            .as_deref()
            .map(Thumbprint::parse)
            .transpose()
            .map_err(|e| Error::invalid_input(provider, e))?;
        let crypto = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::clone(&crypto))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::invalid_input(provider, format!("could not set up TLS: {e}")))?;
        let tls = match &pinned {
            Some(thumbprint) => tls
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(thumbprint.clone(), &crypto)))
                .with_no_client_auth(),
            None => tls.with_root_certificates(roots).with_no_client_auth(),
        };
        let mut http = reqwest::Client::builder()
            .no_proxy()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("credchain-entra/", env!("CARGO_PKG_VERSION")));
        let mut shown_proxy = None;
        let mut proxy_password = None;
        if let Some((var, url)) = net::proxy_from_env(&self.env) {
            let proxy = reqwest::Proxy::https(url.as_str()).map_err(|_| {
                Error::invalid_input(
                    provider,
                    format!(
                        "`{var}` is not a valid proxy URL; use a form such as `http://proxy.example.com:3128`"
                    ),
                )
            })?;
            let no_proxy = net::no_proxy_from_env(&self.env).and_then(|v| reqwest::NoProxy::from_string(&v));
            http = http.proxy(proxy.no_proxy(no_proxy));
            shown_proxy = Some(net::redacted_proxy(&url));
            proxy_password = net::proxy_password(&url).map(Zeroizing::new);
        }
        let http = http.build().map_err(|e| {
            Error::invalid_input(
                provider,
                format!("could not set up the HTTP client: {}", error_chain(&e)),
            )
        })?;
        Ok(EntraHttpClient {
            inner: Arc::new(Inner {
                http,
                roots: summary,
                pinned,
                proxy: shown_proxy,
                proxy_password,
                max_body: self.max_body,
                http_only: self.http_only,
            }),
        })
    }
}

impl EntraHttpClient {
    /// A builder with the defaults described on [`EntraHttpClientBuilder`].
    pub fn builder() -> EntraHttpClientBuilder {
        EntraHttpClientBuilder::default()
    }

    fn error(&self, kind: HttpErrorKind, e: &reqwest::Error) -> HttpError {
        let mut text = error_chain(e);
        if let Some(p) = self.inner.proxy_password.as_deref().filter(|p| !p.is_empty()) {
            text = text.replace(p.as_str(), "***");
        }
        HttpError::new(kind, text)
    }

    fn transport_error(&self, e: &reqwest::Error) -> HttpError {
        if let Some(tls) = tls_cause(e) {
            let text = crate::pinned::mismatch_text(tls).unwrap_or_else(|| tls.to_string());
            return HttpError::new(HttpErrorKind::Other, format!("{TLS_FAILURE}{text}"));
        }
        let kind = if e.is_timeout() {
            HttpErrorKind::Timeout
        } else if e.is_connect() {
            HttpErrorKind::Connect
        } else {
            HttpErrorKind::Other
        };
        self.error(kind, e)
    }

    fn too_large(&self) -> HttpError {
        HttpError::new(
            HttpErrorKind::Other,
            format!("the response body is larger than {} bytes", self.inner.max_body),
        )
    }

    fn prepare(&self, request: HttpRequest) -> Result<reqwest::RequestBuilder, HttpError> {
        let invalid = |what: String| HttpError::new(HttpErrorKind::Other, what);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            other => {
                return Err(invalid(format!(
                    "the method `{}` is not supported",
                    other.as_str()
                )));
            }
        };
        let url =
            reqwest::Url::parse(&request.url).map_err(|e| invalid(format!("the URL is not valid: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the URL scheme `{}` is not http or https",
                url.scheme()
            )));
        }
        if self.inner.http_only && url.scheme() == "https" {
            return Err(invalid(
                "this HTTP client was built for plain `http://` endpoints only (`http_only`); an `https://` \
                 URL needs a client built without it"
                    .to_owned(),
            ));
        }
        let mut builder = self.inner.http.request(method, url);
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a valid header name")))?;
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("the value of the header `{name}` is not valid")))?;
            value.set_sensitive(true);
            builder = builder.header(name, value);
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        if !request.body.is_empty() {
            // No copy here: `Bytes` takes ownership of the wiping buffer and drops (wipes) it
            // when the last reference goes. What stays unwiped is outside our reach: hyper may
            // copy small bodies into its own write buffer (when the connection does not take
            // vectored writes), and rustls keeps plaintext it cannot send yet in its buffers
            // before encrypting; both free those buffers without wiping.
            builder = builder.body(bytes::Bytes::from_owner(request.body));
        }
        Ok(builder)
    }
}

#[credchain_core::async_trait]
impl HttpClient for EntraHttpClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut response = self
            .prepare(request)?
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let max = self.inner.max_body;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(self.too_large());
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let expected = response.content_length().map_or(0, |n| n as usize);
        let mut body = Zeroizing::new(Vec::with_capacity(expected));
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport_error(&e))? {
            let needed = body.len() + chunk.len();
            if needed > max {
                return Err(self.too_large());
            }
            if needed > body.capacity() {
                // Grow by copying into a new wiping buffer, so the old one is wiped as it drops.
                let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(body.capacity() * 2).min(max)));
                bigger.extend_from_slice(&body);
                body = bigger;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// The error and its sources, joined with `: ` (reqwest's own Display says little).
pub(crate) fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The rustls error behind a transport failure, if any. `io::Error` hides what it wraps from
/// `source()`, so wrapped errors are opened with `get_ref` too (hyper nests two of them).
fn tls_cause<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut stack: Vec<&'a (dyn StdError + 'static)> = vec![e];
    let mut steps = 0;
    while let Some(err) = stack.pop() {
        steps += 1;
        if steps > 32 {
            break;
        }
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            stack.push(inner);
        }
        if let Some(source) = err.source() {
            stack.push(source);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> EntraHttpClient {
        EntraHttpClient::builder()
            .env(Env::empty())
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A one-shot plain-HTTP server on loopback: returns the request it read.
    async fn serve_once(reply: &'static [u8]) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/path?q=1", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Read until the headers end, and for a POST until its (test) body arrived.
            loop {
                let n = s.read(&mut buf).await.unwrap_or(0);
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen);
                let complete =
                    text.contains("\r\n\r\n") && (!text.starts_with("POST") || text.ends_with("body!"));
                if n == 0 || complete {
                    break;
                }
            }
            let _ = s.write_all(reply).await;
            seen
        });
        (url, task)
    }

    #[tokio::test]
    async fn plain_http_works_with_headers_and_body() {
        let (url, server) =
            serve_once(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Thing: yes\r\n\r\nhello").await;
        let request =
            HttpRequest::post_form(url, Zeroizing::new(b"body!".to_vec())).with_header("Metadata", "true");
        let response = client().send(request).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status, 201);
        assert_eq!(response.header("x-thing"), Some("yes"));
        assert_eq!(&response.body[..], b"hello");
        let seen = String::from_utf8(server.await.expect("server")).expect("utf8");
        assert!(seen.starts_with("POST /path?q=1 HTTP/1.1\r\n"), "{seen}");
        assert!(seen.to_ascii_lowercase().contains("metadata: true\r\n"), "{seen}");
        assert!(seen.contains("application/x-www-form-urlencoded"), "{seen}");
    }

    #[tokio::test]
    async fn plain_http_is_never_proxied() {
        // The proxy (a closed port) would fail every request that went through it.
        let (url, _server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let proxied = EntraHttpClient::builder()
            .env(Env::from_pairs([
                ("HTTPS_PROXY", "http://127.0.0.1:9"),
                ("ALL_PROXY", "http://127.0.0.1:9"),
            ]))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            format!("{proxied:?}").contains("127.0.0.1:9"),
            "the proxy is configured"
        );
        let response = proxied
            .send(HttpRequest::get(url))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&response.body[..], b"ok");
    }

    #[tokio::test]
    async fn the_request_timeout_is_honoured_and_reported_as_a_timeout() {
        // A server that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let _held = tokio::spawn(async move {
            let held = listener.accept().await;
            std::future::pending::<()>().await;
            drop(held);
        });
        let request = HttpRequest::get(url).with_timeout(std::time::Duration::from_millis(100));
        let err = client().send(request).await.expect_err("no answer");
        assert_eq!(err.kind(), HttpErrorKind::Timeout, "{err}");
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused() {
        let (url, _server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world").await;
        let small = EntraHttpClient::builder()
            .env(Env::empty())
            .max_body_bytes(10)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = small.send(HttpRequest::get(url)).await.expect_err("too large");
        assert_eq!(err.kind(), HttpErrorKind::Other);
        assert!(err.to_string().contains("larger than 10 bytes"), "{err}");
        // Without a Content-Length, the cap applies while reading.
        let (url, _server) = serve_once(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world").await;
        let err = small.send(HttpRequest::get(url)).await.expect_err("too large");
        assert!(err.to_string().contains("larger than 10 bytes"), "{err}");
    }

    #[tokio::test]
    async fn an_http_only_client_loads_no_roots_sends_http_and_refuses_https() {
        let (url, _server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let http_only = EntraHttpClient::builder()
            .env(Env::empty())
            .http_only(true)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(format!("{http_only:?}").contains("http only"), "{http_only:?}");
        let response = http_only
            .send(HttpRequest::get(url))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&response.body[..], b"ok");
        let err = http_only
            .send(HttpRequest::get("https://127.0.0.1:9/"))
            .await
            .expect_err("https refused");
        assert_eq!(err.kind(), HttpErrorKind::Other, "{err}");
        assert!(err.to_string().contains("`http_only`"), "{err}");
        let err = EntraHttpClient::builder()
            .env(Env::empty())
            .http_only(true)
            .add_root_certificate_pem(b"-----BEGIN CERTIFICATE-----")
            .build()
            .expect_err("roots on an http-only client");
        assert!(err.message().contains("no effect"), "{err}");
    }

    #[tokio::test]
    async fn refused_connections_and_bad_urls_are_classified() {
        let err = client()
            .send(HttpRequest::get("http://127.0.0.1:9/"))
            .await
            .expect_err("closed port");
        assert_eq!(err.kind(), HttpErrorKind::Connect, "{err}");
        let err = client()
            .send(HttpRequest::get("ftp://x/"))
            .await
            .expect_err("scheme");
        assert!(err.to_string().contains("not http or https"), "{err}");
    }
}
