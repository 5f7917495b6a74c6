//! `AZURE_TOKEN_CREDENTIALS`: which providers the default chain may use.

use credchain_core::Error;

/// The variable that narrows the default chain.
pub const TOKEN_CREDENTIALS_VAR: &str = "AZURE_TOKEN_CREDENTIALS";

/// The provider names `AZURE_TOKEN_CREDENTIALS` accepts (azure-identity's names), with the
/// chain member each selects.
pub(crate) const NAMES: [(&str, &str); 3] = [
    ("azureclicredential", "AzureCliCredential"),
    ("environmentcredential", "EnvironmentCredential"),
    ("visualstudiocodecredential", "VisualStudioCodeCredential"),
];

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
    /// `dev`: the developer tools (VS Code, Azure CLI).
    Dev,
    /// `prod`: the deployed-service providers (environment).
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
            other => NAMES.iter().find(|(key, _)| *key == other).map(|(_, name)| Self::Only(name)).ok_or_else(|| {
                let valid: Vec<&str> = NAMES.iter().map(|(key, _)| *key).collect();
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

    /// Whether the provider called `name` is part of the selection.
    pub fn includes(self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Dev => matches!(name, "VisualStudioCodeCredential" | "AzureCliCredential"),
            Self::Prod => name == "EnvironmentCredential",
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
        ] {
            assert_eq!(S::parse(value).unwrap(), expected, "{value:?}");
        }
        for bad in [
            "invalid",
            "dev,prod",
            "SharedTokenCacheCredential",
            "ManagedIdentityCredential",
        ] {
            let err = S::parse(Some(bad)).unwrap_err();
            assert!(err.message().contains("valid values are: dev, prod, azureclicredential, environmentcredential, visualstudiocodecredential"), "{err}");
        }
    }
}
