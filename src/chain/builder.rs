use std::sync::Arc;

use credchain_core::{Clock, Env, Error, TokenCredential};

use super::ChainedCredential;
use super::credential::Entry;
use crate::tenant::AllowedTenants;
use crate::{Layer, TenantPolicyLayer, TokenCacheLayer};

/// One provider of a chain, with how the chain treats it.
///
/// ```
/// use credchain::ProviderEntry;
/// use credchain::testing::StaticCredential;
/// let entry = ProviderEntry::new(StaticCredential::new("Tool", "token"))
///     .developer_tool(true)
///     .additionally_allowed_tenants(["t2"]);
/// # let _ = entry;
/// ```
#[derive(Debug)]
pub struct ProviderEntry {
    credential: Arc<dyn TokenCredential>,
    developer_tool: bool,
    allowed: AllowedTenants,
    middleware: bool,
}

impl ProviderEntry {
    /// An entry for `credential`. By default the chain wraps it in the tenant policy and a token
    /// cache, and a failure stops the chain.
    pub fn new(credential: impl TokenCredential + 'static) -> Self {
        Self::from_arc(Arc::new(credential))
    }

    /// Like [`new`](Self::new), for a credential that is already shared.
    pub fn from_arc(credential: Arc<dyn TokenCredential>) -> Self {
        ProviderEntry {
            credential,
            developer_tool: false,
            allowed: AllowedTenants::default(),
            middleware: true,
        }
    }

    /// Marks the provider as a developer tool (`DefaultAzureCredential` behaviour): its failures
    /// count as unavailable and the chain moves on. Invalid input still stops the chain.
    pub fn developer_tool(mut self, developer_tool: bool) -> Self {
        self.developer_tool = developer_tool;
        self
    }

    /// Tenants this provider may get tokens for besides its home tenant, added to the chain's list.
    pub fn additionally_allowed_tenants<T: AsRef<str>>(
        mut self,
        tenants: impl IntoIterator<Item = T>,
    ) -> Self {
        self.allowed.extend(tenants);
        self
    }

    /// Adds the provider as it is: no tenant policy and no cache from the chain (for a provider
    /// you have already wrapped yourself, or a nested chain). Without the cache there is also no
    /// check that a token has not expired on arrival: the chain passes the provider's tokens on
    /// as they are.
    pub fn without_middleware(mut self) -> Self {
        self.middleware = false;
        self
    }
}

/// Builds a [`ChainedCredential`]. See [`ChainedCredential::builder`].
#[derive(Debug)]
pub struct ChainedCredentialBuilder {
    name: String,
    sticky: bool,
    allowed: AllowedTenants,
    env: Env,
    cache: TokenCacheLayer,
    entries: Vec<ProviderEntry>,
}

impl Default for ChainedCredentialBuilder {
    fn default() -> Self {
        ChainedCredentialBuilder {
            name: "ChainedCredential".to_owned(),
            sticky: false,
            allowed: AllowedTenants::default(),
            env: Env::process(),
            cache: TokenCacheLayer::new(),
            entries: Vec::new(),
        }
    }
}

impl ChainedCredentialBuilder {
    /// The chain's name in errors and tracing (default `ChainedCredential`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Remembers the provider that last succeeded and goes to it directly, selecting again from
    /// the top when it later reports unavailable (`DefaultAzureCredential` behaviour). Concurrent
    /// callers that find no provider selected share one walk down the chain. Off by default.
    pub fn sticky(mut self, sticky: bool) -> Self {
        self.sticky = sticky;
        self
    }

    /// Tenants every provider may get tokens for besides its home tenant (`"*"`: any).
    pub fn additionally_allowed_tenants<T: AsRef<str>>(
        mut self,
        tenants: impl IntoIterator<Item = T>,
    ) -> Self {
        self.allowed.extend(tenants);
        self
    }

    /// Where the tenant policy reads `AZURE_ADDITIONALLY_ALLOWED_TENANTS` and
    /// `AZURE_IDENTITY_DISABLE_MULTITENANTAUTH` (default: the process environment).
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// The cache settings used for every provider added with middleware.
    pub fn cache(mut self, cache: TokenCacheLayer) -> Self {
        self.cache = cache;
        self
    }

    /// Shortcut for a cache with the given clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.cache = self.cache.clock(clock);
        self
    }

    /// Appends a provider; a failure stops the chain.
    pub fn provider(self, credential: impl TokenCredential + 'static) -> Self {
        self.entry(ProviderEntry::new(credential))
    }

    /// Appends a developer-tool provider; its failures count as unavailable.
    pub fn developer_tool(self, credential: impl TokenCredential + 'static) -> Self {
        self.entry(ProviderEntry::new(credential).developer_tool(true))
    }

    /// Appends an entry.
    pub fn entry(mut self, entry: ProviderEntry) -> Self {
        self.entries.push(entry);
        self
    }

    /// Inserts an entry at `index` (clamped to the end).
    pub fn insert(mut self, index: usize, entry: ProviderEntry) -> Self {
        let index = index.min(self.entries.len());
        self.entries.insert(index, entry);
        self
    }

    /// The names of the providers added so far, in order.
    pub fn provider_names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.credential.name()).collect()
    }

    /// Builds the chain.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when no provider was added.
    pub fn build(self) -> Result<ChainedCredential, Error> {
        if self.entries.is_empty() {
            return Err(Error::invalid_input(
                &self.name,
                "a chain needs at least one provider; add one with `provider()`",
            ));
        }
        let entries = self
            .entries
            .into_iter()
            .map(|entry| {
                let name: Box<str> = entry.credential.name().into();
                let credential: Arc<dyn TokenCredential> = if entry.middleware {
                    let tenant = TenantPolicyLayer::new()
                        .env(self.env.clone())
                        .additionally_allowed_tenants(self.allowed.iter())
                        .additionally_allowed_tenants(entry.allowed.iter());
                    Arc::new(tenant.layer(self.cache.layer(entry.credential)))
                } else {
                    entry.credential
                };
                Entry {
                    name,
                    credential,
                    developer_tool: entry.developer_tool,
                }
            })
            .collect();
        Ok(ChainedCredential::from_entries(self.name, entries, self.sticky))
    }
}
