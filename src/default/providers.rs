//! The built-in providers of the default chain: one table, read by `AZURE_TOKEN_CREDENTIALS`
//! parsing, the builder and tools such as `credchain doctor`.

/// Which `AZURE_TOKEN_CREDENTIALS` value (`dev` or `prod`) selects a built-in provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderGroup {
    /// Developer tools, selected by `dev`.
    Dev,
    /// Deployed-service providers, selected by `prod`.
    Prod,
}

/// One built-in provider of [`DefaultCredential`](super::DefaultCredential).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuiltinProvider {
    /// azure-identity's name for it: the provider's [`name`](credchain_core::TokenCredential::name)
    /// and, in any ASCII case, the value of `AZURE_TOKEN_CREDENTIALS` that selects it alone.
    pub name: &'static str,
    /// Whether the default chain treats its failures as "unavailable" and moves on (not when
    /// `AZURE_TOKEN_CREDENTIALS` selects it alone).
    pub developer_tool: bool,
    /// The `AZURE_TOKEN_CREDENTIALS` group that includes it.
    pub group: ProviderGroup,
}

/// The built-in providers, in the default chain's order (azure-identity's `DefaultAzureCredential`
/// order, without the providers credchain does not have).
///
/// A provider added here is selectable through `AZURE_TOKEN_CREDENTIALS`, appears in
/// [`DefaultCredential::members`](super::DefaultCredential::members) and in the chain; until
/// [`DefaultCredentialBuilder`](super::DefaultCredentialBuilder) knows how to build it, it
/// reports itself unavailable ("this build of credchain does not include …").
///
/// ```
/// use credchain::default::{BUILTIN_PROVIDERS, ProviderGroup};
/// let names: Vec<_> = BUILTIN_PROVIDERS.iter().map(|p| p.name).collect();
/// assert_eq!(names, [
///     "EnvironmentCredential",
///     "WorkloadIdentityCredential",
///     "ManagedIdentityCredential",
///     "VisualStudioCodeCredential",
///     "AzureCliCredential",
///     "AzureDeveloperCliCredential",
/// ]);
/// assert!(BUILTIN_PROVIDERS.iter().all(|p| p.developer_tool == (p.group == ProviderGroup::Dev)));
/// ```
pub const BUILTIN_PROVIDERS: &[BuiltinProvider] = &[
    BuiltinProvider {
        name: "EnvironmentCredential",
        developer_tool: false,
        group: ProviderGroup::Prod,
    },
    BuiltinProvider {
        name: "WorkloadIdentityCredential",
        developer_tool: false,
        group: ProviderGroup::Prod,
    },
    BuiltinProvider {
        name: "ManagedIdentityCredential",
        developer_tool: false,
        group: ProviderGroup::Prod,
    },
    BuiltinProvider {
        name: "VisualStudioCodeCredential",
        developer_tool: true,
        group: ProviderGroup::Dev,
    },
    BuiltinProvider {
        name: "AzureCliCredential",
        developer_tool: true,
        group: ProviderGroup::Dev,
    },
    BuiltinProvider {
        name: "AzureDeveloperCliCredential",
        developer_tool: true,
        group: ProviderGroup::Dev,
    },
];

/// The built-in provider called `name`, compared ignoring ASCII case.
///
/// ```
/// use credchain::default::builtin_provider;
/// assert_eq!(builtin_provider("azureclicredential").map(|p| p.name), Some("AzureCliCredential"));
/// assert_eq!(builtin_provider("MANAGEDIDENTITYCREDENTIAL").map(|p| p.name), Some("ManagedIdentityCredential"));
/// assert!(builtin_provider("SharedTokenCacheCredential").is_none());
/// ```
pub fn builtin_provider(name: &str) -> Option<&'static BuiltinProvider> {
    BUILTIN_PROVIDERS
        .iter()
        .find(|provider| provider.name.eq_ignore_ascii_case(name))
}
