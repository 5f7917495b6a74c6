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
    /// The provider's name (`EnvironmentCredential`, `WorkloadIdentityCredential`,
    /// `ManagedIdentityCredential`, `VisualStudioCodeCredential`, `AzureCliCredential`).
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

/// The credential applications use: environment → workload identity → managed identity →
/// VS Code → Azure CLI → Azure Developer CLI, like azure-identity's `DefaultAzureCredential`.
///
/// * The **environment** provider comes first: a service principal configured through `AZURE_*`
///   variables. If it is configured and fails, the chain stops (a misconfigured service principal
///   must be loud).
/// * **Workload identity** (AKS pods, OIDC-federated CI): `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
///   `AZURE_FEDERATED_TOKEN_FILE`. Not configured → unavailable; configured and refused → the
///   chain stops.
/// * **Managed identity** (Azure VMs, App Service, Functions, Container Apps, Arc, Cloud Shell,
///   Azure ML). On a VM (IMDS) the chain first **probes** IMDS once, 1 s at most and without
///   retries; no answer (a laptop) → unavailable and the chain moves on at once, remembered for
///   the credential's life. Once an identity endpoint has answered, its failure stops the chain.
///   `AZURE_CLIENT_ID` (or [`managed_identity_client_id`](DefaultCredentialBuilder::managed_identity_client_id))
///   picks a user-assigned identity.
/// * **VS Code**, the **Azure CLI** and the **Azure Developer CLI** are developer tools: their
///   failures count as unavailable, so the chain moves on.
/// * The chain is sticky: after the first success it goes straight to that provider, and selects
///   again from the top when the provider later reports unavailable (you ran `az logout`, say).
///   Concurrent first callers share one selection walk.
/// * `AZURE_TOKEN_CREDENTIALS` narrows the chain: `dev` (VS Code, Azure CLI, Azure Developer CLI), `prod`
///   (environment, workload identity, managed identity), or one provider's name
///   (`EnvironmentCredential`, `WorkloadIdentityCredential`, `ManagedIdentityCredential`,
///   `VisualStudioCodeCredential`, `AzureCliCredential`, `AzureDeveloperCliCredential`; trimmed,
///   case-insensitive). A named
///   provider runs alone and its failures are reported as failures; managed identity then does
///   not probe (full retries), and workload identity's missing configuration is reported as
///   unavailable, naming what is missing. Explicit `exclude_*` options win over the variable.
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
    pub(super) concrete: Concrete,
}

/// The built-in providers whose own diagnostics tools need (without the chain's middleware).
#[derive(Clone, Default)]
pub(super) struct Concrete {
    #[cfg(feature = "managed-identity")]
    pub(super) managed_identity: Option<Arc<credchain_managed_identity::ManagedIdentityCredential>>,
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

    /// The chain's managed identity provider itself, when it is part of the chain: its
    /// [`describe`](credchain_managed_identity::ManagedIdentityCredential::describe) shows the
    /// detected source and, after a `get_token`, the IMDS probe's outcome and time.
    #[cfg(feature = "managed-identity")]
    pub fn managed_identity(&self) -> Option<&Arc<credchain_managed_identity::ManagedIdentityCredential>> {
        self.concrete.managed_identity.as_ref()
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
