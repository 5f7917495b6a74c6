//! The pure tenant-resolution rule.

use std::sync::Arc;

use credchain_core::tenant::{ADFS, ORGANIZATIONS, same_tenant};

/// The tenants a credential may get tokens for besides its home tenant.
///
/// ```
/// use credchain::tenant::AllowedTenants;
/// let allowed = AllowedTenants::new(["t1", "t2"]);
/// assert!(allowed.allows("t2"));
/// assert!(allowed.allows("T2")); // tenants compare ignoring ASCII case (azure-identity: exactly)
/// assert!(!allowed.allows("t3"));
/// assert!(AllowedTenants::new(["*"]).allows("anything"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedTenants {
    tenants: Vec<Arc<str>>,
}

impl AllowedTenants {
    /// An allow-list holding `tenants`; `"*"` allows every tenant. Blank entries are dropped.
    pub fn new<T: AsRef<str>>(tenants: impl IntoIterator<Item = T>) -> Self {
        let mut list = AllowedTenants::default();
        list.extend(tenants);
        list
    }

    /// Parses a semicolon-separated list, as .NET and Go read `AZURE_ADDITIONALLY_ALLOWED_TENANTS`.
    pub fn parse_list(value: &str) -> Self {
        AllowedTenants::new(value.split(';'))
    }

    /// Adds more tenants (a tenant already listed, in any ASCII case, is not added twice).
    pub fn extend<T: AsRef<str>>(&mut self, tenants: impl IntoIterator<Item = T>) {
        for tenant in tenants {
            let tenant = tenant.as_ref().trim();
            if !tenant.is_empty() && !self.tenants.iter().any(|t| same_tenant(t, tenant)) {
                self.tenants.push(Arc::from(tenant));
            }
        }
    }

    /// `true` when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    /// `true` when `tenant` is listed (ignoring ASCII case) or the list holds `"*"`.
    pub fn allows(&self, tenant: &str) -> bool {
        self.tenants.iter().any(|t| &**t == "*" || same_tenant(t, tenant))
    }

    /// The listed tenants.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.tenants.iter().map(|t| &**t)
    }
}

/// Resolves which tenant a request gets a token for, with azure-identity's rules
/// (`azure/identity/_internal/utils.py`, `resolve_tenant`, 1.25 and later).
///
/// In order:
/// 1. no tenant requested, or the home tenant requested → the home tenant;
/// 2. multi-tenant authentication disabled (`AZURE_IDENTITY_DISABLE_MULTITENANTAUTH` set to any
///    non-empty value), or home tenant `adfs` → the home tenant;
/// 3. no home tenant → the requested tenant;
/// 4. the allow-list holds `"*"` or the requested tenant → the requested tenant;
/// 5. home tenant `organizations` and an empty allow-list → the requested tenant;
/// 6. otherwise `Err(requested)`: the tenant is not allowed.
///
/// Tenants compare with [`same_tenant`] (ignoring ASCII case, as Microsoft Entra does);
/// azure-identity compares them exactly, so `TENANT-A` is refused there for home tenant `tenant-a`
/// and accepted here. When the requested tenant is the home tenant in another case, the home
/// tenant's spelling is returned. An empty home tenant counts as none.
///
/// ```
/// use credchain::tenant::{AllowedTenants, resolve_tenant};
/// let none = AllowedTenants::default();
/// assert_eq!(resolve_tenant(Some("a"), None, &none, false), Ok(Some("a")));
/// assert_eq!(resolve_tenant(Some("a"), Some("b"), &none, false), Err("b"));
/// assert_eq!(resolve_tenant(Some("a"), Some("b"), &AllowedTenants::new(["*"]), false), Ok(Some("b")));
/// assert_eq!(resolve_tenant(None, Some("b"), &none, false), Ok(Some("b")));
/// assert_eq!(resolve_tenant(Some("a"), Some("A"), &none, false), Ok(Some("a")));
/// ```
///
/// # Errors
///
/// The requested tenant, when rule 6 applies.
pub fn resolve_tenant<'a>(
    home: Option<&'a str>,
    requested: Option<&'a str>,
    allowed: &AllowedTenants,
    multitenant_disabled: bool,
) -> Result<Option<&'a str>, &'a str> {
    let Some(requested) = requested else {
        return Ok(home);
    };
    if home.is_some_and(|home| same_tenant(home, requested)) {
        return Ok(home);
    }
    if multitenant_disabled || home.is_some_and(|home| same_tenant(home, ADFS)) {
        return Ok(home);
    }
    let Some(home) = home.filter(|h| !h.is_empty()) else {
        return Ok(Some(requested));
    };
    if allowed.allows(requested) {
        return Ok(Some(requested));
    }
    if allowed.is_empty() && same_tenant(home, ORGANIZATIONS) {
        return Ok(Some(requested));
    }
    Err(requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// azure-identity 1.27.0's `resolve_tenant` (`azure/identity/_internal/utils.py`), run on every
    /// row here, except the rows marked "credchain": there tenants compare ignoring ASCII case
    /// (azure-identity compares exactly and refuses them). `env` is
    /// `AZURE_IDENTITY_DISABLE_MULTITENANTAUTH`.
    #[test]
    fn reference_table() {
        type Row = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static [&'static str]>,
            Option<&'static str>,
            Result<Option<&'static str>, &'static str>,
        );
        let rows: &[Row] = &[
            (Some("tenant-a"), None, None, None, Ok(Some("tenant-a"))),
            (
                Some("tenant-a"),
                Some("tenant-a"),
                None,
                None,
                Ok(Some("tenant-a")),
            ),
            (Some("tenant-a"), Some("tenant-b"), None, None, Err("tenant-b")),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                Some(&[]),
                None,
                Err("tenant-b"),
            ),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                Some(&["tenant-b"]),
                None,
                Ok(Some("tenant-b")),
            ),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                Some(&["tenant-c"]),
                None,
                Err("tenant-b"),
            ),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                Some(&["*"]),
                None,
                Ok(Some("tenant-b")),
            ),
            // credchain: the home tenant in another case is the home tenant (azure-identity: Err).
            (
                Some("tenant-a"),
                Some("TENANT-A"),
                None,
                None,
                Ok(Some("tenant-a")),
            ),
            // credchain: allow-list entries match in any case (azure-identity: Err).
            (
                Some("tenant-a"),
                Some("tenant-b"),
                Some(&["TENANT-B"]),
                None,
                Ok(Some("tenant-b")),
            ),
            // credchain: `ADFS` and `Organizations` are the special tenants in any case.
            (Some("ADFS"), Some("tenant-b"), None, None, Ok(Some("ADFS"))),
            (
                Some("Organizations"),
                Some("tenant-b"),
                None,
                None,
                Ok(Some("tenant-b")),
            ),
            (Some("tenant-a"), Some(""), None, None, Err("")),
            (Some(""), Some("tenant-b"), None, None, Ok(Some("tenant-b"))),
            (Some(""), None, None, None, Ok(Some(""))),
            (None, Some("tenant-b"), None, None, Ok(Some("tenant-b"))),
            (
                Some("organizations"),
                Some("tenant-b"),
                None,
                None,
                Ok(Some("tenant-b")),
            ),
            (
                Some("organizations"),
                Some("tenant-b"),
                Some(&[]),
                None,
                Ok(Some("tenant-b")),
            ),
            (
                Some("organizations"),
                Some("tenant-b"),
                Some(&["tenant-c"]),
                None,
                Err("tenant-b"),
            ),
            (
                Some("organizations"),
                Some("tenant-b"),
                Some(&["tenant-b"]),
                None,
                Ok(Some("tenant-b")),
            ),
            (Some("common"), Some("tenant-b"), None, None, Err("tenant-b")),
            (Some("adfs"), Some("tenant-b"), None, None, Ok(Some("adfs"))),
            (
                Some("adfs"),
                Some("tenant-b"),
                Some(&["*"]),
                None,
                Ok(Some("adfs")),
            ),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                Some(&["*"]),
                Some("true"),
                Ok(Some("tenant-a")),
            ),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                None,
                Some("false"),
                Ok(Some("tenant-a")),
            ),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                None,
                Some("0"),
                Ok(Some("tenant-a")),
            ),
            (
                Some("tenant-a"),
                Some("tenant-b"),
                None,
                Some(""),
                Err("tenant-b"),
            ),
            (Some(""), Some("tenant-b"), None, Some("1"), Ok(Some(""))),
        ];
        for (i, (home, requested, allowed, env, expected)) in rows.iter().enumerate() {
            let allowed = AllowedTenants::new(allowed.unwrap_or(&[]).iter());
            let disabled = env.is_some_and(|v| !v.is_empty());
            assert_eq!(
                resolve_tenant(*home, *requested, &allowed, disabled),
                *expected,
                "row {i}"
            );
        }
    }

    #[test]
    fn allow_list_ignores_case_when_adding_and_matching() {
        let mut allowed = AllowedTenants::new(["Tenant-B"]);
        allowed.extend(["tenant-b", "TENANT-C"]);
        assert_eq!(allowed.iter().collect::<Vec<_>>(), ["Tenant-B", "TENANT-C"]);
        assert!(allowed.allows("tenant-c"));
        assert!(!allowed.allows("tenant-d"));
    }

    #[test]
    fn semicolon_list() {
        let allowed = AllowedTenants::parse_list(" t1; ;t2;");
        assert_eq!(allowed.iter().collect::<Vec<_>>(), ["t1", "t2"]);
    }
}
