//! [`AzureCoreCredential`]: any credchain credential as an `azure_core` credential.

use std::sync::Arc;

use azure_core::credentials::{
    AccessToken as AzAccessToken, TokenCredential as AzTokenCredential,
    TokenRequestOptions as AzTokenRequestOptions,
};

use super::convert::{into_azure_error, to_azure_token};
use crate::{TokenCredential, TokenRequestOptions};

/// Hands a credchain credential — a provider, a [`ChainedCredential`](crate::ChainedCredential),
/// a `DefaultCredential`, anything implementing [`TokenCredential`] — to an official Azure SDK
/// client as an `azure_core::credentials::TokenCredential`.
///
/// Each `get_token` first tries the credential's allocation-free
/// [`get_token_now`](TokenCredential::get_token_now) (a cache hit), then its async
/// `get_token`. Errors become `azure_core` errors of kind `Credential` that keep credchain's
/// message and carry the credchain [`Error`](crate::Error) as their source; see
/// [`into_azure_error`](super::into_azure_error).
///
/// # Request options
///
/// `azure_core`'s `TokenRequestOptions` has no tenant, claims or CAE fields. The options sent
/// to the wrapped credential are, in order of preference:
///
/// 1. a credchain [`TokenRequestOptions`] found in the request's `azure_core` `Context`
///    (insert one with `Context::with_value` in a client method's `method_options`);
/// 2. the options given to [`with_options`](Self::with_options);
/// 3. `TokenRequestOptions::default()`: the credential's home tenant, no claims.
///
/// Note that an SDK client's `BearerTokenAuthorizationPolicy` keeps one token per client and
/// asks again only when it nears expiry or after a 401, so per-call options in the `Context`
/// reach the credential only on those calls.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use credchain::ChainedCredential;
/// use credchain::azure_core_interop::AzureCoreCredential;
/// use credchain::testing::StaticCredential;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let chain = ChainedCredential::builder()
///     .provider(StaticCredential::new("Test", "the-token"))
///     .build()?;
/// // What an SDK client constructor takes, e.g. `SecretClient::new(url, credential, None)`:
/// let credential: Arc<dyn azure_core::credentials::TokenCredential> = AzureCoreCredential::shared(chain);
/// let token = credential.get_token(&["https://vault.azure.net/.default"], None).await?;
/// assert_eq!(token.token.secret(), "the-token");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AzureCoreCredential<T> {
    inner: T,
    options: TokenRequestOptions,
}

impl<T: TokenCredential> AzureCoreCredential<T> {
    /// Wraps `inner`; requests carry default options unless a `Context` says otherwise.
    pub fn new(inner: T) -> Self {
        AzureCoreCredential {
            inner,
            options: TokenRequestOptions::default(),
        }
    }

    /// Wraps `inner` and returns it the way SDK client constructors take a credential.
    pub fn shared(inner: T) -> Arc<dyn AzTokenCredential>
    where
        T: 'static,
    {
        Arc::new(Self::new(inner))
    }

    /// Sends `options` (a tenant, a deadline, CAE, …) with every request that has no credchain
    /// options in its `Context`.
    pub fn with_options(mut self, options: TokenRequestOptions) -> Self {
        self.options = options;
        self
    }

    /// The options sent when a request's `Context` has none.
    pub fn options(&self) -> &TokenRequestOptions {
        &self.options
    }

    /// Turns this adapter into what SDK client constructors take.
    pub fn into_shared(self) -> Arc<dyn AzTokenCredential>
    where
        T: 'static,
    {
        Arc::new(self)
    }

    /// The wrapped credential.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped credential, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the credential.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

#[async_trait::async_trait]
impl<T: TokenCredential> AzTokenCredential for AzureCoreCredential<T> {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<AzTokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzAccessToken> {
        let from_context = options
            .as_ref()
            .and_then(|o| o.method_options.context.value::<TokenRequestOptions>());
        let options = from_context.unwrap_or(&self.options);
        let token = match self.inner.get_token_now(scopes, options) {
            Some(token) => token,
            None => self
                .inner
                .get_token(scopes, options)
                .await
                .map_err(into_azure_error)?,
        };
        to_azure_token(self.inner.name(), &token)
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::{ScriptedCredential, StaticCredential};
    use crate::{AccessToken, Error, ErrorKind};
    use azure_core::http::{ClientMethodOptions, Context};
    use std::time::{Duration, SystemTime};

    const SCOPE: &str = "https://vault.azure.net/.default";

    #[tokio::test]
    async fn passes_the_token_and_expiry_through() {
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let adapter = AzureCoreCredential::new(StaticCredential::with_token(
            "Static",
            AccessToken::new("abc", expires),
        ));
        let token = adapter.get_token(&[SCOPE], None).await.unwrap();
        assert_eq!(token.token.secret(), "abc");
        assert_eq!(token.expires_on.unix_timestamp(), 1_900_000_000);
    }

    #[tokio::test]
    async fn options_come_from_the_context_then_the_defaults() {
        let scripted = ScriptedCredential::new("Scripted").always_ok("tok");
        let adapter = AzureCoreCredential::new(&scripted)
            .with_options(TokenRequestOptions::new().with_tenant_id("default-tenant"));
        adapter.get_token(&[SCOPE], None).await.unwrap();
        adapter
            .get_token(&[SCOPE], Some(AzTokenRequestOptions::default()))
            .await
            .unwrap();
        let per_call = TokenRequestOptions::new()
            .with_tenant_id("call-tenant")
            .with_claims(r#"{"access_token":{"nbf":{"essential":true}}}"#);
        let az_options = AzTokenRequestOptions {
            method_options: ClientMethodOptions {
                context: Context::new().with_value(per_call),
            },
        };
        adapter.get_token(&[SCOPE], Some(az_options)).await.unwrap();

        let requests = scripted.requests();
        let tenants: Vec<_> = requests.iter().map(|r| r.tenant_id.as_deref()).collect();
        assert_eq!(
            tenants,
            [
                Some("default-tenant"),
                Some("default-tenant"),
                Some("call-tenant")
            ]
        );
        assert_eq!(requests[0].claims, None);
        assert!(requests[2].claims.as_deref().is_some_and(|c| c.contains("nbf")));
        assert_eq!(requests[2].scopes, [SCOPE]);
    }

    #[tokio::test]
    async fn errors_keep_kind_message_and_provider() {
        for (error, kind) in [
            (Error::unavailable("P", "run `az login`"), ErrorKind::Unavailable),
            (
                Error::authentication_failed("P", "AADSTS7000215: bad"),
                ErrorKind::AuthenticationFailed,
            ),
            (Error::timeout("P", "gave up after 10 s"), ErrorKind::Timeout),
            (Error::transient("P", "503"), ErrorKind::Transient),
            (Error::invalid_input("P", "bad scope"), ErrorKind::InvalidInput),
        ] {
            let expected = error.to_string();
            let adapter = AzureCoreCredential::new(StaticCredential::failing("P", error));
            let err = adapter.get_token(&[SCOPE], None).await.unwrap_err();
            assert!(matches!(err.kind(), azure_core::error::ErrorKind::Credential));
            assert_eq!(err.to_string(), expected);
            let inner = err.downcast_ref::<Error>().unwrap();
            assert_eq!((inner.kind(), inner.provider()), (kind, "P"));
        }
    }

    #[test]
    fn wrapper_accessors() {
        let mut adapter = AzureCoreCredential::new(StaticCredential::new("A", "t"));
        assert_eq!(adapter.get_ref().name(), "A");
        assert_eq!(adapter.get_mut().name(), "A");
        assert_eq!(adapter.options(), &TokenRequestOptions::default());
        assert_eq!(adapter.into_inner().name(), "A");
    }
}
