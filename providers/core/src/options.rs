//! Per-request options.

use std::sync::Arc;
use std::time::Instant;

/// Options for one token request: tenant, claims challenge, CAE and a deadline.
///
/// `TokenRequestOptions::default()` allocates nothing, and cloning never copies a string.
///
/// ```
/// use credchain_core::TokenRequestOptions;
/// let options = TokenRequestOptions::new().with_tenant_id("contoso.onmicrosoft.com").with_enable_cae(true);
/// assert_eq!(options.tenant_id(), Some("contoso.onmicrosoft.com"));
/// assert!(options.enable_cae());
/// assert_eq!(options.claims(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequestOptions {
    tenant_id: Option<Arc<str>>,
    claims: Option<Arc<str>>,
    enable_cae: bool,
    deadline: Option<Instant>,
}

impl TokenRequestOptions {
    /// No tenant, no claims, CAE off, no deadline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests a token for `tenant_id` instead of the provider's home tenant.
    pub fn with_tenant_id(mut self, tenant_id: impl Into<Arc<str>>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets or clears the tenant (used by the tenant middleware to pass the resolved tenant on).
    pub fn set_tenant_id(&mut self, tenant_id: Option<Arc<str>>) {
        self.tenant_id = tenant_id;
    }

    /// Adds a claims challenge (the JSON from a `WWW-Authenticate` header). Requests with
    /// claims always bypass token caches.
    pub fn with_claims(mut self, claims: impl Into<Arc<str>>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Asks for a token that supports Continuous Access Evaluation.
    pub fn with_enable_cae(mut self, enable_cae: bool) -> Self {
        self.enable_cae = enable_cae;
        self
    }

    /// Gives up at `deadline`. Providers that spawn processes or send requests use the earlier
    /// of this and their own timeout.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The same options without a deadline.
    ///
    /// Work shared between callers (a cache's single-flight load, a chain's selection walk) runs
    /// without any one caller's deadline; each caller applies its own while it waits.
    ///
    /// ```
    /// use credchain_core::TokenRequestOptions;
    /// use std::time::Instant;
    /// let options = TokenRequestOptions::new().with_tenant_id("t").with_deadline(Instant::now());
    /// let shared = options.without_deadline();
    /// assert_eq!(shared.deadline(), None);
    /// assert_eq!(shared.tenant_id(), Some("t"));
    /// ```
    #[must_use]
    pub fn without_deadline(&self) -> Self {
        TokenRequestOptions {
            deadline: None,
            ..self.clone()
        }
    }

    /// The requested (or, below the tenant middleware, resolved) tenant.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The tenant as a shared string, for cheap copies.
    pub fn tenant_id_shared(&self) -> Option<&Arc<str>> {
        self.tenant_id.as_ref()
    }

    /// The claims challenge, if any.
    pub fn claims(&self) -> Option<&str> {
        self.claims.as_deref().filter(|c| !c.is_empty())
    }

    /// Whether a CAE-capable token was requested.
    pub fn enable_cae(&self) -> bool {
        self.enable_cae
    }

    /// The caller's deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}
