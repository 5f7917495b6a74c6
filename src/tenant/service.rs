use std::sync::Arc;

use credchain_core::{AccessToken, Error, TokenCredential, TokenRequestOptions, validate};

use super::{AllowedTenants, TenantPolicyLayer, resolve_tenant};
use crate::Layer;

/// Middleware that validates scopes and the requested tenant, then resolves the tenant.
///
/// It runs before any cache, so a cached token can never bypass the tenant check. The wrapped
/// provider receives the resolved tenant in `options.tenant_id()` (its home tenant when nothing
/// else was requested and allowed).
///
/// # Errors it returns itself
///
/// * [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput): the request fails
///   [`validate::request`] (no scope, a scope or tenant outside the allowed character sets, or a
///   claims challenge that is too long or not a JSON object). Nothing reaches the provider.
/// * [`ErrorKind::AuthenticationFailed`](credchain_core::ErrorKind::AuthenticationFailed): the
///   requested tenant is not allowed (as azure-identity raises it); the message says how to allow it.
///
/// ```
/// use credchain::{TenantPolicy, TokenCredential, TokenRequestOptions, ErrorKind};
/// use credchain::testing::StaticCredential;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let provider = StaticCredential::new("Mine", "token").with_home_tenant("tenant-a");
/// let credential = TenantPolicy::new(provider);
/// let other = TokenRequestOptions::new().with_tenant_id("tenant-b");
/// let err = credential.get_token(&["api://x/.default"], &other).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
/// # }
/// ```
#[derive(Debug)]
pub struct TenantPolicy<C> {
    inner: C,
    home: Option<Arc<str>>,
    /// Plain options for the home tenant, so the common request (no tenant, claims, CAE or
    /// deadline) is passed on without building options on the hot path.
    home_options: TokenRequestOptions,
    allowed: AllowedTenants,
    multitenant_disabled: bool,
}

impl<C: TokenCredential> TenantPolicy<C> {
    /// Wraps `inner` with no additional allowed tenants, reading the process environment
    /// (see [`TenantPolicyLayer`] for the variables).
    pub fn new(inner: C) -> Self {
        TenantPolicyLayer::new().layer(inner)
    }

    pub(crate) fn with_settings(inner: C, allowed: AllowedTenants, multitenant_disabled: bool) -> Self {
        let home: Option<Arc<str>> = inner.home_tenant().filter(|t| !t.is_empty()).map(Arc::from);
        let mut home_options = TokenRequestOptions::new();
        home_options.set_tenant_id(home.clone());
        TenantPolicy {
            inner,
            home,
            home_options,
            allowed,
            multitenant_disabled,
        }
    }

    /// The tenants allowed besides the home tenant.
    pub fn allowed_tenants(&self) -> &AllowedTenants {
        &self.allowed
    }

    /// The wrapped credential.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// The wrapped credential, mutably.
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// Unwraps the credential.
    pub fn into_inner(self) -> C {
        self.inner
    }

    /// Validates the request and resolves its tenant; `Ok(None)` means the options can be
    /// passed on unchanged.
    fn resolve(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<Option<Option<Arc<str>>>, Error> {
        validate::request(self.inner.name(), scopes, options)?;
        let requested = options.tenant_id_shared();
        let resolved = resolve_tenant(
            self.home.as_deref(),
            requested.map(|t| &**t),
            &self.allowed,
            self.multitenant_disabled,
        )
        .map_err(|tenant| self.not_allowed(tenant))?;
        let resolved = match resolved {
            None => None,
            Some(t) if requested.is_some_and(|r| std::ptr::eq(&**r, t)) => return Ok(None),
            Some(_) => self.home.clone(),
        };
        if resolved.as_deref() == options.tenant_id() {
            Ok(None)
        } else {
            Ok(Some(resolved))
        }
    }

    #[cold]
    fn not_allowed(&self, tenant: &str) -> Error {
        Error::authentication_failed(
            self.inner.name(),
            format!(
                "this credential is not configured to get tokens for tenant `{tenant}`; to allow it, add it to \
                 `additionally_allowed_tenants` (or `AZURE_ADDITIONALLY_ALLOWED_TENANTS`), or add \"*\" there \
                 to allow any tenant"
            ),
        )
    }
}

#[async_trait::async_trait]
impl<C: TokenCredential> TokenCredential for TenantPolicy<C> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn home_tenant(&self) -> Option<&str> {
        self.home.as_deref()
    }

    /// Resolves the tenant (a refused tenant gives `None`, and `get_token` reports why) and asks
    /// the inner credential. Scopes and tenants are not re-validated here: nothing is spawned or
    /// sent on this path, and an invalid request can have no cached token, because every token
    /// got into a cache through [`get_token`](TokenCredential::get_token), which validates.
    #[inline]
    fn get_token_now(&self, scopes: &[&str], options: &TokenRequestOptions) -> Option<AccessToken> {
        // The common request (no tenant, claims, CAE or deadline) resolves to the home tenant.
        if *options == TokenRequestOptions::default() {
            return self.inner.get_token_now(scopes, &self.home_options);
        }
        let requested = options.tenant_id();
        let resolved = resolve_tenant(
            self.home.as_deref(),
            requested,
            &self.allowed,
            self.multitenant_disabled,
        )
        .ok()?;
        if resolved == requested {
            return self.inner.get_token_now(scopes, options);
        }
        let mut with_tenant = options.clone();
        with_tenant.set_tenant_id(self.home.clone());
        self.inner.get_token_now(scopes, &with_tenant)
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        match self.resolve(scopes, options)? {
            None => self.inner.get_token(scopes, options).await,
            Some(tenant) => {
                let mut resolved = options.clone();
                resolved.set_tenant_id(tenant);
                self.inner.get_token(scopes, &resolved).await
            }
        }
    }
}
