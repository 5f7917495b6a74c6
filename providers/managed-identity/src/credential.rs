//! `ManagedIdentityCredential`, its builder and `describe()`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credchain_core::http::{HttpErrorKind, HttpResponse, SharedHttpClient};
use credchain_core::{AccessToken, Error, ProviderContext, TokenCredential, TokenRequestOptions, validate};
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use crate::arc;
use crate::errors::{self, SERVICE_FABRIC_NEEDS_OWN_CLIENT};
use crate::parse::{self, ParseError};
use crate::probe::ProbeReport;
use crate::request::{self, UserAssignedId};
use crate::retry::{self, RetryPolicy, Timer, TokioTimer};
use crate::source::{self, Source, SourceKind};

/// The provider's name, in errors, logs and `AZURE_TOKEN_CREDENTIALS`.
pub const NAME: &str = "ManagedIdentityCredential";
/// The chain probe's default timeout (as azure-identity: Python `imds.py`, Go).
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// The default limit on each real request (the caller's deadline, when sooner, wins).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Gets tokens for the managed identity of the Azure resource the program runs on: a VM or
/// scale set (IMDS), App Service, Functions or Container Apps, an Arc-enabled server, Cloud
/// Shell or Azure ML. The source is detected once, at build time, from the environment (see the
/// crate docs for the variables and the order).
///
/// Used alone, every request is retried on 404, 410, 429, 5xx and no answer. Built for a chain
/// ([`probe(true)`](ManagedIdentityCredentialBuilder::probe)), IMDS is first probed once with a
/// short timeout so a machine outside Azure moves on at once.
///
/// ```
/// use credchain_core::{Env, ProviderContext};
/// use credchain_managed_identity::{ManagedIdentityCredential, SourceKind};
/// let context = ProviderContext::new().with_env(Env::from_pairs([
///     ("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/MSI/token/"),
///     ("IDENTITY_HEADER", "secret-header"),
/// ]));
/// let credential = ManagedIdentityCredential::builder().context(context).client_id("my-app-id").build();
/// let description = credential.describe();
/// assert_eq!(description.source, Some(SourceKind::AppService));
/// assert_eq!(description.variables, ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]);
/// ```
pub struct ManagedIdentityCredential {
    source: Result<Source, Error>,
    id: Result<Option<UserAssignedId>, Error>,
    probe: bool,
    probe_timeout: Duration,
    request_timeout: Duration,
    context: ProviderContext,
    http: std::sync::OnceLock<Result<SharedHttpClient, Error>>,
    timer: Arc<dyn Timer>,
    policy: RetryPolicy,
    probed: OnceCell<ProbeReport>,
}

impl fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityCredential")
            .field("source", &self.source.as_ref().map(|s| s.kind))
            .field("user_assigned", &self.id)
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ManagedIdentityCredential`].
#[derive(Debug)]
pub struct ManagedIdentityCredentialBuilder {
    context: ProviderContext,
    ids: Vec<UserAssignedId>,
    probe: bool,
    probe_timeout: Duration,
    request_timeout: Duration,
    timer: Arc<dyn Timer>,
}

impl ManagedIdentityCredentialBuilder {
    /// Reads the environment, files and HTTP through `context` (default: the real ones).
    #[must_use]
    pub fn context(mut self, context: ProviderContext) -> Self {
        self.context = context;
        self
    }

    /// Uses the user-assigned identity with this client id (IMDS, App Service, Azure ML).
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.ids.push(UserAssignedId::ClientId(client_id.into()));
        self
    }

    /// Uses the user-assigned identity with this object (principal) id (IMDS, App Service).
    #[must_use]
    pub fn object_id(mut self, object_id: impl Into<String>) -> Self {
        self.ids.push(UserAssignedId::ObjectId(object_id.into()));
        self
    }

    /// Uses the user-assigned identity with this ARM resource id (IMDS, App Service).
    #[must_use]
    pub fn resource_id(mut self, resource_id: impl Into<String>) -> Self {
        self.ids.push(UserAssignedId::ResourceId(resource_id.into()));
        self
    }

    /// Chain use (`DefaultCredential` sets it): for IMDS, probe once, without retries and with
    /// the probe timeout, before the first real request (no answer makes the credential
    /// unavailable for good); for every source, a 2xx that is not JSON is unavailable rather than
    /// a failure, as azure-identity does inside a chain. Default: off.
    #[must_use]
    pub fn probe(mut self, probe: bool) -> Self {
        self.probe = probe;
        self
    }

    /// The chain probe's timeout (default [`DEFAULT_PROBE_TIMEOUT`]).
    #[must_use]
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// The limit on each real request (default [`DEFAULT_REQUEST_TIMEOUT`]).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The timer retries wait on (default: tokio's); tests pass a `FakeTimer` (feature `test-util`).
    #[must_use]
    pub fn timer(mut self, timer: Arc<dyn Timer>) -> Self {
        self.timer = timer;
        self
    }

    /// Detects the source from the environment. Never fails: a bad configuration is reported
    /// by [`get_token`](TokenCredential::get_token) and [`describe`](ManagedIdentityCredential::describe).
    pub fn build(self) -> ManagedIdentityCredential {
        let source = source::detect(self.context.env(), self.context.fs())
            .map_err(|reason| Error::invalid_input(NAME, reason));
        let id = match self.ids.as_slice() {
            [] => Ok(None),
            [one] => one
                .check()
                .map(|()| Some(one.clone()))
                .map_err(|reason| Error::invalid_input(NAME, reason)),
            many => Err(Error::invalid_input(
                NAME,
                format!(
                    "set at most one of client_id, object_id and resource_id; got {}",
                    many.iter()
                        .map(UserAssignedId::option_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
        if let Ok(source) = &source {
            tracing::debug!(source = %source.kind, variables = ?source.variables, "managed identity source detected");
        }
        let service_fabric = matches!(&source, Ok(s) if s.kind == SourceKind::ServiceFabric);
        ManagedIdentityCredential {
            source,
            id,
            probe: self.probe,
            probe_timeout: self.probe_timeout,
            request_timeout: self.request_timeout,
            http: match self.context.http() {
                // A client from outside cannot be made to pin Service Fabric's certificate.
                Some(_) if service_fabric => {
                    std::sync::OnceLock::from(Err(Error::unavailable(NAME, SERVICE_FABRIC_NEEDS_OWN_CLIENT)))
                }
                Some(http) => std::sync::OnceLock::from(Ok(http.clone())),
                None => std::sync::OnceLock::new(),
            },
            context: self.context,
            timer: self.timer,
            policy: RetryPolicy::default(),
            probed: OnceCell::new(),
        }
    }
}

/// What [`ManagedIdentityCredential::describe`] reports, for `credchain doctor`. Holds no secret.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Description {
    /// The detected source, `None` when the environment is invalid.
    pub source: Option<SourceKind>,
    /// The variables the source was chosen from (names only; empty for plain IMDS).
    pub variables: Vec<&'static str>,
    /// The token endpoint.
    pub endpoint: Option<String>,
    /// The configured user-assigned identity, if any.
    pub user_assigned: Option<UserAssignedId>,
    /// Why the credential cannot work as configured, if it cannot.
    pub problem: Option<String>,
    /// The chain probe's outcome and time.
    pub probe: ProbeReport,
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Some(kind) if self.variables.is_empty() => write!(f, "{kind} (no variables set)")?,
            Some(kind) => write!(f, "{kind} (from {})", self.variables.join(", "))?,
            None => f.write_str("no source")?,
        }
        if let Some(endpoint) = &self.endpoint {
            write!(f, " at {endpoint}")?;
        }
        match &self.user_assigned {
            Some(id) => write!(f, "; user-assigned {} {}", id.option_name(), id.value())?,
            None => f.write_str("; system-assigned")?,
        }
        write!(f, "; probe: {}", self.probe)?;
        if let Some(problem) = &self.problem {
            write!(f, "; problem: {problem}")?;
        }
        Ok(())
    }
}

impl ManagedIdentityCredential {
    /// Starts a builder: the real environment, system-assigned identity, no probe.
    pub fn builder() -> ManagedIdentityCredentialBuilder {
        ManagedIdentityCredentialBuilder {
            context: ProviderContext::new(),
            ids: Vec::new(),
            probe: false,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            timer: Arc::new(TokioTimer),
        }
    }

    /// The detected source, its variables and endpoint, the identity and the probe's outcome.
    pub fn describe(&self) -> Description {
        let probe = if !self.uses_probe() {
            ProbeReport::Off
        } else {
            self.probed.get().cloned().unwrap_or(ProbeReport::NotYet)
        };
        let problem = self.configuration().err().map(|e| e.message().to_owned());
        let source = self.source.as_ref().ok();
        Description {
            source: source.map(|s| s.kind),
            variables: source.map(|s| s.variables.clone()).unwrap_or_default(),
            endpoint: source.map(|s| s.endpoint.clone()),
            user_assigned: self.id.clone().ok().flatten(),
            problem,
            probe,
        }
    }

    fn uses_probe(&self) -> bool {
        self.probe && matches!(&self.source, Ok(s) if s.kind == SourceKind::Imds)
    }

    /// The source, identity and HTTP client, or why they cannot be used.
    fn configuration(&self) -> Result<(&Source, Option<&UserAssignedId>, &SharedHttpClient), Error> {
        let source = self.source.as_ref().map_err(Clone::clone)?;
        let id = self.id.as_ref().map_err(Clone::clone)?.as_ref();
        if let Some(id) = id {
            request::id_parameter(source.kind, id).map_err(|reason| Error::invalid_input(NAME, reason))?;
        }
        let http = self
            .http
            .get_or_init(|| default_http(source))
            .as_ref()
            .map_err(Clone::clone)?;
        Ok((source, id, http))
    }

    /// How long until the caller's deadline, `None` without one.
    fn remaining(&self, options: &TokenRequestOptions) -> Option<Duration> {
        options
            .deadline()
            .map(|d| d.saturating_duration_since(self.timer.now()))
    }

    /// Runs the chain probe once (concurrent first callers share it) and says whether IMDS is there.
    async fn ensure_probed(
        &self,
        http: &SharedHttpClient,
        source: &Source,
        resource: &str,
        id: Option<&UserAssignedId>,
        options: &TokenRequestOptions,
    ) -> Result<(), Error> {
        let report = self
            .probed
            .get_or_try_init(|| async {
                let remaining = self.remaining(options);
                let timeout = remaining.map_or(self.probe_timeout, |r| r.min(self.probe_timeout));
                let cut_short = timeout < self.probe_timeout;
                let request = request::token_request(source, resource, id, false)
                    .map_err(|reason| Error::invalid_input(NAME, reason))?
                    .with_timeout(timeout);
                let started = Instant::now();
                let answer = http.send(request).await;
                let elapsed = started.elapsed();
                match answer {
                    Ok(response) => Ok(ProbeReport::Answered {
                        status: response.status,
                        elapsed,
                    }),
                    // The caller's deadline, not IMDS, ended this probe: do not remember it.
                    Err(e) if cut_short && e.kind() == HttpErrorKind::Timeout => Err(Error::timeout(
                        NAME,
                        "the request's deadline passed while probing the IMDS endpoint",
                    )),
                    Err(e) => Ok(ProbeReport::NoAnswer {
                        reason: e.to_string(),
                        elapsed,
                    }),
                }
            })
            .await?;
        tracing::debug!(probe = %report, "IMDS probe");
        match report {
            ProbeReport::NoAnswer { reason, .. } => Err(Error::unavailable(
                NAME,
                format!(
                    "no response from the IMDS endpoint ({reason}); this is not an Azure VM or scale set"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Sends the token request with retries and the Arc challenge, and parses the answer.
    async fn request_token(
        &self,
        http: &SharedHttpClient,
        source: &Source,
        resource: &str,
        id: Option<&UserAssignedId>,
        options: &TokenRequestOptions,
    ) -> Result<AccessToken, Error> {
        let mut retry = 0;
        let mut slept = Duration::ZERO;
        let mut arc_key: Option<Zeroizing<String>> = None;
        loop {
            let remaining = self.remaining(options);
            if remaining == Some(Duration::ZERO) {
                return Err(Error::timeout(
                    NAME,
                    format!(
                        "the request's deadline passed before the {} endpoint answered",
                        source.kind
                    ),
                ));
            }
            let timeout = remaining.map_or(self.request_timeout, |r| r.min(self.request_timeout));
            let mut request = request::token_request(source, resource, id, true)
                .map_err(|reason| Error::invalid_input(NAME, reason))?
                .with_timeout(timeout);
            if let Some(key) = &arc_key {
                request = request.with_header("Authorization", format!("Basic {}", key.as_str()));
            }
            let (status, retry_after, failure) = match http.send(request).await {
                Ok(response) if (200..300).contains(&response.status) => {
                    return self.token_from(&response, source.kind, id);
                }
                Ok(response)
                    if source.kind == SourceKind::AzureArc && response.status == 401 && arc_key.is_none() =>
                {
                    let path = arc::key_file(response.header("www-authenticate"), self.context.env())
                        .map_err(|reason| Error::authentication_failed(NAME, reason))?;
                    let key = arc::read_key(self.context.fs(), &path)
                        .map_err(|reason| Error::authentication_failed(NAME, reason))?;
                    arc_key = Some(key);
                    continue;
                }
                Ok(response) => (
                    Some(response.status),
                    retry::retry_after(&response),
                    errors::from_status(
                        NAME,
                        source.kind,
                        response.status,
                        &response.body,
                        id.is_some(),
                        &[
                            source.secret.as_ref().map_or("", |s| s.expose()),
                            arc_key.as_ref().map_or("", |k| k.as_str()),
                        ],
                    ),
                ),
                Err(e) if e.kind() == HttpErrorKind::Other && source.kind != SourceKind::Imds => {
                    return Err(self.no_answer(source.kind, &e));
                }
                Err(e) => (None, None, self.no_answer(source.kind, &e)),
            };
            let Some(delay) = self.policy.delay(retry, status, retry_after, slept) else {
                return Err(failure);
            };
            // Measured again: the attempt itself took time, up to its whole timeout. A retry
            // would have followed, so it is the caller's deadline that ends the request: a timeout.
            if self.remaining(options).is_some_and(|r| delay >= r) {
                let message = format!(
                    "{} (stopped retrying: the request's deadline is too near)",
                    failure.message()
                );
                return Err(
                    errors::with_message(&failure, message).with_kind(credchain_core::ErrorKind::Timeout)
                );
            }
            tracing::debug!(source = %source.kind, status = ?status, retry, delay_ms = delay.as_millis() as u64, "retrying managed identity request");
            self.timer.sleep(delay).await;
            slept += delay;
            retry += 1;
        }
    }

    /// The error for a request that got no HTTP answer, or one that could not be read (cut
    /// short, not HTTP, over the body cap): the message says which.
    fn no_answer(&self, kind: SourceKind, e: &credchain_core::http::HttpError) -> Error {
        let what = match e.kind() {
            HttpErrorKind::Connect | HttpErrorKind::Timeout => "no response",
            _ => "no usable response",
        };
        let proven = matches!(self.probed.get(), Some(ProbeReport::Answered { .. }));
        if kind == SourceKind::Imds && !proven {
            return Error::unavailable(NAME, format!("{what} from the IMDS endpoint ({e})"));
        }
        let message = format!("{what} from the {kind} managed identity endpoint ({e})");
        match e.kind() {
            HttpErrorKind::Timeout => Error::timeout(NAME, message),
            HttpErrorKind::Connect => Error::transient(NAME, message),
            // A refused certificate (Service Fabric's pin), an answer too large: a retry
            // cannot help.
            _ => Error::authentication_failed(
                NAME,
                format!("the {kind} managed identity endpoint could not be used ({e})"),
            ),
        }
    }

    /// A token from a 2xx answer, or why not.
    fn token_from(
        &self,
        response: &HttpResponse,
        kind: SourceKind,
        id: Option<&UserAssignedId>,
    ) -> Result<AccessToken, Error> {
        let parsed = parse::token(&response.body, self.context.clock().now()).map_err(|e| {
            let message = format!(
                "the {kind} managed identity endpoint answered {}, but {}",
                response.status,
                e.describe()
            );
            if e == ParseError::NotJson && self.probe {
                Error::unavailable(
                    NAME,
                    format!("{message}; it is probably not a managed identity endpoint"),
                )
            } else {
                Error::authentication_failed(NAME, message)
            }
        })?;
        if let (Some(UserAssignedId::ClientId(wanted)), Some(got)) = (id, &parsed.client_id)
            && !got.eq_ignore_ascii_case(wanted)
        {
            // The endpoint's words: one line, bounded.
            let got = errors::endpoint_text(got.as_bytes(), &[]);
            return Err(Error::authentication_failed(
                NAME,
                format!(
                    "the {kind} endpoint returned a token for client id `{got}`, not the requested `{wanted}`; refusing it \
                     (check that this identity is assigned to the resource)"
                ),
            ));
        }
        Ok(parsed.token)
    }
}

/// The default client: credchain-entra's, built on first use. Managed identity endpoints are
/// plain `http://` on the machine or link-local, which that client never proxies, so it gets
/// no proxy or CA variables (a bad `HTTPS_PROXY` must not break managed identity). An `http://`
/// endpoint (IMDS, and the local endpoints of App Service, Arc, Azure ML and Cloud Shell) gets an
/// `http_only` client, which loads no TLS roots: a chain probing IMDS on a laptop then pays only
/// for the probe (`benches/imds_probe.rs` in the root crate). With a thumbprint (Service Fabric),
/// it accepts only the server certificate with that thumbprint.
pub(crate) fn default_http(source: &Source) -> Result<SharedHttpClient, Error> {
    let thumbprint = source.thumbprint.as_deref();
    let mut builder = credchain_entra::EntraHttpClient::builder()
        .env(credchain_core::Env::empty())
        .http_only(source.endpoint.starts_with("http://"))
        .max_body_bytes(parse::MAX_RESPONSE);
    if let Some(thumbprint) = thumbprint {
        builder = builder.pin_server_certificate(thumbprint);
    }
    let client = builder.build().map_err(|e| match thumbprint {
        Some(_) => Error::invalid_input(
            NAME,
            format!("`IDENTITY_SERVER_THUMBPRINT` cannot be used: {}", e.message()),
        ),
        None => Error::unavailable(NAME, format!("cannot set up the HTTP client: {}", e.message())),
    })?;
    Ok(Arc::new(client))
}

#[async_trait::async_trait]
impl TokenCredential for ManagedIdentityCredential {
    fn name(&self) -> &str {
        NAME
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        validate::request(NAME, scopes, options)?;
        let (source, id, http) = self.configuration()?;
        let resource = request::resource(scopes).map_err(|reason| Error::invalid_input(NAME, reason))?;
        if self.uses_probe() {
            self.ensure_probed(http, source, &resource, id, options).await?;
        }
        self.request_token(http, source, &resource, id, options).await
    }
}
