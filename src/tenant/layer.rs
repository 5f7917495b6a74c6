use credchain_core::Env;

use super::{AllowedTenants, TenantPolicy};
use crate::Layer;

/// Builds [`TenantPolicy`] wrappers. Holds only configuration.
///
/// Reads `AZURE_ADDITIONALLY_ALLOWED_TENANTS` (semicolon-separated, added to the explicit list)
/// and `AZURE_IDENTITY_DISABLE_MULTITENANTAUTH` (any non-empty value pins every request to the
/// home tenant) from its [`Env`] when it wraps a credential.
#[derive(Clone, Debug, Default)]
pub struct TenantPolicyLayer {
    allowed: AllowedTenants,
    env: Env,
}

impl TenantPolicyLayer {
    /// No additional tenants; the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also allows these tenants (`"*"` allows any).
    pub fn additionally_allowed_tenants<T: AsRef<str>>(
        mut self,
        tenants: impl IntoIterator<Item = T>,
    ) -> Self {
        self.allowed.extend(tenants);
        self
    }

    /// Reads the environment variables from `env` instead of the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }
}

impl<C: credchain_core::TokenCredential> Layer<C> for TenantPolicyLayer {
    type Credential = TenantPolicy<C>;

    fn layer(&self, inner: C) -> TenantPolicy<C> {
        let mut allowed = self.allowed.clone();
        if let Some(list) = self.env.var("AZURE_ADDITIONALLY_ALLOWED_TENANTS") {
            allowed.extend(AllowedTenants::parse_list(&list).iter());
        }
        let disabled = self
            .env
            .var_os("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH")
            .is_some_and(|v| !v.is_empty());
        TenantPolicy::with_settings(inner, allowed, disabled)
    }
}
