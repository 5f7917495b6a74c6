//! The one rule for comparing tenants.
//!
//! Microsoft Entra treats tenant IDs (GUIDs) and tenant domain names case-insensitively:
//! `Contoso.onmicrosoft.com` and `contoso.onmicrosoft.com` are the same tenant, and so are a
//! GUID in upper and lower case. Every part of credchain that compares tenants (the tenant
//! middleware, allow-lists, providers, adapters) uses [`same_tenant`], so the rule lives here
//! once. (azure-identity compares exactly; see the README's differences section.)

/// `true` when `a` and `b` name the same tenant: equal ignoring ASCII case.
///
/// Tenant values that pass [`validate::tenant_id`](crate::validate::tenant_id) are ASCII, so
/// ASCII case folding is the whole rule.
///
/// ```
/// use credchain_core::tenant::same_tenant;
/// assert!(same_tenant("Contoso.onmicrosoft.com", "contoso.onmicrosoft.com"));
/// assert!(same_tenant("C878A2AB-8EF4-413B-83A0-199AFB84D7FB", "c878a2ab-8ef4-413b-83a0-199afb84d7fb"));
/// assert!(!same_tenant("organizations", "common"));
/// ```
#[inline]
pub fn same_tenant(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The special tenant value meaning "any work or school account"; a credential whose home
/// tenant is this accepts requests for other tenants unless an allow-list restricts them.
pub const ORGANIZATIONS: &str = "organizations";

/// The home-tenant value of an AD FS authority; multi-tenant requests are not possible there.
pub const ADFS: &str = "adfs";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_is_ignored_but_nothing_else() {
        assert!(same_tenant("ADFS", ADFS));
        assert!(same_tenant("Organizations", ORGANIZATIONS));
        assert!(!same_tenant("tenant-a", "tenant-a "));
        assert!(!same_tenant("tenant-a", "tenant-b"));
        assert!(!same_tenant("", "a"));
        assert!(same_tenant("", ""));
    }
}
