//! The token-endpoint client.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credchain_core::{Clock, Env, Error, SystemClock, TokenRequestOptions, validate};
use tracing::Instrument as _;
use zeroize::Zeroizing;

use crate::net::{self, RootsSummary};
use crate::parse::{self, EntraErrorResponse, TokenResponse};
use crate::{Authority, Grant};

/// The default overall timeout of one `request_token` call, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default number of retries after the first attempt (on 429, 5xx and connection errors).
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The default first backoff delay; it doubles on every retry, with jitter.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(800);
/// The longest single backoff delay, including one asked for by `Retry-After`.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// The largest response body read; anything longer is cut off and reported.
const MAX_BODY: usize = 1 << 20;
/// The name used for errors from [`EntraClientBuilder::build`] unless one is set.
const DEFAULT_PROVIDER: &str = "EntraClient";

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client for the Microsoft Entra ID v2.0 token endpoint
/// (`POST {authority}/{tenant}/oauth2/v2.0/token`).
///
/// It redeems a [`Grant`] for an access token, with bounded retries (429, 5xx and connection
/// errors, honouring `Retry-After`), an overall timeout, TLS through rustls with the system's
/// roots (or `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus any added roots, and `HTTPS_PROXY` /
/// `NO_PROXY`, all read from the injected [`Env`]. It does not cache tokens: credchain's
/// middleware does.
///
/// Cloning is cheap and clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), credchain_core::Error> {
/// use credchain_core::{Secret, TokenRequestOptions};
/// use credchain_entra::{EntraClient, Grant};
///
/// let client = EntraClient::builder().build()?;
/// let secret = Secret::new("…");
/// let grant = Grant::ClientSecret { client_id: "00000000-0000-0000-0000-000000000001", secret: &secret };
/// let response = client
///     .request_token("MyCredential", "contoso.onmicrosoft.com", &grant,
///         &["https://management.azure.com/.default"], &TokenRequestOptions::default())
///     .await?;
/// println!("expires at {:?}", response.token.expires_on());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EntraClient {
    inner: Arc<Inner>,
}

struct Inner {
    authority: Authority,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    max_retries: u32,
    retry_delay: Duration,
    roots: RootsSummary,
    proxy: Option<String>,
    proxy_password: Option<Zeroizing<String>>,
}

impl fmt::Debug for EntraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraClient")
            .field("authority", &self.inner.authority.as_str())
            .field("timeout", &self.inner.timeout)
            .field("max_retries", &self.inner.max_retries)
            .field("roots", &self.inner.roots)
            .field("proxy", &self.inner.proxy)
            .finish_non_exhaustive()
    }
}

/// Builds an [`EntraClient`].
///
/// Defaults: the authority from `AZURE_AUTHORITY_HOST` (else the public cloud), the process
/// environment, the system clock, a 30 s overall timeout and 3 retries.
pub struct EntraClientBuilder {
    authority: Option<Authority>,
    env: Env,
    clock: Arc<dyn Clock>,
    extra_roots: Vec<Vec<u8>>,
    timeout: Duration,
    max_retries: u32,
    retry_delay: Duration,
    provider: String,
}

impl fmt::Debug for EntraClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraClientBuilder")
            .field("authority", &self.authority)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("extra_roots", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl Default for EntraClientBuilder {
    fn default() -> Self {
        EntraClientBuilder {
            authority: None,
            env: Env::process(),
            clock: Arc::new(SystemClock),
            extra_roots: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_delay: DEFAULT_RETRY_DELAY,
            provider: DEFAULT_PROVIDER.into(),
        }
    }
}

impl EntraClientBuilder {
    /// Uses `authority` instead of `AZURE_AUTHORITY_HOST` or the public cloud.
    pub fn authority(mut self, authority: Authority) -> Self {
        self.authority = Some(authority);
        self
    }

    /// Reads `AZURE_AUTHORITY_HOST`, `SSL_CERT_FILE`, `SSL_CERT_DIR`, `HTTPS_PROXY`,
    /// `ALL_PROXY` and `NO_PROXY` (and their lowercase forms) from `env` (default: the process).
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// The clock used for token lifetimes and assertion times (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Trusts the certificates in `pem` as roots, in addition to the system's (or
    /// `SSL_CERT_FILE`'s). Can be called more than once.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.extra_roots.push(pem.to_vec());
        self
    }

    /// The overall time one `request_token` call may take, retries and backoff included
    /// (default 30 s). A request's own [`deadline`](TokenRequestOptions::deadline) also applies.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times to retry after the first attempt (default 3). `0` disables retries.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The first backoff delay (default 800 ms), doubled on each retry with ±25 % jitter and
    /// capped at 60 s. A `Retry-After` header replaces it.
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// The provider name put on errors from [`build`](Self::build) (default `EntraClient`).
    /// Errors from `request_token` carry the name passed to it instead.
    pub fn provider_name(mut self, name: impl Into<String>) -> Self {
        self.provider = name.into();
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when
    /// `AZURE_AUTHORITY_HOST` or the proxy variable is not a valid URL, or an added root
    /// certificate is not valid PEM.
    pub fn build(self) -> Result<EntraClient, Error> {
        let provider = self.provider.as_str();
        let authority = match self.authority {
            Some(a) => a,
            None => Authority::from_env(&self.env).map_err(|e| Error::invalid_input(provider, e))?,
        };
        let (roots, summary) =
            net::root_store(&self.env, &self.extra_roots).map_err(|e| Error::invalid_input(provider, e))?;
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::invalid_input(provider, format!("could not set up TLS: {e}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
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
        Ok(EntraClient {
            inner: Arc::new(Inner {
                authority,
                http,
                clock: self.clock,
                timeout: self.timeout,
                max_retries: self.max_retries,
                retry_delay: self.retry_delay,
                roots: summary,
                proxy: shown_proxy,
                proxy_password,
            }),
        })
    }
}

impl EntraClient {
    /// A builder with the defaults described on [`EntraClientBuilder`].
    pub fn builder() -> EntraClientBuilder {
        EntraClientBuilder::default()
    }

    /// The authority host requests go to.
    pub fn authority(&self) -> &Authority {
        &self.inner.authority
    }

    /// Redeems `grant` for a token for `scopes` in `tenant`.
    ///
    /// `provider` names the calling credential in errors and logs. `options` supplies claims,
    /// CAE and a deadline; its tenant is ignored here (pass the resolved one as `tenant`).
    ///
    /// # Errors
    ///
    /// | Situation | [`ErrorKind`](credchain_core::ErrorKind) |
    /// |---|---|
    /// | invalid tenant or scope, no scope, blank client ID or secret, claims not JSON | `InvalidInput` (nothing sent) |
    /// | Entra refused (any 4xx but 429): the message carries the `AADSTS` code, description and correlation ID; the source is an [`EntraErrorResponse`] | `AuthenticationFailed` |
    /// | 200 without a usable token | `AuthenticationFailed` ("unexpected response …", no token values) |
    /// | server's TLS certificate not trusted | `AuthenticationFailed` |
    /// | 429, 5xx or connection errors after all retries | `Transient` |
    /// | the overall timeout or the request's deadline passed | `Timeout` |
    pub async fn request_token(
        &self,
        provider: &str,
        tenant: &str,
        grant: &Grant<'_>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<TokenResponse, Error> {
        // The shared request check (scopes, the options' tenant, the claims' shape), then the
        // resolved tenant this client puts in the URL path.
        validate::request(provider, scopes, options)?;
        validate::tenant_id(tenant).map_err(|e| Error::invalid_input(provider, e))?;
        check_grant(provider, grant)?;
        let claims = parse::claims_parameter(options.claims(), options.enable_cae())
            .map_err(|e| Error::invalid_input(provider, e))?;
        if let Grant::Password { .. } = grant {
            tracing::warn!(
                provider,
                "username/password authentication is deprecated because it cannot do multi-factor \
                 authentication (MFA); see https://aka.ms/azsdk/identity/mfa"
            );
        }
        let span = tracing::debug_span!(
            "entra_token_request",
            provider,
            tenant,
            grant = grant.kind(),
            client_id = grant.client_id(),
        );
        self.run(
            provider,
            tenant,
            grant,
            scopes,
            claims.as_deref(),
            options.deadline(),
        )
        .instrument(span)
        .await
    }

    async fn run(
        &self,
        provider: &str,
        tenant: &str,
        grant: &Grant<'_>,
        scopes: &[&str],
        claims: Option<&str>,
        caller_deadline: Option<Instant>,
    ) -> Result<TokenResponse, Error> {
        let inner = &*self.inner;
        let started = Instant::now();
        // A timeout too large for `Instant` (such as `Duration::MAX`) means no timeout of ours.
        let own = started.checked_add(inner.timeout);
        let (deadline, bound) = match (own, caller_deadline) {
            (Some(own), Some(d)) if d < own => (Some(d), "the request's deadline"),
            (None, Some(d)) => (Some(d), "the request's deadline"),
            (own, _) => (own, "the client's timeout"),
        };
        let url = inner.authority.token_url(tenant);
        let scope = scopes.join(" ");
        let scrub = Scrubber::new(grant, inner.proxy_password.as_deref().map(String::as_str));
        let host = inner.authority.host();
        let mut attempt: u32 = 0;
        loop {
            let remaining = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(d) if !d.is_zero() => d,
                    _ => return Err(timeout_error(provider, host, started, bound)),
                },
                None => Duration::MAX,
            };
            let request_time = inner.clock.now();
            let body = form_body(grant, &scope, claims, &url, request_time)
                .map_err(|e| Error::authentication_failed(provider, e))?;
            tracing::debug!(attempt, scopes = %scope, "requesting a token from Microsoft Entra ID");
            let sent = tokio::time::timeout(remaining, self.send(&url, body)).await;
            let failure = match sent {
                Err(_) => return Err(timeout_error(provider, host, started, bound)),
                Ok(Err(e)) => {
                    if let Some(tls) = tls_cause(&e) {
                        return Err(Error::authentication_failed(
                            provider,
                            scrub.clean(&format!(
                                "could not set up a trusted TLS connection to Microsoft Entra ID at `{host}`: \
                                 {tls}; if a proxy or firewall inspects TLS, trust its root certificate with \
                                 `SSL_CERT_FILE` or `SSL_CERT_DIR`"
                            )),
                        ));
                    }
                    Failure::Transport(scrub.clean(&error_chain(&e)))
                }
                Ok(Ok(response)) => {
                    let status = response.status;
                    if (200..300).contains(&status) {
                        return match parse::parse_success(&response.body, request_time) {
                            Ok(r) => {
                                tracing::debug!(
                                    expires_on = unix(r.token.expires_on()),
                                    refresh_on = r.token.refresh_on().map(unix),
                                    rotated_refresh_token = r.refresh_token.is_some(),
                                    "received a token from Microsoft Entra ID"
                                );
                                Ok(r)
                            }
                            Err(e) => Err(Error::authentication_failed(
                                provider,
                                format!(
                                    "unexpected response from Microsoft Entra ID (HTTP {status}): {}",
                                    scrub.clean(&e.0)
                                ),
                            )),
                        };
                    }
                    let entra = entra_error(status, &response.body, &scrub);
                    if status == 429 || status >= 500 {
                        Failure::Status {
                            status,
                            entra,
                            retry_after: response.retry_after,
                            snippet: snippet(&response.body),
                        }
                    } else {
                        return Err(refused(provider, status, entra, &response.body, &scrub));
                    }
                }
            };
            if attempt >= inner.max_retries {
                return Err(failure.into_error(provider, host, attempt + 1, &scrub, None));
            }
            let delay = match &failure {
                Failure::Status {
                    retry_after: Some(ra),
                    ..
                } => (*ra).min(MAX_RETRY_DELAY),
                _ => backoff(inner.retry_delay, attempt),
            };
            if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                let why = format!("retrying after {} would pass {bound}", secs(delay));
                return Err(failure.into_error(provider, host, attempt + 1, &scrub, Some(&why)));
            }
            tracing::debug!(
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason = %failure.short(),
                "retrying the token request"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn send(&self, url: &str, body: Zeroizing<String>) -> Result<Response, reqwest::Error> {
        let mut response = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body.as_bytes().to_vec())
            .send()
            .await?;
        drop(body);
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let mut data = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            let room = MAX_BODY.saturating_sub(data.len());
            data.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if data.len() >= MAX_BODY {
                break;
            }
        }
        Ok(Response {
            status,
            retry_after,
            body: Zeroizing::new(data),
        })
    }
}

struct Response {
    status: u16,
    retry_after: Option<Duration>,
    body: Zeroizing<Vec<u8>>,
}

/// A failure that may be retried.
enum Failure {
    Transport(String),
    Status {
        status: u16,
        entra: Option<EntraErrorResponse>,
        retry_after: Option<Duration>,
        snippet: String,
    },
}

impl Failure {
    fn short(&self) -> String {
        match self {
            Failure::Transport(e) => e.clone(),
            Failure::Status { status, .. } => format!("HTTP {status}"),
        }
    }

    fn into_error(
        self,
        provider: &str,
        host: &str,
        attempts: u32,
        scrub: &Scrubber,
        why: Option<&str>,
    ) -> Error {
        let tries = if attempts == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{attempts} attempts")
        };
        let tail = why.map(|w| format!(" ({w})")).unwrap_or_default();
        match self {
            Failure::Transport(e) => Error::transient(
                provider,
                format!(
                    "could not reach Microsoft Entra ID at `{host}` after {tries}{tail}: {e}; check the \
                     network and the proxy settings (`HTTPS_PROXY`, `NO_PROXY`)"
                ),
            ),
            Failure::Status {
                status,
                entra,
                snippet,
                ..
            } => {
                let detail = match &entra {
                    Some(e) => e.summary(),
                    None if snippet.is_empty() => "no details".into(),
                    None => scrub.clean(&snippet),
                };
                let what = if status == 429 {
                    "is throttling requests"
                } else {
                    "is having trouble"
                };
                let err = Error::transient(
                    provider,
                    format!(
                        "Microsoft Entra ID at `{host}` {what} (HTTP {status}) after {tries}{tail}: {detail}; \
                         try again later"
                    ),
                );
                match entra {
                    Some(e) => err.with_source(e),
                    None => err,
                }
            }
        }
    }
}

/// The Entra error in a body, scrubbed of the request's secrets: it travels on as the source
/// of the returned error, where callers may print it.
fn entra_error(status: u16, body: &[u8], scrub: &Scrubber) -> Option<EntraErrorResponse> {
    parse::parse_error(status, body).map(|e| e.scrubbed(|t| scrub.clean(t)))
}

fn refused(
    provider: &str,
    status: u16,
    entra: Option<EntraErrorResponse>,
    body: &[u8],
    scrub: &Scrubber,
) -> Error {
    match entra {
        Some(e) => {
            let mut msg = format!(
                "Microsoft Entra ID refused the token request (HTTP {status}, `{}`): {}",
                e.error(),
                e.summary()
            );
            if let Some(hint) = e.hint() {
                msg.push_str("; ");
                msg.push_str(hint);
            }
            Error::authentication_failed(provider, msg).with_source(e)
        }
        None => {
            let s = snippet(body);
            let detail = if s.is_empty() {
                "an empty body".to_owned()
            } else {
                scrub.clean(&s)
            };
            Error::authentication_failed(
                provider,
                format!(
                    "Microsoft Entra ID refused the token request with HTTP {status} and no error details \
                     ({detail}); check the authority host and any proxy in between"
                ),
            )
        }
    }
}

fn timeout_error(provider: &str, host: &str, started: Instant, bound: &str) -> Error {
    Error::timeout(
        provider,
        format!(
            "Microsoft Entra ID at `{host}` did not answer within {bound} ({}); check the network and \
             the proxy settings (`HTTPS_PROXY`, `NO_PROXY`), or raise the timeout",
            secs(started.elapsed())
        ),
    )
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn unix(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `base * 2^attempt`, ±25 % jitter, capped.
fn backoff(base: Duration, attempt: u32) -> Duration {
    // Clamp before the jitter: `mul_f64` panics when the product overflows `Duration`. Any
    // value from twice the cap up still ends at the cap (0.75 * 2 * cap > cap).
    let exp = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_RETRY_DELAY * 2);
    let jitter = 0.75 + fastrand::f64() * 0.5;
    exp.mul_f64(jitter).min(MAX_RETRY_DELAY)
}

/// `Retry-After` (seconds) or `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = get(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    get("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn check_grant(provider: &str, grant: &Grant<'_>) -> Result<(), Error> {
    if grant.client_id().trim().is_empty() {
        return Err(Error::invalid_input(provider, "the client ID is empty"));
    }
    let blank = match grant {
        Grant::ClientSecret { secret, .. } => secret.is_blank().then_some("the client secret is empty"),
        Grant::RefreshToken { refresh_token, .. } => {
            refresh_token.is_blank().then_some("the refresh token is empty")
        }
        Grant::Password {
            username, password, ..
        } => {
            if username.trim().is_empty() {
                Some("the username is empty")
            } else {
                password.expose().is_empty().then_some("the password is empty")
            }
        }
        Grant::ClientCertificate { .. } => None,
    };
    match blank {
        Some(msg) => Err(Error::invalid_input(provider, msg)),
        None => Ok(()),
    }
}

/// The urlencoded form for one attempt (certificate grants get a fresh assertion every time).
fn form_body(
    grant: &Grant<'_>,
    scope: &str,
    claims: Option<&str>,
    url: &str,
    now: std::time::SystemTime,
) -> Result<Zeroizing<String>, String> {
    let mut out = Zeroizing::new(String::with_capacity(256));
    {
        let mut form = url::form_urlencoded::Serializer::new(&mut *out);
        match grant {
            Grant::ClientSecret { client_id, secret } => {
                form.append_pair("grant_type", "client_credentials")
                    .append_pair("client_id", client_id.trim())
                    .append_pair("client_secret", secret.expose());
            }
            Grant::ClientCertificate {
                client_id,
                certificate,
                send_certificate_chain,
            } => {
                let assertion =
                    certificate.sign_assertion(client_id.trim(), url, now, *send_certificate_chain)?;
                form.append_pair("grant_type", "client_credentials")
                    .append_pair("client_id", client_id.trim())
                    .append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE)
                    .append_pair("client_assertion", assertion.expose());
            }
            Grant::RefreshToken {
                client_id,
                refresh_token,
            } => {
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("client_id", client_id.trim())
                    .append_pair("refresh_token", refresh_token.expose());
            }
            Grant::Password {
                client_id,
                username,
                password,
            } => {
                form.append_pair("grant_type", "password")
                    .append_pair("client_id", client_id.trim())
                    .append_pair("username", username)
                    .append_pair("password", password.expose());
            }
        }
        form.append_pair("scope", scope).append_pair("client_info", "1");
        if let Some(claims) = claims {
            form.append_pair("claims", claims);
        }
        form.finish();
    }
    Ok(out)
}

/// Replaces any secret of the request found in text that came from outside (response bodies,
/// transport errors) with `***`.
struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    fn new(grant: &Grant<'_>, proxy_password: Option<&str>) -> Self {
        let mut secrets: Vec<String> = grant
            .secrets()
            .into_iter()
            .filter(|s| s.len() >= 4)
            .map(str::to_owned)
            .collect();
        if let Some(p) = proxy_password.filter(|p| p.len() >= 4) {
            secrets.push(p.to_owned());
        }
        Scrubber { secrets }
    }

    fn clean(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

impl Drop for Scrubber {
    fn drop(&mut self) {
        for s in &mut self.secrets {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

/// The start of a non-JSON body, for messages: printable text only, at most 200 characters.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]);
    let mut s: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if body.len() > 200 && !s.is_empty() {
        s.push('…');
    }
    s
}

/// The error and its sources, joined with `: ` (reqwest's own Display says little).
fn error_chain(e: &(dyn StdError + 'static)) -> String {
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
    use credchain_core::{ErrorKind, Secret};

    fn client() -> EntraClient {
        EntraClient::builder()
            .env(Env::empty())
            .authority(Authority::parse("https://127.0.0.1:9").unwrap_or_default())
            .max_retries(0)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn input_is_validated_before_sending() {
        let c = client();
        let s = Secret::new("secret-value");
        let blank = Secret::new("  ");
        let ok = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let o = TokenRequestOptions::default();
        let cases: Vec<(&str, Grant<'_>, Vec<&str>, TokenRequestOptions, &str)> = vec![
            (
                "bad tenant",
                ok,
                vec!["s/.default"],
                o.clone(),
                "invalid tenant ID",
            ),
            ("t", ok, vec![], o.clone(), "at least one scope"),
            ("t", ok, vec!["a b"], o.clone(), "invalid scope"),
            ("t", ok, vec!["s", "x?y"], o.clone(), "invalid scope"),
            (
                "t",
                Grant::ClientSecret {
                    client_id: " ",
                    secret: &s,
                },
                vec!["s"],
                o.clone(),
                "client ID is empty",
            ),
            (
                "t",
                Grant::ClientSecret {
                    client_id: "c",
                    secret: &blank,
                },
                vec!["s"],
                o.clone(),
                "client secret is empty",
            ),
            (
                "t",
                Grant::RefreshToken {
                    client_id: "c",
                    refresh_token: &blank,
                },
                vec!["s"],
                o.clone(),
                "refresh token is empty",
            ),
            (
                "t",
                Grant::Password {
                    client_id: "c",
                    username: "",
                    password: &s,
                },
                vec!["s"],
                o.clone(),
                "username is empty",
            ),
            (
                "t",
                ok,
                vec!["s"],
                o.clone().with_claims("nope"),
                "claims challenge",
            ),
        ];
        for (tenant, grant, scopes, options, expected) in cases {
            let err = c
                .request_token("P", tenant, &grant, &scopes, &options)
                .await
                .expect_err(expected);
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.message().contains(expected), "{err}");
            assert_eq!(err.provider(), "P");
        }
    }

    #[tokio::test]
    async fn connection_refused_is_transient_and_quick() {
        // Port 9 (discard) on loopback is closed in test environments.
        let c = client();
        let s = Secret::new("secret-value");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let err = c
            .request_token("P", "t", &g, &["s/.default"], &TokenRequestOptions::default())
            .await
            .expect_err("nothing listens");
        assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
        assert!(
            err.message()
                .contains("could not reach Microsoft Entra ID at `127.0.0.1:9` after 1 attempt"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn passed_deadline_is_a_timeout() {
        let c = client();
        let s = Secret::new("secret-value");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let o = TokenRequestOptions::default().with_deadline(Instant::now());
        let err = c
            .request_token("P", "t", &g, &["s"], &o)
            .await
            .expect_err("deadline passed");
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.message().contains("the request's deadline"), "{err}");
    }

    #[test]
    fn form_has_the_grant_fields() {
        let s = Secret::new("p&ss=word");
        let body = form_body(
            &Grant::Password {
                client_id: "cid",
                username: "u@x.com",
                password: &s,
            },
            "a/.default offline_access",
            Some("{\"a\":1}"),
            "https://h/t/oauth2/v2.0/token",
            std::time::SystemTime::UNIX_EPOCH,
        )
        .unwrap_or_default();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("grant_type"), Some("password"));
        assert_eq!(get("password"), Some("p&ss=word"));
        assert_eq!(get("username"), Some("u@x.com"));
        assert_eq!(get("scope"), Some("a/.default offline_access"));
        assert_eq!(get("client_info"), Some("1"));
        assert_eq!(get("claims"), Some("{\"a\":1}"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 0..5 {
            let d = backoff(base, attempt);
            let nominal = base * (1 << attempt);
            assert!(
                d >= nominal.mul_f64(0.75) && d <= nominal.mul_f64(1.25),
                "{attempt}: {d:?}"
            );
        }
        assert_eq!(backoff(Duration::from_secs(10), 30), MAX_RETRY_DELAY);
        assert_eq!(backoff(Duration::MAX, 0), MAX_RETRY_DELAY);
        assert_eq!(backoff(Duration::MAX, 3), MAX_RETRY_DELAY);
    }

    #[tokio::test]
    async fn huge_timeout_and_retry_delay_do_not_panic() {
        let c = EntraClient::builder()
            .env(Env::empty())
            .authority(Authority::parse("https://127.0.0.1:9").unwrap_or_default())
            .timeout(Duration::MAX)
            .retry_delay(Duration::MAX)
            .max_retries(1)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let s = Secret::new("secret-value");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        // Without a timeout of its own, the caller's deadline still bounds the call; the
        // first retry's delay (the 60 s cap) would pass it, so it stops after one attempt.
        let deadline = Instant::now() + Duration::from_secs(5);
        let o = TokenRequestOptions::default().with_deadline(deadline);
        let err = c
            .request_token("P", "t", &g, &["s"], &o)
            .await
            .expect_err("nothing listens");
        assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
        assert!(err.message().contains("after 1 attempt (retrying after"), "{err}");
        assert!(err.message().contains("the request's deadline"), "{err}");
    }

    #[test]
    fn retry_after_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", reqwest::header::HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", reqwest::header::HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn scrubber_and_snippet() {
        let s = Secret::new("hunter22");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let scrub = Scrubber::new(&g, Some("proxypw"));
        assert_eq!(scrub.clean("x hunter22 y proxypw"), "x *** y ***");
        assert_eq!(
            snippet(b"<html>\n  <b>bad\x07 gateway</b>\n</html>"),
            "<html> <b>bad gateway</b> </html>"
        );
    }

    #[test]
    fn an_echoed_secret_is_scrubbed_from_the_message_and_the_source() {
        let s = Secret::new("hunter22-secret");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let scrub = Scrubber::new(&g, None);
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: bad secret hunter22-secret","correlation_id":"c-1"}"#;
        for status in [401, 503] {
            let entra = entra_error(status, body, &scrub);
            let err = if status == 401 {
                refused("P", status, entra, body, &scrub)
            } else {
                Failure::Status {
                    status,
                    entra,
                    retry_after: None,
                    snippet: String::new(),
                }
                .into_error("P", "h", 1, &scrub, None)
            };
            let source = std::error::Error::source(&err).map(ToString::to_string);
            let source = source.unwrap_or_else(|| panic!("{status}: no source"));
            assert!(err.message().contains("bad secret ***"), "{err}");
            assert!(source.contains("bad secret ***"), "{source}");
            for shown in [err.to_string(), format!("{err:?}"), source] {
                assert!(!shown.contains("hunter22"), "{status}: {shown}");
            }
        }
    }

    #[test]
    fn debug_hides_proxy_credentials() {
        let c = EntraClient::builder()
            .env(Env::from_pairs([(
                "HTTPS_PROXY",
                "http://me:pr0xy-pw@127.0.0.1:3128",
            )]))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{c:?}");
        assert!(shown.contains("http://127.0.0.1:3128"), "{shown}");
        assert!(!shown.contains("pr0xy-pw"), "{shown}");
    }

    #[test]
    fn bad_configuration_fails_build() {
        let err = EntraClient::builder()
            .env(Env::from_pairs([("AZURE_AUTHORITY_HOST", "http://x")]))
            .provider_name("Mine")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.provider(), "Mine");
        assert!(err.message().contains("`AZURE_AUTHORITY_HOST`"), "{err}");
        let err = EntraClient::builder()
            .env(Env::empty())
            .add_root_certificate_pem(b"junk")
            .build()
            .unwrap_err();
        assert!(err.message().contains("root certificate"), "{err}");
    }
}
