//! Tenant policy: which tenant a request may get a token for.
//!
//! [`TenantPolicy`] wraps a provider and, before anything else happens, validates the requested
//! tenant and scopes and resolves the tenant with azure-identity's rules, except that tenants
//! compare ignoring ASCII case (see [`resolve_tenant`]).
//! The provider then sees the *resolved* tenant in `options.tenant_id()`.

mod layer;
mod resolve;
mod service;

pub use layer::TenantPolicyLayer;
pub use resolve::{AllowedTenants, resolve_tenant};
pub use service::TenantPolicy;
