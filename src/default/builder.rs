use std::sync::Arc;
use std::time::Duration;

use credchain_core::{Env, Error, TokenCredential, validate};

use super::credential::{Concrete, DefaultCredential, Member, Unusable};
use super::providers::BUILTIN_PROVIDERS;
use super::selection::{TOKEN_CREDENTIALS_VAR, TokenCredentialsSelection};
use crate::{ChainedCredential, ProviderEntry, TokenCacheLayer};

const NAME: &str = "DefaultCredential";

/// Options for a [`DefaultCredential`]. Every option has a sensible default.
///
/// ```
/// use credchain::{DefaultCredential, Env, ProviderEntry};
/// use credchain::testing::StaticCredential;
/// use std::time::Duration;
/// let credential = DefaultCredential::builder()
///     .env(Env::empty())
///     .exclude_visual_studio_code_credential(true)
///     .process_timeout(Duration::from_secs(20))
///     .additionally_allowed_tenants(["contoso.onmicrosoft.com"])
///     .insert(0, ProviderEntry::new(StaticCredential::new("MyCredential", "token")))
///     .build()?;
/// assert_eq!(credential.chain().provider_names().next(), Some("MyCredential"));
/// # Ok::<(), credchain::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct DefaultCredentialBuilder {
    env: Env,
    exclude_environment: Option<bool>,
    exclude_workload_identity: Option<bool>,
    exclude_managed_identity: Option<bool>,
    exclude_vscode: Option<bool>,
    exclude_cli: Option<bool>,
    exclude_developer_cli: Option<bool>,
    require_selection: bool,
    allowed: Vec<String>,
    vscode_tenant: Option<String>,
    cli_tenant: Option<String>,
    managed_identity_client_id: Option<String>,
    workload_identity_client_id: Option<String>,
    workload_identity_tenant: Option<String>,
    process_timeout: Option<Duration>,
    authority: Option<String>,
    inserted: Vec<(usize, ProviderEntry)>,
    cache: Option<TokenCacheLayer>,
}

impl DefaultCredentialBuilder {
    /// Reads variables from `env` instead of the process environment (tests, or a sandboxed config).
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Leaves the environment provider out (`true`) or forces it in (`false`) whatever
    /// `AZURE_TOKEN_CREDENTIALS` says.
    pub fn exclude_environment_credential(mut self, exclude: bool) -> Self {
        self.exclude_environment = Some(exclude);
        self
    }

    /// Leaves the workload identity provider out (`true`) or forces it in (`false`).
    pub fn exclude_workload_identity_credential(mut self, exclude: bool) -> Self {
        self.exclude_workload_identity = Some(exclude);
        self
    }

    /// Leaves the managed identity provider out (`true`) or forces it in (`false`).
    pub fn exclude_managed_identity_credential(mut self, exclude: bool) -> Self {
        self.exclude_managed_identity = Some(exclude);
        self
    }

    /// The client id of the user-assigned managed identity to use (default: `AZURE_CLIENT_ID`,
    /// else the system-assigned identity), as azure-identity's `managed_identity_client_id`.
    ///
    /// Set here, it is always sent, and a source that only has a system-assigned identity (Azure
    /// Arc, Cloud Shell) fails with *invalid input*, which stops the chain. Taken from
    /// `AZURE_CLIENT_ID`, it is left out on those sources (that variable often names a service
    /// principal or workload identity app, not this machine's identity). Also the workload
    /// identity provider's client id unless
    /// [`workload_identity_client_id`](Self::workload_identity_client_id) is set.
    pub fn managed_identity_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.managed_identity_client_id = Some(client_id.into());
        self
    }

    /// The workload identity provider's client id (default: the
    /// [`managed_identity_client_id`](Self::managed_identity_client_id) option, else
    /// `AZURE_CLIENT_ID`).
    pub fn workload_identity_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.workload_identity_client_id = Some(client_id.into());
        self
    }

    /// The workload identity provider's tenant (default: `AZURE_TENANT_ID`).
    pub fn workload_identity_tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.workload_identity_tenant = Some(tenant.into());
        self
    }

    /// Leaves the VS Code provider out (`true`) or forces it in (`false`).
    pub fn exclude_visual_studio_code_credential(mut self, exclude: bool) -> Self {
        self.exclude_vscode = Some(exclude);
        self
    }

    /// Leaves the Azure CLI provider out (`true`) or forces it in (`false`).
    pub fn exclude_cli_credential(mut self, exclude: bool) -> Self {
        self.exclude_cli = Some(exclude);
        self
    }

    /// Leaves the Azure Developer CLI provider out (`true`) or forces it in (`false`).
    pub fn exclude_developer_cli_credential(mut self, exclude: bool) -> Self {
        self.exclude_developer_cli = Some(exclude);
        self
    }

    /// Fails [`build`](Self::build) unless `AZURE_TOKEN_CREDENTIALS` is set, so a deployment
    /// cannot silently fall back to developer tools.
    pub fn require_token_credentials_env(mut self, require: bool) -> Self {
        self.require_selection = require;
        self
    }

    /// Tenants every provider may get tokens for besides its home tenant (`"*"`: any). Also read
    /// from `AZURE_ADDITIONALLY_ALLOWED_TENANTS`.
    pub fn additionally_allowed_tenants<T: AsRef<str>>(
        mut self,
        tenants: impl IntoIterator<Item = T>,
    ) -> Self {
        self.allowed
            .extend(tenants.into_iter().map(|t| t.as_ref().to_owned()));
        self
    }

    /// The VS Code provider's tenant (default: VS Code's `azure.tenant` setting, else `organizations`).
    pub fn visual_studio_code_tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.vscode_tenant = Some(tenant.into());
        self
    }

    /// The Azure CLI provider's tenant (default: none, so `az` uses its signed-in tenant).
    pub fn cli_tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.cli_tenant = Some(tenant.into());
        self
    }

    /// How long the Azure CLI and the Azure Developer CLI may take per request (default: 10 s, or
    /// the request's deadline when it has one); set, it caps every request.
    pub fn process_timeout(mut self, timeout: Duration) -> Self {
        self.process_timeout = Some(timeout);
        self
    }

    /// The Microsoft Entra authority host for the environment, workload identity and VS Code providers (default:
    /// `AZURE_AUTHORITY_HOST`, else the public cloud).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// Inserts your own provider at `index` among the providers that are part of the chain
    /// (`0`: first; past the end: last).
    pub fn insert(mut self, index: usize, entry: ProviderEntry) -> Self {
        self.inserted.push((index, entry));
        self
    }

    /// Appends your own provider after the built-in ones.
    pub fn push(self, entry: ProviderEntry) -> Self {
        self.insert(usize::MAX, entry)
    }

    /// Cache settings for every provider (tests pass a fake clock here).
    pub fn cache(mut self, cache: TokenCacheLayer) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Builds the chain.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) for an invalid
    /// `AZURE_TOKEN_CREDENTIALS`, a required but missing one, invalid tenant or authority options,
    /// or a chain left empty by the exclusions. `AZURE_TOKEN_CREDENTIALS` set to a value that is
    /// not Unicode is invalid too (it is never read as "not set", which would try every provider).
    pub fn build(self) -> Result<DefaultCredential, Error> {
        let raw_selection = self
            .env
            .var_strict(TOKEN_CREDENTIALS_VAR)
            .map_err(|reason| Error::invalid_input(NAME, reason))?;
        if self.require_selection && raw_selection.as_deref().is_none_or(|v| v.trim().is_empty()) {
            return Err(Error::invalid_input(
                NAME,
                format!(
                    "`{TOKEN_CREDENTIALS_VAR}` is required but not set; set it to `dev`, `prod` or a provider name \
                     such as `AzureCliCredential`"
                ),
            ));
        }
        let selection = TokenCredentialsSelection::parse(raw_selection.as_deref())?;
        for tenant in [
            &self.vscode_tenant,
            &self.cli_tenant,
            &self.workload_identity_tenant,
        ]
        .into_iter()
        .flatten()
        {
            validate::tenant_id(tenant).map_err(|reason| Error::invalid_input(NAME, reason))?;
        }
        let only = matches!(selection, TokenCredentialsSelection::Only(_));

        // The built-in providers, unwrapped: the chain builder below adds the tenant policy and
        // cache to every entry, built-in or inserted. `None`: an inserted entry.
        let mut members = Vec::new();
        let mut concrete = Concrete::default();
        let mut entries: Vec<(Option<usize>, ProviderEntry)> = Vec::new();
        for builtin in BUILTIN_PROVIDERS {
            let name = builtin.name;
            let excluded_because = match self.explicit_exclusion(name) {
                Some(true) => Some("excluded by the application's options".to_owned()),
                Some(false) => None,
                None if selection.includes(name) => None,
                None => Some(format!(
                    "excluded by `{TOKEN_CREDENTIALS_VAR}={}`",
                    selection.as_str()
                )),
            };
            let developer_tool = builtin.developer_tool && !only;
            if excluded_because.is_none() {
                let provider = self.provider(name, only, &mut concrete)?;
                entries.push((
                    Some(members.len()),
                    ProviderEntry::from_arc(provider).developer_tool(developer_tool),
                ));
            }
            members.push(Member {
                name,
                credential: None,
                excluded_because,
                developer_tool,
            });
        }
        for (index, entry) in self.inserted {
            let index = index.min(entries.len());
            entries.insert(index, (None, entry));
        }
        if entries.is_empty() {
            return Err(Error::invalid_input(
                NAME,
                format!(
                    "no provider is left in the chain: `{TOKEN_CREDENTIALS_VAR}` and the exclude options removed \
                     them all; at least one credential is required"
                ),
            ));
        }
        let mut chain = ChainedCredential::builder()
            .name(NAME)
            .sticky(true)
            .env(self.env.clone())
            .additionally_allowed_tenants(&self.allowed)
            .cache(self.cache.unwrap_or_default());
        let mut positions = Vec::with_capacity(entries.len());
        for (member, entry) in entries {
            positions.push(member);
            chain = chain.entry(entry);
        }
        let chain = chain.build()?;
        for (position, member) in positions.into_iter().enumerate() {
            if let Some(member) = member.and_then(|m| members.get_mut(m)) {
                member.credential = chain.entry_credential(position).cloned();
            }
        }
        Ok(DefaultCredential {
            chain,
            members,
            selection,
            concrete,
        })
    }

    /// The application's `exclude_*` choice for the built-in provider `name`, if it made one.
    fn explicit_exclusion(&self, name: &str) -> Option<bool> {
        match name {
            "EnvironmentCredential" => self.exclude_environment,
            "WorkloadIdentityCredential" => self.exclude_workload_identity,
            "ManagedIdentityCredential" => self.exclude_managed_identity,
            "VisualStudioCodeCredential" => self.exclude_vscode,
            "AzureCliCredential" => self.exclude_cli,
            "AzureDeveloperCliCredential" => self.exclude_developer_cli,
            _ => None,
        }
    }

    /// Builds one built-in provider; a provider this machine's set-up makes unusable becomes a
    /// stand-in that reports why. Providers that `doctor` describes are also kept in `concrete`.
    #[cfg_attr(
        not(feature = "managed-identity"),
        expect(unused_variables, reason = "only the managed identity provider is kept")
    )]
    fn provider(
        &self,
        name: &'static str,
        only: bool,
        concrete: &mut Concrete,
    ) -> Result<Arc<dyn TokenCredential>, Error> {
        let built: Result<Arc<dyn TokenCredential>, Error> = match name {
            #[cfg(feature = "environment")]
            "EnvironmentCredential" => {
                let mut builder =
                    credchain_environment::EnvironmentCredential::builder().env(self.env.clone());
                if let Some(authority) = &self.authority {
                    let authority = credchain_entra::Authority::parse(authority)
                        .map_err(|reason| Error::invalid_input(NAME, reason))?;
                    builder = builder.authority(authority);
                }
                Ok(Arc::new(builder.build()))
            }
            #[cfg(feature = "workload-identity")]
            "WorkloadIdentityCredential" => self.workload_identity(only),
            #[cfg(feature = "managed-identity")]
            "ManagedIdentityCredential" => self.managed_identity(only).map(|credential| {
                concrete.managed_identity = Some(Arc::clone(&credential));
                credential as Arc<dyn TokenCredential>
            }),
            #[cfg(feature = "vscode")]
            "VisualStudioCodeCredential" => {
                let mut builder = credchain_vscode::VsCodeCredential::builder().env(self.env.clone());
                if let Some(authority) = &self.authority {
                    credchain_entra::Authority::parse(authority)
                        .map_err(|reason| Error::invalid_input(NAME, reason))?;
                    builder = builder.authority(authority.clone());
                }
                if let Some(tenant) = &self.vscode_tenant {
                    builder = builder.tenant_id(tenant.clone());
                }
                builder.build().map(|c| Arc::new(c) as Arc<dyn TokenCredential>)
            }
            #[cfg(feature = "azure-cli")]
            "AzureCliCredential" => {
                let mut builder = credchain_azure_cli::AzureCliCredential::builder().env(self.env.clone());
                if let Some(tenant) = &self.cli_tenant {
                    builder = builder.tenant_id(tenant.clone());
                }
                if let Some(timeout) = self.process_timeout {
                    builder = builder.process_timeout(timeout);
                }
                builder.build().map(|c| Arc::new(c) as Arc<dyn TokenCredential>)
            }
            #[cfg(feature = "azure-developer-cli")]
            "AzureDeveloperCliCredential" => {
                let mut builder = credchain_azure_developer_cli::AzureDeveloperCliCredential::builder()
                    .env(self.env.clone());
                if let Some(timeout) = self.process_timeout {
                    builder = builder.process_timeout(timeout);
                }
                builder.build().map(|c| Arc::new(c) as Arc<dyn TokenCredential>)
            }
            _ => Err(Error::unavailable(
                name,
                format!("this build of credchain does not include `{name}`; enable its cargo feature"),
            )),
        };
        Ok(built.unwrap_or_else(|reason| {
            Arc::new(Unusable {
                name,
                reason,
                as_failure: only,
            })
        }))
    }
}

#[cfg(any(feature = "workload-identity", feature = "managed-identity"))]
impl DefaultCredentialBuilder {
    /// The workload identity provider. In the chain it is built with `build_for_chain`: not
    /// configured → unavailable, the chain moves on. Selected alone, with `build`: the same
    /// missing-configuration error (still *unavailable*, naming what is missing, as
    /// azure-identity's `FailedDACCredential`), and a set-but-invalid value is *invalid input*.
    #[cfg(feature = "workload-identity")]
    fn workload_identity(&self, only: bool) -> Result<Arc<dyn TokenCredential>, Error> {
        use credchain_workload_identity::WorkloadIdentityCredential;
        let mut builder = WorkloadIdentityCredential::builder()
            .context(credchain_core::ProviderContext::new().with_env(self.env.clone()));
        if let Some(tenant) = &self.workload_identity_tenant {
            builder = builder.tenant_id(tenant.clone());
        }
        // azure-identity: `workload_identity_client_id`, else `managed_identity_client_id`, else
        // `AZURE_CLIENT_ID` (Python `default.py`).
        if let Some(client_id) = self
            .workload_identity_client_id
            .as_ref()
            .or(self.managed_identity_client_id.as_ref())
        {
            builder = builder.client_id(client_id.clone());
        }
        if let Some(authority) = &self.authority {
            let authority = credchain_entra::Authority::parse(authority)
                .map_err(|reason| Error::invalid_input(NAME, reason))?;
            builder = builder.authority(authority);
        }
        if only {
            builder.build().map(|c| Arc::new(c) as Arc<dyn TokenCredential>)
        } else {
            Ok(Arc::new(builder.build_for_chain()))
        }
    }

    /// The managed identity provider: probing IMDS in the chain, not when selected alone.
    #[cfg(feature = "managed-identity")]
    fn managed_identity(
        &self,
        only: bool,
    ) -> Result<Arc<credchain_managed_identity::ManagedIdentityCredential>, Error> {
        use credchain_managed_identity::{ManagedIdentityCredential, UserAssignedId};
        let context = credchain_core::ProviderContext::new().with_env(self.env.clone());
        let builder = || {
            ManagedIdentityCredential::builder()
                .context(context.clone())
                .probe(!only)
        };
        let credential = match &self.managed_identity_client_id {
            Some(explicit) => builder().client_id(explicit.clone()).build(),
            None => match self
                .env
                .var_strict("AZURE_CLIENT_ID")
                .map_err(|reason| Error::invalid_input(credchain_managed_identity::NAME, reason))?
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
            {
                None => builder().build(),
                Some(default) => {
                    let id = UserAssignedId::ClientId(default.clone());
                    let with_id = builder().client_id(default).build();
                    // `AZURE_CLIENT_ID` is only a default: on a source with no user-assigned
                    // identities (Arc, Cloud Shell) it is left out rather than failing the
                    // chain, as azure-identity does inside DefaultAzureCredential (Python
                    // `cloud_shell.py` `validate_client_id_and_config` returns when `within_dac`).
                    match with_id.describe().source {
                        Some(kind) if !kind.accepts(&id) => builder().build(),
                        _ => with_id,
                    }
                }
            },
        };
        Ok(Arc::new(credential))
    }
}
