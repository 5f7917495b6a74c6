//! The trait every credential provider implements.

use std::sync::Arc;

use crate::{AccessToken, Error, TokenRequestOptions};

/// A source of access tokens: a provider (Azure CLI, environment, VS Code, …), a middleware
/// wrapping one, or a whole chain.
///
/// # For provider authors
///
/// * Return [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) when the provider cannot
///   even try (nothing configured, tool missing, not signed in). A chain moves on to the next
///   provider.
/// * Return [`ErrorKind::AuthenticationFailed`](crate::ErrorKind::AuthenticationFailed) when it
///   tried and was refused. A chain stops and reports it.
/// * Return [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for bad scopes, tenants
///   or options, before anything is spawned or sent.
/// * Do **not** cache tokens or apply tenant allow-lists yourself: credchain's middleware does
///   that once for every provider. When the tenant middleware wraps you, `options.tenant_id()`
///   already holds the *resolved* tenant (your [`home_tenant`](Self::home_tenant), or an allowed
///   requested one); `None` means "no tenant: use your own default". Compare tenants with
///   [`tenant::same_tenant`](crate::tenant::same_tenant) (case-insensitive).
///
/// # What a provider must check itself
///
/// A provider can be called without any middleware (directly, or by a third-party chain), so
/// before anything reaches a process argument, URL or request body it must:
///
/// 1. call [`validate::request`](crate::validate::request) (scopes present and within their
///    character set, tenant within its character set, claims shaped as a JSON object);
/// 2. check what only it knows: how many scopes its upstream takes, whether it can honour
///    claims or a tenant at all, and that the claims are well-formed JSON if it sends them;
/// 3. read outside files only through [`fs::read_bounded`](crate::fs::read_bounded) (or the
///    [`FileSystem`](crate::fs::FileSystem) seam of its [`ProviderContext`](crate::ProviderContext)).
///
/// Tenant allow-lists are *not* a provider's job: they are set once, on the chain, a chain entry,
/// `DefaultCredential` or the `TenantPolicy` middleware, and apply to every provider there.
///
/// The trait is dyn-compatible: chains hold `Arc<dyn TokenCredential>`.
#[async_trait::async_trait]
pub trait TokenCredential: Send + Sync + std::fmt::Debug {
    /// A stable name, used in errors, tracing and `AZURE_TOKEN_CREDENTIALS` selection
    /// (for example `AzureCliCredential`).
    fn name(&self) -> &str;

    /// The tenant this provider is configured for, if any (its *home* tenant).
    ///
    /// The tenant middleware compares requested tenants against it. `None` means the provider
    /// has no configured tenant, so any requested tenant is accepted.
    fn home_tenant(&self) -> Option<&str> {
        None
    }

    /// Returns a token at once when one is at hand without any I/O, such as a cache hit.
    ///
    /// This is the allocation-free fast path that caches and middleware forward; a chain tries
    /// it before the async [`get_token`](Self::get_token). Providers that fetch tokens leave the
    /// default, which returns `None` ("ask `get_token`"). Never return a token that `get_token`
    /// would not return for the same request (an expired one, or one for another tenant).
    fn get_token_now(&self, scopes: &[&str], options: &TokenRequestOptions) -> Option<AccessToken> {
        let _ = (scopes, options);
        None
    }

    /// Gets a token for `scopes`.
    ///
    /// # Errors
    ///
    /// An [`Error`] whose [`kind`](Error::kind) tells a chain whether to move on.
    #[must_use = "a token request does nothing unless awaited"]
    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error>;
}

macro_rules! forward {
    ($($ty:ty),*) => {$(
        #[async_trait::async_trait]
        impl<T: TokenCredential + ?Sized> TokenCredential for $ty {
            fn name(&self) -> &str {
                (**self).name()
            }
            fn home_tenant(&self) -> Option<&str> {
                (**self).home_tenant()
            }
            fn get_token_now(&self, scopes: &[&str], options: &TokenRequestOptions) -> Option<AccessToken> {
                (**self).get_token_now(scopes, options)
            }
            async fn get_token(
                &self,
                scopes: &[&str],
                options: &TokenRequestOptions,
            ) -> Result<AccessToken, Error> {
                (**self).get_token(scopes, options).await
            }
        }
    )*};
}

forward!(&T, Box<T>, Arc<T>);
