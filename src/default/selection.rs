//! `AZURE_TOKEN_CREDENTIALS`: which providers the default chain may use.

use credchain_core::Error;

use super::providers::{BUILTIN_PROVIDERS, ProviderGroup, builtin_provider};

/// The variable that narrows the default chain.
pub const TOKEN_CREDENTIALS_VAR: &str = "AZURE_TOKEN_CREDENTIALS";

/// What `AZURE_TOKEN_CREDENTIALS` asked for.
///
/// ```
/// use credchain::default::TokenCredentialsSelection as S;
/// assert_eq!(S::parse(Some(" DeV ")).unwrap(), S::Dev);
/// assert_eq!(S::parse(Some("AzureCliCredential")).unwrap(), S::Only("AzureCliCredential"));
/// assert_eq!(S::parse(None).unwrap(), S::All);
/// assert!(S::parse(Some("dev,prod")).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCredentialsSelection {
    /// Unset or blank: every provider, in the default order.
    All,
    /// `dev`: the developer tools ([`ProviderGroup::Dev`] in [`BUILTIN_PROVIDERS`]).
    Dev,
    /// `prod`: the deployed-service providers ([`ProviderGroup::Prod`] in [`BUILTIN_PROVIDERS`]).
    Prod,
    /// One provider by its azure-identity name; it runs alone and its failures are reported as failures.
    Only(&'static str),
}

impl TokenCredentialsSelection {
    /// Parses the variable's value: trimmed, case-insensitive.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) listing the valid values.
    pub fn parse(value: Option<&str>) -> Result<Self, Error> {
        let value = value.unwrap_or("").trim().to_ascii_lowercase();
        match value.as_str() {
            "" => Ok(Self::All),
            "dev" => Ok(Self::Dev),
            "prod" => Ok(Self::Prod),
            other => builtin_provider(other).map(|provider| Self::Only(provider.name)).ok_or_else(|| {
                let mut valid: Vec<String> = BUILTIN_PROVIDERS.iter().map(|p| p.name.to_ascii_lowercase()).collect();
                valid.sort();
                let shown: String = other.chars().take(60).flat_map(char::escape_debug).collect();
                Error::invalid_input(
                    "DefaultCredential",
                    format!(
                        "invalid value for `{TOKEN_CREDENTIALS_VAR}`: `{shown}`; valid values are: dev, prod, {} \
                         (case-insensitive)",
                        valid.join(", ")
                    ),
                )
            }),
        }
    }

    /// Whether the built-in provider called `name` is part of the selection.
    pub fn includes(self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Dev => builtin_provider(name).is_some_and(|p| p.group == ProviderGroup::Dev),
            Self::Prod => builtin_provider(name).is_some_and(|p| p.group == ProviderGroup::Prod),
            Self::Only(only) => only == name,
        }
    }

    /// The value as written back in messages (`dev`, `prod`, a name, or empty).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "",
            Self::Dev => "dev",
            Self::Prod => "prod",
            Self::Only(name) => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        use TokenCredentialsSelection as S;
        for (value, expected) in [
            (None, S::All),
            (Some(""), S::All),
            (Some("  "), S::All),
            (Some("dev"), S::Dev),
            (Some("DeV"), S::Dev),
            (Some(" Prod "), S::Prod),
            (Some("EnvironmentCredential"), S::Only("EnvironmentCredential")),
            (
                Some("visualstudiocodecredential"),
                S::Only("VisualStudioCodeCredential"),
            ),
            (Some("AZURECLICREDENTIAL"), S::Only("AzureCliCredential")),
            (
                Some("AzureDeveloperCliCredential"),
                S::Only("AzureDeveloperCliCredential"),
            ),
            (
                Some("managedidentitycredential"),
                S::Only("ManagedIdentityCredential"),
            ),
            (
                Some(" WorkloadIdentityCredential "),
                S::Only("WorkloadIdentityCredential"),
            ),
        ] {
            assert_eq!(S::parse(value).unwrap(), expected, "{value:?}");
        }
        for bad in [
            "invalid",
            "dev,prod",
            "SharedTokenCacheCredential",
            "AzurePowerShellCredential",
        ] {
            let err = S::parse(Some(bad)).unwrap_err();
            assert!(
                err.message().contains(
                    "valid values are: dev, prod, azureclicredential, azuredeveloperclicredential, \
                     environmentcredential, managedidentitycredential, visualstudiocodecredential, \
                     workloadidentitycredential"
                ),
                "{err}"
            );
        }
    }
}
