//! [`FromAzureCore`]: an official `azure_core` credential as a credchain provider.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential as AzTokenCredential;

use super::convert::{classify, from_azure_error, from_azure_token};
use crate::{AccessToken, Error, ErrorKind, TokenCredential, TokenRequestOptions, validate};
use credchain_core::tenant::same_tenant;

type Classifier = Arc<dyn Fn(&azure_core::Error) -> ErrorKind + Send + Sync>;

/// Uses an official Azure SDK credential (any `Arc<dyn azure_core::credentials::TokenCredential>`,
/// e.g. from `azure_identity`) as a credchain provider, so it can sit in a
/// [`ChainedCredential`](crate::ChainedCredential) behind credchain's tenant and cache
/// middleware.
///
/// # What maps and what cannot
///
/// | credchain request | what happens |
/// |---|---|
/// | scopes, tenant, claims | checked first with [`validate::request`] (`InvalidInput` for no scope or a bad scope, tenant or claims shape) |
/// | scopes | passed as they are |
/// | tenant | `azure_core` cannot ask for one: a tenant equal (ignoring ASCII case) to [`with_home_tenant`](Self::with_home_tenant) is fine; any other is `Unavailable`, so a chain moves on instead of returning a token for the wrong tenant |
/// | claims challenge | cannot be passed on: `Unavailable`, naming the claims |
/// | CAE | cannot be passed on; ignored (a token without CAE still works, it just is not revoked early) |
/// | deadline, [`with_timeout`](Self::with_timeout) | enforced here (needs a Tokio runtime): the call is dropped and `Timeout` returned. The official CLI credentials run `az` on their own thread or task, which is not killed |
///
/// The token comes back as a `Bearer` token without `refresh_on`. Errors are classified by
/// [`classify`](super::classify) unless you give [`classify_with`](Self::classify_with) a rule;
/// the message is the `azure_core` error's text, unchanged (so it says what the official crate
/// says, including `az`'s stderr, which credchain does not sanitise here).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use credchain::azure_core_interop::{AzureCoreCredential, FromAzureCore};
/// use credchain::testing::StaticCredential;
/// use credchain::{ChainedCredential, ErrorKind, TokenRequestOptions};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), credchain::Error> {
/// // Any `Arc<dyn azure_core::credentials::TokenCredential>`, e.g. `azure_identity::AzureCliCredential::new(None)?`.
/// let official = AzureCoreCredential::shared(StaticCredential::new("Stand-in", "tok"));
/// let chain = ChainedCredential::builder()
///     .developer_tool(
///         FromAzureCore::new("OfficialAzureCli", official)
///             .classify_with(|_| ErrorKind::Unavailable)
///             .with_timeout(std::time::Duration::from_secs(10)),
///     )
///     .build()?;
/// let token = chain.get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new()).await?;
/// assert_eq!(token.secret(), "tok");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FromAzureCore {
    name: Box<str>,
    inner: Arc<dyn AzTokenCredential>,
    home_tenant: Option<Box<str>>,
    timeout: Option<Duration>,
    classifier: Option<Classifier>,
}

impl FromAzureCore {
    /// Wraps `credential` as a provider called `name` (used in errors, tracing and chain
    /// listings).
    pub fn new(name: impl Into<Box<str>>, credential: Arc<dyn AzTokenCredential>) -> Self {
        FromAzureCore {
            name: name.into(),
            inner: credential,
            home_tenant: None,
            timeout: None,
            classifier: None,
        }
    }

    /// The tenant the wrapped credential was built for (e.g. `ClientSecretCredential`'s
    /// `tenant_id`). The tenant middleware resolves requests against it, and requests for this
    /// tenant are served.
    pub fn with_home_tenant(mut self, tenant_id: impl Into<Box<str>>) -> Self {
        self.home_tenant = Some(tenant_id.into());
        self
    }

    /// Gives up after `timeout` and returns `Timeout`. The official `AzureCliCredential` has no
    /// timeout of its own, so a hung `az` would otherwise hang the caller.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Decides the [`ErrorKind`] of each `azure_core` error (default: [`classify`](super::classify)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use credchain::ErrorKind;
    /// use credchain::azure_core_interop::{FromAzureCore, classify};
    /// # fn wrap(official: Arc<dyn azure_core::credentials::TokenCredential>) -> FromAzureCore {
    /// // The official CLI credential says "az not found on PATH" or asks you to run `az login`
    /// // only in text: treat those as "not set up here" so a chain moves on.
    /// FromAzureCore::new("OfficialAzureCli", official).classify_with(|err| {
    ///     let text = err.to_string();
    ///     if text.contains("not found on PATH") || text.contains("az login") {
    ///         ErrorKind::Unavailable
    ///     } else {
    ///         classify(err)
    ///     }
    /// })
    /// # }
    /// ```
    pub fn classify_with(
        mut self,
        classifier: impl Fn(&azure_core::Error) -> ErrorKind + Send + Sync + 'static,
    ) -> Self {
        self.classifier = Some(Arc::new(classifier));
        self
    }

    /// The wrapped credential.
    pub fn get_ref(&self) -> &Arc<dyn AzTokenCredential> {
        &self.inner
    }

    /// The wrapped credential, mutably.
    pub fn get_mut(&mut self) -> &mut Arc<dyn AzTokenCredential> {
        &mut self.inner
    }

    /// Unwraps the credential.
    pub fn into_inner(self) -> Arc<dyn AzTokenCredential> {
        self.inner
    }

    /// The timeout set by [`with_timeout`](Self::with_timeout), if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn check_request(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<(), Error> {
        let name = &*self.name;
        validate::request(name, scopes, options)?;
        if let Some(tenant) = options.tenant_id() {
            let home = self.home_tenant.as_deref();
            if !home.is_some_and(|home| same_tenant(home, tenant)) {
                let configured = match home {
                    Some(home) => format!("its tenant `{home}`"),
                    None => "its default tenant (set one with `FromAzureCore::with_home_tenant`)".to_owned(),
                };
                return Err(Error::unavailable(
                    name,
                    format!(
                        "an `azure_core` credential cannot request a token for tenant `{tenant}`, only for \
                         {configured}; build another credential for that tenant"
                    ),
                ));
            }
        }
        if let Some(claims) = options.claims() {
            let shown: String = claims.chars().take(200).flat_map(char::escape_debug).collect();
            return Err(Error::unavailable(
                name,
                format!(
                    "an `azure_core` credential cannot answer a claims challenge (`{shown}`); \
                     use a credchain provider that supports claims, or sign in again interactively"
                ),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for FromAzureCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wrapped credential's Debug is not ours to trust with secrets: names only.
        f.debug_struct("FromAzureCore")
            .field("name", &self.name)
            .field("home_tenant", &self.home_tenant)
            .field("timeout", &self.timeout)
            .field("custom_classifier", &self.classifier.is_some())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for FromAzureCore {
    fn name(&self) -> &str {
        &self.name
    }

    fn home_tenant(&self) -> Option<&str> {
        self.home_tenant.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        self.check_request(scopes, options)?;
        let started = Instant::now();
        let mut deadline = self.timeout.and_then(|t| started.checked_add(t));
        let mut bound = "the timeout set with `FromAzureCore::with_timeout`";
        if let Some(caller) = options.deadline()
            && deadline.is_none_or(|d| caller < d)
        {
            deadline = Some(caller);
            bound = "the request's deadline";
        }

        let call = self.inner.get_token(scopes, None);
        let result = match deadline {
            Some(deadline) if tokio::runtime::Handle::try_current().is_ok() => {
                match tokio::time::timeout_at(deadline.into(), call).await {
                    Ok(result) => result,
                    Err(_) => {
                        return Err(Error::timeout(
                            &self.name,
                            format!(
                                "the `azure_core` credential did not answer within {bound} ({:.1} s); \
                                 check the tool or service it calls, or allow more time",
                                started.elapsed().as_secs_f64()
                            ),
                        ));
                    }
                }
            }
            Some(_) => {
                tracing::debug!(provider = %self.name, "no Tokio runtime: the deadline is not enforced");
                call.await
            }
            None => call.await,
        };

        match result {
            Ok(token) => Ok(from_azure_token(token)),
            Err(err) => {
                let kind = match &self.classifier {
                    Some(classifier) => classifier(&err),
                    None => classify(&err),
                };
                Err(from_azure_error(&self.name, kind, err))
            }
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::azure_core_interop::AzureCoreCredential;
    use crate::testing::ScriptedCredential;
    use azure_core::credentials::{AccessToken as AzAccessToken, TokenRequestOptions as AzOptions};
    use azure_core::time::OffsetDateTime;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SCOPE: &str = "https://management.azure.com/.default";

    /// An `azure_core` credential answering with a fixed result after an optional delay.
    #[derive(Debug)]
    struct Official {
        delay: Duration,
        error: Option<fn() -> azure_core::Error>,
        calls: AtomicUsize,
    }

    impl Official {
        fn ok() -> Arc<Self> {
            Arc::new(Official {
                delay: Duration::ZERO,
                error: None,
                calls: AtomicUsize::new(0),
            })
        }
    }

    #[async_trait::async_trait]
    impl AzTokenCredential for Official {
        async fn get_token(&self, _: &[&str], _: Option<AzOptions<'_>>) -> azure_core::Result<AzAccessToken> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            match self.error {
                Some(make) => Err(make()),
                None => Ok(AzAccessToken::new(
                    "official-token",
                    OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
                )),
            }
        }
    }

    #[tokio::test]
    async fn returns_the_official_token() {
        let provider = FromAzureCore::new("Official", Official::ok());
        let token = provider
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap();
        assert_eq!(token.secret(), "official-token");
        assert_eq!(
            token.expires_on(),
            std::time::UNIX_EPOCH + Duration::from_secs(1_900_000_000)
        );
        assert_eq!(token.token_type(), "Bearer");
        assert_eq!(token.refresh_on(), None);
    }

    #[tokio::test]
    async fn what_cannot_be_passed_on_is_refused_before_calling() {
        let official = Official::ok();
        let provider = FromAzureCore::new("Official", official.clone()).with_home_tenant("Home-Tenant");
        let cases = [
            (
                vec![],
                TokenRequestOptions::new(),
                ErrorKind::InvalidInput,
                "at least one scope",
            ),
            (
                vec!["bad scope"],
                TokenRequestOptions::new(),
                ErrorKind::InvalidInput,
                "invalid scope",
            ),
            (
                vec![SCOPE],
                TokenRequestOptions::new().with_tenant_id("bad tenant"),
                ErrorKind::InvalidInput,
                "invalid tenant",
            ),
            (
                vec![SCOPE],
                TokenRequestOptions::new().with_tenant_id("other"),
                ErrorKind::Unavailable,
                "tenant `other`, only for its tenant `Home-Tenant`",
            ),
            (
                vec![SCOPE],
                TokenRequestOptions::new().with_claims(r#"{"access_token":{}}"#),
                ErrorKind::Unavailable,
                "cannot answer a claims challenge",
            ),
        ];
        for (scopes, options, kind, text) in cases {
            let err = provider.get_token(&scopes, &options).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{err}");
            assert!(err.message().contains(text), "{err}");
            assert_eq!(err.provider(), "Official");
        }
        assert_eq!(official.calls.load(Ordering::SeqCst), 0);

        // The home tenant (any ASCII case) and CAE are fine.
        let options = TokenRequestOptions::new()
            .with_tenant_id("home-tenant")
            .with_enable_cae(true);
        assert!(provider.get_token(&[SCOPE], &options).await.is_ok());
        // Without a home tenant, any explicit tenant is refused.
        let err = FromAzureCore::new("Official", Official::ok())
            .get_token(&[SCOPE], &TokenRequestOptions::new().with_tenant_id("t"))
            .await
            .unwrap_err();
        assert!(err.message().contains("with_home_tenant"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_and_deadline_bound_a_hung_credential() {
        let hung = Arc::new(Official {
            delay: Duration::from_secs(3600),
            error: None,
            calls: AtomicUsize::new(0),
        });
        let provider = FromAzureCore::new("Official", hung.clone()).with_timeout(Duration::from_secs(10));
        let err = provider
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.message().contains("with_timeout"), "{err}");

        let soon = TokenRequestOptions::new().with_deadline(Instant::now() + Duration::from_secs(1));
        let err = provider.get_token(&[SCOPE], &soon).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.message().contains("the request's deadline"), "{err}");
        assert_eq!(hung.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn errors_are_classified_and_keep_their_text() {
        let refused = Arc::new(Official {
            delay: Duration::ZERO,
            error: Some(|| {
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.",
                )
            }),
            calls: AtomicUsize::new(0),
        });
        let provider = FromAzureCore::new("OfficialCli", refused.clone());
        let err = provider
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(
            err.to_string(),
            "OfficialCli: AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account."
        );

        let lenient = FromAzureCore::new("OfficialCli", refused).classify_with(|e| {
            if e.to_string().contains("az login") {
                ErrorKind::Unavailable
            } else {
                classify(e)
            }
        });
        let err = lenient
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }

    #[tokio::test]
    async fn a_round_trip_keeps_credchain_errors_and_requests() {
        let scripted = ScriptedCredential::new("Inner")
            .then_unavailable("nothing here")
            .then_ok("second");
        let provider = FromAzureCore::new("Outer", AzureCoreCredential::shared(scripted.clone()));
        let err = provider
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.provider(), err.message()),
            (ErrorKind::Unavailable, "Inner", "nothing here")
        );
        let token = provider
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap();
        assert_eq!(token.secret(), "second");
        assert_eq!(scripted.calls(), 2);
    }

    #[tokio::test]
    async fn debug_shows_names_not_the_credential() {
        #[derive(Debug)]
        struct Leaky {
            #[allow(dead_code)]
            secret: &'static str,
        }
        #[async_trait::async_trait]
        impl AzTokenCredential for Leaky {
            async fn get_token(
                &self,
                _: &[&str],
                _: Option<AzOptions<'_>>,
            ) -> azure_core::Result<AzAccessToken> {
                Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Other,
                    "no",
                ))
            }
        }
        let provider = FromAzureCore::new("Leaky", Arc::new(Leaky { secret: "hunter2" }));
        let shown = format!("{provider:?}");
        assert!(shown.contains("Leaky") && !shown.contains("hunter2"), "{shown}");
    }
}
