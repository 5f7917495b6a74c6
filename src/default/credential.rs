use std::fmt;
use std::sync::Arc;

use credchain_core::{AccessToken, Error, TokenCredential, TokenRequestOptions};

use super::{DefaultCredentialBuilder, TokenCredentialsSelection};
use crate::ChainedCredential;

/// One built-in provider of a [`DefaultCredential`]: tried in order, or excluded and why.
#[derive(Clone)]
pub struct Member {
    pub(super) name: &'static str,
    pub(super) credential: Option<Arc<dyn TokenCredential>>,
    pub(super) excluded_because: Option<String>,
    pub(super) developer_tool: bool,
}

impl Member {
    /// The provider's name (`EnvironmentCredential`, `VisualStudioCodeCredential`, `AzureCliCredential`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The provider with the chain's tenant policy and cache, when it is part of the chain.
    pub fn credential(&self) -> Option<&Arc<dyn TokenCredential>> {
        self.credential.as_ref()
    }

    /// Why the provider is not part of the chain (for example `AZURE_TOKEN_CREDENTIALS=prod`).
    pub fn excluded_because(&self) -> Option<&str> {
        self.excluded_because.as_deref()
    }

    /// Whether the chain treats the provider's failures as "unavailable".
    pub fn is_developer_tool(&self) -> bool {
        self.developer_tool
    }
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.name)
            .field("included", &self.credential.is_some())
            .field("excluded_because", &self.excluded_because)
            .field("developer_tool", &self.developer_tool)
            .finish()
    }
}

/// The credential applications use: environment → VS Code → Azure CLI, like azure-identity's
/// `DefaultAzureCredential`.
///
/// * The **environment** provider comes first: a service principal configured through `AZURE_*`
///   variables. If it is configured and fails, the chain stops (a misconfigured service principal
///   must be loud).
/// * **VS Code** and the **Azure CLI** are developer tools: their failures count as unavailable,
///   so the chain moves on.
/// * The chain is sticky: after the first success it goes straight to that provider, and selects
///   again from the top when the provider later reports unavailable (you ran `az logout`, say).
///   Concurrent first callers share one selection walk.
/// * `AZURE_TOKEN_CREDENTIALS` narrows the chain: `dev` (VS Code, Azure CLI), `prod`
///   (environment), or one provider's name (`EnvironmentCredential`, `VisualStudioCodeCredential`,
///   `AzureCliCredential`; trimmed, case-insensitive). A named provider runs alone and its
///   failures are reported as failures. Explicit `exclude_*` options win over the variable.
///
/// Build it once and share it; every provider has its own token cache.
///
/// ```no_run
/// use credchain::{DefaultCredential, TokenRequestOptions};
/// # #[tokio::main] async fn main() -> Result<(), credchain::Error> {
/// let credential = DefaultCredential::new()?;
/// let token = credential.get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new()).await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Clone)]
pub struct DefaultCredential {
    pub(super) chain: ChainedCredential,
    pub(super) members: Vec<Member>,
    pub(super) selection: TokenCredentialsSelection,
}

impl fmt::Debug for DefaultCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultCredential")
            .field("chain", &self.chain)
            .field("members", &self.members)
            .field("selection", &self.selection)
            .finish()
    }
}

impl DefaultCredential {
    /// The default chain, configured from the process environment.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when
    /// `AZURE_TOKEN_CREDENTIALS` holds an invalid value.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// Starts building a default chain with options.
    pub fn builder() -> DefaultCredentialBuilder {
        DefaultCredentialBuilder::default()
    }

    /// The built-in providers, in order, including excluded ones.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// What `AZURE_TOKEN_CREDENTIALS` selected.
    pub fn selection(&self) -> TokenCredentialsSelection {
        self.selection
    }

    /// The underlying chain (with any providers you inserted).
    pub fn chain(&self) -> &ChainedCredential {
        &self.chain
    }

    /// Gets a token from the first provider that can give one.
    ///
    /// # Errors
    ///
    /// The chain's error, listing every provider it tried.
    pub fn get_token<'a>(
        &'a self,
        scopes: &'a [&'a str],
        options: &'a TokenRequestOptions,
    ) -> impl Future<Output = Result<AccessToken, Error>> + Send + 'a {
        self.chain.get_token(scopes, options)
    }
}

#[async_trait::async_trait]
impl TokenCredential for DefaultCredential {
    fn name(&self) -> &str {
        self.chain.name()
    }

    fn get_token_now(&self, scopes: &[&str], options: &TokenRequestOptions) -> Option<AccessToken> {
        self.chain.get_token_now(scopes, options)
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        self.chain.get_token(scopes, options).await
    }
}

/// Stands in for a built-in provider whose set-up on this machine is unusable (a bad tenant in
/// VS Code's settings, say): it reports unavailable with the reason, so the rest of the chain works.
#[derive(Debug)]
pub(super) struct Unusable {
    pub(super) name: &'static str,
    pub(super) reason: Error,
    /// When `AZURE_TOKEN_CREDENTIALS` chose this provider alone, its problem is a failure.
    pub(super) as_failure: bool,
}

#[async_trait::async_trait]
impl TokenCredential for Unusable {
    fn name(&self) -> &str {
        self.name
    }

    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: &TokenRequestOptions,
    ) -> Result<AccessToken, Error> {
        if self.as_failure {
            Err(self.reason.clone())
        } else {
            Err(Error::unavailable(self.name, self.reason.message()))
        }
    }
}
