//! `WorkloadIdentityCredential` and its builder.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use credchain_core::{AccessToken, Error, ProviderContext, TokenCredential, TokenRequestOptions, validate};
use credchain_entra::{Authority, EntraClient};

use crate::assertion::AssertionFile;
use crate::config::{self, Overrides, Problem, WorkloadIdentityInfo};
use crate::exchange::{EntraExchange, Exchange};
use crate::refusal;

/// The provider's name, in errors, logs and `AZURE_TOKEN_CREDENTIALS`.
pub const NAME: &str = "WorkloadIdentityCredential";

/// Exchanges a federated token from a file (the service account token Kubernetes projects into
/// an AKS pod, or a CI job's OIDC token) for a Microsoft Entra access token.
///
/// Configuration: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE` and the
/// optional `AZURE_AUTHORITY_HOST`, read through the [`ProviderContext`]; builder options win.
/// The file is read when a token is needed, and again by the re-read rule in the crate docs.
///
/// ```
/// use credchain_core::{Env, ErrorKind, ProviderContext};
/// use credchain_workload_identity::WorkloadIdentityCredential;
/// let context = ProviderContext::new().with_env(Env::from_pairs([("AZURE_CLIENT_ID", "app")]));
/// // Alone: a construction error naming what is missing.
/// let err = WorkloadIdentityCredential::builder().context(context.clone()).build().unwrap_err();
/// assert!(err.message().contains("set `AZURE_TENANT_ID` and `AZURE_FEDERATED_TOKEN_FILE`"));
/// // In a chain: always built; `get_token` reports the same message as unavailable.
/// let credential = WorkloadIdentityCredential::builder().context(context).build_for_chain();
/// assert_eq!(credential.describe().missing(), ["AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"]);
/// ```
pub struct WorkloadIdentityCredential {
    state: State,
    home_tenant: Option<String>,
    context: ProviderContext,
    overrides: Overrides,
}

enum State {
    /// Not configured: a chain moves on.
    Unavailable(String),
    /// Configured but unusable (bad tenant, bad authority host): a chain stops.
    Failed(Error),
    Ready(Box<Ready>),
}

struct Ready {
    tenant_id: String,
    client_id: String,
    file: AssertionFile,
    exchange: Arc<dyn Exchange>,
}

/// Builds a [`WorkloadIdentityCredential`]: [`build`](Self::build) for standalone use (fails
/// when not configured), [`build_for_chain`](Self::build_for_chain) for chains (never fails).
pub struct WorkloadIdentityCredentialBuilder {
    context: ProviderContext,
    overrides: Overrides,
    client: Option<EntraClient>,
    timeout: Option<Duration>,
}

impl fmt::Debug for WorkloadIdentityCredentialBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadIdentityCredentialBuilder")
            .field("overrides", &self.overrides)
            .field("client", &self.client)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WorkloadIdentityCredentialBuilder {
    /// Reads variables, files and time, and sends HTTP, through `context` (default: the
    /// process environment, the real file system and clock, and credchain-entra's HTTP client).
    pub fn context(mut self, context: ProviderContext) -> Self {
        self.context = context;
        self
    }

    /// The tenant, instead of `AZURE_TENANT_ID`.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.overrides.tenant_id = Some(tenant_id.into());
        self
    }

    /// The client ID of the federated application or user-assigned identity, instead of
    /// `AZURE_CLIENT_ID`.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.overrides.client_id = Some(client_id.into());
        self
    }

    /// The federated token file, instead of `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn token_file_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.overrides.token_file = Some(path.into());
        self
    }

    /// The authority host, instead of `AZURE_AUTHORITY_HOST` (default: the public cloud).
    /// Ignored when a [`client`](Self::client) is given.
    pub fn authority(mut self, authority: Authority) -> Self {
        self.overrides.authority = Some(authority);
        self
    }

    /// Sends token requests with `client` (for example one trusting extra root certificates);
    /// its authority and timeout then apply.
    pub fn client(mut self, client: EntraClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The overall timeout of one token request, retries included (default 30 s). Ignored
    /// when a [`client`](Self::client) is given.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds a credential for standalone use.
    ///
    /// # Errors
    ///
    /// * [`ErrorKind::Unavailable`](credchain_core::ErrorKind::Unavailable) naming every
    ///   missing variable when the tenant, client ID or token file is not configured;
    /// * [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when a value is
    ///   set but unusable (blank option, invalid tenant, bad `AZURE_AUTHORITY_HOST` or proxy).
    ///
    /// The token file is not read here: it may not exist yet when the process starts.
    pub fn build(self) -> Result<WorkloadIdentityCredential, Error> {
        let credential = self.build_for_chain();
        match &credential.state {
            State::Ready(_) => Ok(credential),
            State::Unavailable(message) => Err(Error::unavailable(NAME, message.clone())),
            State::Failed(e) => Err(Error::invalid_input(NAME, e.message())),
        }
    }

    /// Builds a credential for a chain: never fails. When workload identity is not configured,
    /// `get_token` returns *unavailable* naming what is missing (the chain moves on); when it
    /// is configured but unusable, *authentication failed* (the chain stops).
    pub fn build_for_chain(self) -> WorkloadIdentityCredential {
        let env = self.context.env();
        let (state, home_tenant) = match config::resolve(env, &self.overrides) {
            Err(Problem::Missing(message)) => {
                tracing::debug!(provider = NAME, reason = %message, "workload identity not configured");
                (State::Unavailable(message), None)
            }
            Err(Problem::Invalid(message)) => {
                (State::Failed(Error::authentication_failed(NAME, message)), None)
            }
            Ok(resolved) => {
                let home = Some(resolved.tenant_id.clone());
                let state = match self.entra_client() {
                    Ok(client) => State::Ready(Box::new(Ready {
                        file: AssertionFile::new(
                            NAME,
                            resolved.token_file,
                            resolved.token_file_origin,
                            self.context.clone(),
                        ),
                        tenant_id: resolved.tenant_id,
                        client_id: resolved.client_id,
                        exchange: Arc::new(EntraExchange {
                            provider: NAME,
                            client,
                        }),
                    })),
                    Err(e) => State::Failed(Error::authentication_failed(NAME, e.message())),
                };
                (state, home)
            }
        };
        let mut overrides = self.overrides;
        if let Some(client) = &self.client {
            // A given client's authority is the one used: `describe` shows that one.
            overrides.authority = Some(client.authority().clone());
        }
        WorkloadIdentityCredential {
            state,
            home_tenant,
            context: self.context,
            overrides,
        }
    }

    fn entra_client(&self) -> Result<EntraClient, Error> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let mut builder = EntraClient::builder().context(&self.context).provider_name(NAME);
        if let Some(a) = &self.overrides.authority {
            builder = builder.authority(a.clone());
        }
        if let Some(t) = self.timeout {
            builder = builder.timeout(t);
        }
        builder.build()
    }
}

impl WorkloadIdentityCredential {
    /// A builder reading the process environment unless given a [`ProviderContext`].
    pub fn builder() -> WorkloadIdentityCredentialBuilder {
        WorkloadIdentityCredentialBuilder {
            context: ProviderContext::new(),
            overrides: Overrides::default(),
            client: None,
            timeout: None,
        }
    }

    /// Every setting (value and where it came from, or why it is missing) and whether the
    /// token file exists now, for diagnostics such as `credchain doctor`. Never reads the
    /// file's contents.
    pub fn describe(&self) -> WorkloadIdentityInfo {
        config::describe(self.context.env(), &self.overrides, self.context.fs())
    }

    /// `true` when the tenant, client ID and token file are all configured and usable.
    pub fn is_configured(&self) -> bool {
        matches!(self.state, State::Ready(_))
    }

    #[cfg(test)]
    fn with_exchange(mut self, exchange: Arc<dyn Exchange>) -> Self {
        if let State::Ready(ready) = &mut self.state {
            ready.exchange = exchange;
        }
        self
    }

    #[cfg(test)]
    fn file_reads(&self) -> u64 {
        match &self.state {
            State::Ready(ready) => ready.file.reads(),
            _ => 0,
        }
    }
}

impl fmt::Debug for WorkloadIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("WorkloadIdentityCredential");
        match &self.state {
            State::Unavailable(_) => s.field("state", &"not configured"),
            State::Failed(_) => s.field("state", &"invalid"),
            State::Ready(ready) => s
                .field("tenant_id", &ready.tenant_id)
                .field("client_id", &ready.client_id)
                .field("token_file", &ready.file.path()),
        };
        s.finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for WorkloadIdentityCredential {
    fn name(&self) -> &str {
        NAME
    }

    fn home_tenant(&self) -> Option<&str> {
        self.home_tenant.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        let ready = match &self.state {
            State::Unavailable(message) => return Err(Error::unavailable(NAME, message.clone())),
            State::Failed(e) => return Err(e.clone()),
            State::Ready(ready) => ready,
        };
        validate::request(NAME, scopes, options)?;
        let tenant = options.tenant_id().unwrap_or(&ready.tenant_id);
        let assertion = ready.file.current()?;
        let first = ready
            .exchange
            .exchange(tenant, &ready.client_id, &assertion.value, scopes, options)
            .await;
        let refusal = match first {
            Err(e) if refusal::is_expired(&e) => e,
            other => return other.map_err(|e| refusal::explain(e, &ready.client_id)),
        };
        // Entra says the assertion expired: the file has probably been rotated since we read
        // it. Read it once more and, if it changed, try once more.
        let path = ready.file.path();
        let fresh = ready.file.reread(assertion.generation)?;
        if fresh.value.expose() == assertion.value.expose() {
            return Err(refusal::still_expired(&refusal, path, false));
        }
        tracing::debug!(
            provider = NAME,
            "Microsoft Entra ID refused the federated token as expired (AADSTS700024); retrying once \
             with the token file read again"
        );
        ready
            .exchange
            .exchange(tenant, &ready.client_id, &fresh.value, scopes, options)
            .await
            .map_err(|e| {
                if refusal::is_expired(&e) {
                    refusal::still_expired(&e, path, true)
                } else {
                    refusal::explain(e, &ready.client_id)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credchain_core::fs::MemoryFileSystem;
    use credchain_core::{Env, ErrorKind, FakeClock, Secret};
    use std::sync::Mutex;
    use std::time::SystemTime;

    const PATH: &str = "/var/run/secrets/azure/tokens/azure-identity-token";
    const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
    const APP: &str = "11111111-2222-3333-4444-555555555555";
    const SCOPE: &str = "https://management.azure.com/.default";
    const EXPIRED: &str = "AADSTS700024: Client assertion is not within its valid time range.";

    /// Answers from a script and records what was sent.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: Mutex<Vec<Result<(), String>>>,
        sent: Mutex<Vec<(String, String, String)>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<(), String>>) -> Arc<Self> {
            Arc::new(Scripted {
                answers: Mutex::new(answers),
                sent: Mutex::default(),
            })
        }

        fn sent(&self) -> Vec<(String, String, String)> {
            self.sent.lock().expect("lock").clone()
        }
    }

    #[async_trait::async_trait]
    impl Exchange for Scripted {
        async fn exchange(
            &self,
            tenant: &str,
            client_id: &str,
            assertion: &Secret,
            _scopes: &[&str],
            _options: &TokenRequestOptions,
        ) -> Result<AccessToken, Error> {
            self.sent.lock().expect("lock").push((
                tenant.to_owned(),
                client_id.to_owned(),
                assertion.expose().to_owned(),
            ));
            let mut answers = self.answers.lock().expect("lock");
            let answer = if answers.is_empty() {
                Ok(())
            } else {
                answers.remove(0)
            };
            match answer {
                Ok(()) => Ok(AccessToken::new(
                    "access-token",
                    SystemTime::now() + Duration::from_secs(3600),
                )),
                Err(m) => Err(Error::authentication_failed(NAME, m)),
            }
        }
    }

    fn context(fs: &MemoryFileSystem, pairs: &[(&str, &str)]) -> ProviderContext {
        ProviderContext::new()
            .with_env(Env::from_pairs(
                pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            ))
            .with_fs(fs.clone())
            .with_clock(FakeClock::at_unix(1_800_000_000))
    }

    fn configured(fs: &MemoryFileSystem, script: &Arc<Scripted>) -> WorkloadIdentityCredential {
        let ctx = context(
            fs,
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_FEDERATED_TOKEN_FILE", PATH),
            ],
        );
        WorkloadIdentityCredential::builder()
            .context(ctx)
            .build()
            .expect("configured")
            .with_exchange(Arc::clone(script) as Arc<dyn Exchange>)
    }

    async fn get(c: &WorkloadIdentityCredential) -> Result<AccessToken, Error> {
        c.get_token(&[SCOPE], &TokenRequestOptions::default()).await
    }

    #[tokio::test]
    async fn sends_the_trimmed_file_for_the_home_tenant_or_the_requested_one() {
        let fs = MemoryFileSystem::new().with_file(PATH, "federated-token\n");
        let script = Scripted::new(vec![]);
        let c = configured(&fs, &script);
        assert_eq!(c.home_tenant(), Some(TENANT));
        get(&c).await.expect("token");
        let options = TokenRequestOptions::default().with_tenant_id("other-tenant");
        c.get_token(&[SCOPE], &options).await.expect("token");
        let sent = script.sent();
        assert_eq!(sent[0], (TENANT.into(), APP.into(), "federated-token".into()));
        assert_eq!(sent[1].0, "other-tenant");
    }

    fn jwt(marker: &str) -> String {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"exp":1800003600,"sub":"{marker}"}}"#));
        format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")
    }

    #[tokio::test]
    async fn an_expired_assertion_is_read_again_and_retried_once() {
        let (a, b) = (jwt("a"), jwt("b"));
        let fs = MemoryFileSystem::new().with_file(PATH, &a);
        let script = Scripted::new(vec![Ok(()), Err(EXPIRED.into()), Ok(())]);
        let c = configured(&fs, &script);
        get(&c).await.expect("first token; the assertion is cached");
        // Kubernetes rotates the file; our cached assertion is still "fresh" by its `exp`, but
        // Entra (whose clock is what counts) refuses it.
        fs.write(PATH, &b);
        get(&c).await.expect("retried with the rotated file");
        let sent: Vec<String> = script.sent().into_iter().map(|s| s.2).collect();
        assert_eq!(sent, [a.clone(), a, b]);
        assert_eq!(c.file_reads(), 2);
    }

    #[tokio::test]
    async fn an_unchanged_file_is_not_retried_and_the_error_says_what_to_check() {
        let fs = MemoryFileSystem::new().with_file(PATH, jwt("a"));
        let script = Scripted::new(vec![Err(EXPIRED.into())]);
        let c = configured(&fs, &script);
        let err = get(&c).await.expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(script.sent().len(), 1);
        assert_eq!(c.file_reads(), 2);
        let m = err.message();
        assert!(m.starts_with("AADSTS700024"), "{m}");
        assert!(
            m.contains("still holds the same token") && m.contains(&format!("`{PATH}`")),
            "{m}"
        );
        // The original refusal stays reachable as the source.
        assert!(std::error::Error::source(&err).is_some());
    }

    #[tokio::test]
    async fn a_second_refusal_is_returned_after_exactly_one_retry() {
        let fs = MemoryFileSystem::new().with_file(PATH, jwt("a"));
        let script = Scripted::new(vec![Err(EXPIRED.into()); 3]);
        let c = configured(&fs, &script);
        let first = get(&c).await.expect_err("same file");
        assert!(first.message().contains("still holds the same token"), "{first}");
        fs.write(PATH, jwt("b"));
        let err = get(&c).await.expect_err("refused twice");
        assert!(err.message().contains("the new token was refused too"), "{err}");
        // First call: "a" refused, file unchanged, no retry. Second: the cached "a" refused,
        // "b" read and refused: one retry, not more.
        assert_eq!(script.sent().len(), 3);
    }

    #[tokio::test]
    async fn other_refusals_are_not_retried() {
        let fs = MemoryFileSystem::new().with_file(PATH, jwt("a"));
        let script = Scripted::new(vec![Err(
            "AADSTS70021: No matching federated identity record found for presented assertion.".into(),
        )]);
        let c = configured(&fs, &script);
        let err = get(&c).await.expect_err("refused");
        assert!(err.message().starts_with("AADSTS70021"), "{err}");
        assert_eq!(script.sent().len(), 1);
        assert_eq!(c.file_reads(), 1);
    }

    #[tokio::test]
    async fn bad_input_is_refused_before_the_file_is_read() {
        let fs = MemoryFileSystem::new().with_file(PATH, jwt("a"));
        let script = Scripted::new(vec![]);
        let c = configured(&fs, &script);
        for (scopes, options) in [
            (vec![], TokenRequestOptions::default()),
            (vec!["bad scope"], TokenRequestOptions::default()),
            (
                vec![SCOPE],
                TokenRequestOptions::default().with_tenant_id("bad/tenant"),
            ),
        ] {
            let err = c.get_token(&scopes, &options).await.expect_err("invalid");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        }
        assert_eq!(c.file_reads(), 0);
        assert!(script.sent().is_empty());
    }

    #[tokio::test]
    async fn not_configured_is_unavailable_in_a_chain_and_an_error_alone() {
        let fs = MemoryFileSystem::new();
        let ctx = context(&fs, &[("AZURE_CLIENT_ID", APP), ("AZURE_TENANT_ID", TENANT)]);
        let chain = WorkloadIdentityCredential::builder()
            .context(ctx.clone())
            .build_for_chain();
        assert!(!chain.is_configured());
        let err = get(&chain).await.expect_err("unavailable");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(
            err.message().contains("set `AZURE_FEDERATED_TOKEN_FILE`"),
            "{err}"
        );
        let alone = WorkloadIdentityCredential::builder()
            .context(ctx)
            .build()
            .expect_err("alone");
        assert_eq!(alone.kind(), ErrorKind::Unavailable);
        assert_eq!(alone.message(), err.message());
    }

    #[tokio::test]
    async fn misconfiguration_stops_a_chain_and_fails_construction() {
        let fs = MemoryFileSystem::new().with_file(PATH, jwt("a"));
        let bad_host = context(
            &fs,
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_FEDERATED_TOKEN_FILE", PATH),
                ("AZURE_AUTHORITY_HOST", "http://login.example"),
            ],
        );
        let chain = WorkloadIdentityCredential::builder()
            .context(bad_host.clone())
            .build_for_chain();
        let err = get(&chain).await.expect_err("bad host");
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
        assert!(err.message().contains("AZURE_AUTHORITY_HOST"), "{err}");
        let alone = WorkloadIdentityCredential::builder()
            .context(bad_host)
            .build()
            .expect_err("alone");
        assert_eq!(alone.kind(), ErrorKind::InvalidInput);
        // An option overrides the bad variable.
        let ok = WorkloadIdentityCredential::builder()
            .context(context(
                &fs,
                &[
                    ("AZURE_AUTHORITY_HOST", "http://login.example"),
                    ("AZURE_CLIENT_ID", APP),
                ],
            ))
            .tenant_id(TENANT)
            .token_file_path(PATH)
            .authority(Authority::public())
            .build();
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn describe_shows_the_authority_of_a_given_client() {
        let fs = MemoryFileSystem::new();
        let client = EntraClient::builder()
            .env(Env::empty())
            .authority(Authority::china())
            .build()
            .expect("client");
        let c = WorkloadIdentityCredential::builder()
            .context(context(&fs, &[]))
            .authority(Authority::us_government())
            .client(client)
            .build_for_chain();
        let host = c.describe().authority_host;
        assert_eq!(host.value.as_deref(), Some("https://login.chinacloudapi.cn"));
        assert_eq!(host.source, crate::Source::Option);
    }

    #[tokio::test]
    async fn debug_shows_identifiers_but_never_the_assertion() {
        let token = jwt("secret-subject");
        let fs = MemoryFileSystem::new().with_file(PATH, &token);
        let script = Scripted::new(vec![]);
        let c = configured(&fs, &script);
        get(&c).await.expect("token");
        let shown = format!("{c:?}");
        assert!(shown.contains(APP) && shown.contains(PATH), "{shown}");
        assert!(!shown.contains(&token[25..]), "{shown}");
    }
}
