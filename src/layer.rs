//! The [`Layer`] trait: how middleware wraps a credential.

/// Wraps a credential in middleware, like tower's `Layer` but for [`TokenCredential`](crate::TokenCredential).
///
/// A layer holds only configuration; [`layer`](Layer::layer) builds the wrapper. Layers wrap any
/// credential, including your own providers:
///
/// ```
/// use credchain::{Layer, TenantPolicyLayer, TokenCacheLayer};
/// use credchain::testing::StaticCredential;
///
/// let provider = StaticCredential::new("Mine", "token");
/// let credential = TenantPolicyLayer::new()
///     .additionally_allowed_tenants(["contoso.onmicrosoft.com"])
///     .layer(TokenCacheLayer::new().layer(provider));
/// # let _ = credential;
/// ```
pub trait Layer<C> {
    /// The wrapped credential.
    type Credential;

    /// Wraps `inner`.
    fn layer(&self, inner: C) -> Self::Credential;
}
