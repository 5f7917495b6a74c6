//! [`VsCodeCredentialBuilder`]: the options, and how `build()` resolves the cloud, tenant and
//! authority from them, the environment and VS Code's settings.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use credchain_core::tenant::{ADFS, same_tenant};
use credchain_core::{Env, Error, validate};
use credchain_entra::{AZURE_AUTHORITY_HOST, Authority, EntraClient, EntraClientBuilder};

use crate::auth_record::default_auth_record_paths;
use crate::credential::{CREDENTIAL_NAME, DEFAULT_SECRET_STORE_TIMEOUT, VsCodeCredential};
use crate::messages::{adfs_unavailable, unavailable};
use crate::refresh_token::RefreshTokens;
use crate::settings::{
    CLOUD_KEY, DEFAULT_CLOUD, DEFAULT_TENANT, Os, SettingsState, TENANT_KEY, default_settings_path,
    read_settings,
};
use crate::setup::SettingSource;
use crate::store::{OsSecretStore, SecretStore};

/// Builds a [`VsCodeCredential`]. Every option is optional.
///
/// ```
/// use credchain_core::{Env, TokenCredential};
/// use credchain_vscode::{MemorySecretStore, VsCodeCredential};
///
/// let dir = tempfile::tempdir()?;
/// let credential = VsCodeCredential::builder()
///     .env(Env::from_pairs([("HOME", dir.path().to_str().unwrap_or_default())]))
///     .tenant_id("contoso.onmicrosoft.com")
///     .secret_store(MemorySecretStore::new())
///     .build()?;
/// assert_eq!(credential.home_tenant(), Some("contoso.onmicrosoft.com"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct VsCodeCredentialBuilder {
    authority: Option<String>,
    tenant_id: Option<String>,
    settings_path: Option<PathBuf>,
    auth_record_path: Option<PathBuf>,
    env: Env,
    store: Option<Arc<dyn SecretStore>>,
    store_timeout: Duration,
    client: Option<EntraClient>,
    client_builder: Option<EntraClientBuilder>,
    os: Os,
}

impl Default for VsCodeCredentialBuilder {
    fn default() -> Self {
        VsCodeCredentialBuilder {
            authority: None,
            tenant_id: None,
            settings_path: None,
            auth_record_path: None,
            env: Env::process(),
            store: None,
            store_timeout: DEFAULT_SECRET_STORE_TIMEOUT,
            client: None,
            client_builder: None,
            os: Os::current(),
        }
    }
}

impl VsCodeCredentialBuilder {
    /// The Microsoft Entra authority host, such as `login.microsoftonline.com` or
    /// `https://login.example.com`. Required for a custom cloud; otherwise it defaults to
    /// `AZURE_AUTHORITY_HOST`, then to the authority of VS Code's `azure.cloud` setting.
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// The tenant to authenticate in. Defaults to VS Code's `azure.tenant` setting, then to
    /// `organizations` (work and school accounts only). A blank value counts as unset.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Reads VS Code's settings from `path` instead of the platform's default location (for
    /// tests, VS Code Insiders, VSCodium or portable installs).
    pub fn settings_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings_path = Some(path.into());
        self
    }

    /// Reads the Azure Resources extension's sign-in record from `path` instead of
    /// `~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json` (then `~/.Azure/…`).
    pub fn auth_record_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.auth_record_path = Some(path.into());
        self
    }

    /// Where `HOME`, `USERPROFILE`, `APPDATA`, `XDG_CONFIG_HOME`, `AZURE_AUTHORITY_HOST` (and
    /// the HTTP client's TLS and proxy variables) are read from. Default: the process.
    ///
    /// The Linux Secret Service connection is the exception: it always reads
    /// `DBUS_SESSION_BUS_ADDRESS` from the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Reads the refresh token from `store` instead of the OS secret store.
    pub fn secret_store(mut self, store: impl SecretStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// How long a request waits for the secret-store lookup ([`DEFAULT_SECRET_STORE_TIMEOUT`] by
    /// default; the request's deadline can shorten it). Zero is refused by
    /// [`build`](Self::build): every lookup would be abandoned unread.
    pub fn secret_store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout;
        self
    }

    /// Sends token requests through `client`, **including its authority**, which then
    /// replaces the one worked out from the options, `AZURE_AUTHORITY_HOST` and VS Code's
    /// cloud setting. To keep that resolution and only change the HTTP setup (extra roots,
    /// timeouts), use [`entra_client_builder`](Self::entra_client_builder).
    pub fn entra_client(mut self, client: EntraClient) -> Self {
        self.client = Some(client);
        self
    }

    /// Builds the token client from `builder`, after setting its authority to the resolved
    /// one and its environment to this credential's [`env`](Self::env).
    pub fn entra_client_builder(mut self, builder: EntraClientBuilder) -> Self {
        self.client_builder = Some(builder);
        self
    }

    #[cfg(test)]
    pub(crate) fn os(mut self, os: Os) -> Self {
        self.os = os;
        self
    }

    /// Reads VS Code's settings and builds the credential.
    ///
    /// Problems with the user's VS Code setup (unreadable settings, a custom cloud without an
    /// authority, an ADFS tenant) do not fail here: they make every `get_token` call return
    /// [`ErrorKind::Unavailable`](credchain_core::ErrorKind::Unavailable) with the reason, so a chain moves on.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) for an invalid `tenant_id` or `authority`, or a zero
    /// `secret_store_timeout`, and the token client's own build errors.
    pub fn build(self) -> Result<VsCodeCredential, Error> {
        let invalid = |message: String| Error::invalid_input(CREDENTIAL_NAME, message);
        let option_tenant = match self.tenant_id.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(tenant) => {
                validate::tenant_id(tenant).map_err(|e| invalid(format!("the `tenant_id` option: {e}")))?;
                Some(tenant.to_owned())
            }
            None => None,
        };
        if self.store_timeout.is_zero() {
            return Err(invalid(
                "the `secret_store_timeout` option must be greater than zero".to_owned(),
            ));
        }
        let option_authority = match &self.authority {
            Some(authority) => Some(
                Authority::parse(authority).map_err(|e| invalid(format!("the `authority` option: {e}")))?,
            ),
            None => None,
        };

        let settings = match &self.settings_path {
            Some(path) => read_settings(path),
            None => match default_settings_path(self.os, &self.env) {
                Ok(path) => read_settings(&path),
                Err(reason) => SettingsState::NoPath(reason),
            },
        };
        let mut problem: Option<Error> = None;
        let values = match settings.settings() {
            Ok(values) => values,
            Err(reason) => {
                problem = Some(unavailable(reason.to_owned()));
                Default::default()
            }
        };
        let settings_shown = settings
            .path()
            .map(|p| format!("`{}`", p.display()))
            .unwrap_or_else(|| "VS Code's settings".to_owned());

        let (cloud, cloud_source) = match values.cloud {
            Some(cloud) => (cloud, SettingSource::Settings),
            None => (DEFAULT_CLOUD.to_owned(), SettingSource::Default),
        };
        let (tenant, tenant_source) = match (option_tenant, values.tenant) {
            (Some(tenant), _) => (tenant, SettingSource::Option),
            (None, Some(tenant)) => match validate::tenant_id(&tenant) {
                Ok(()) => (tenant, SettingSource::Settings),
                Err(e) => {
                    problem.get_or_insert_with(|| {
                        unavailable(format!(
                            "`{TENANT_KEY}` in {settings_shown} is not usable: {e}; fix the setting, or \
                             set the credential's tenant explicitly"
                        ))
                    });
                    (DEFAULT_TENANT.to_owned(), SettingSource::Default)
                }
            },
            (None, None) => (DEFAULT_TENANT.to_owned(), SettingSource::Default),
        };
        if same_tenant(&tenant, ADFS) {
            problem.get_or_insert_with(adfs_unavailable);
        }

        let (authority, authority_source) = if let Some(client) = &self.client {
            (Some(client.authority().clone()), Some(SettingSource::Client))
        } else if let Some(authority) = option_authority {
            (Some(authority), Some(SettingSource::Option))
        } else if self.env.non_blank(AZURE_AUTHORITY_HOST).is_some() {
            match Authority::from_env(&self.env) {
                Ok(authority) => (Some(authority), Some(SettingSource::Environment)),
                Err(e) => {
                    problem.get_or_insert_with(|| {
                        Error::invalid_input(
                            CREDENTIAL_NAME,
                            format!("{e}; fix it, or unset it to use VS Code's cloud setting"),
                        )
                    });
                    (None, None)
                }
            }
        } else {
            cloud_authority(&cloud, cloud_source, &settings_shown, &mut problem)
        };

        let client = match (problem, self.client, authority) {
            (Some(problem), _, _) => Err(problem),
            (None, Some(client), _) => Ok(client),
            (None, None, Some(authority)) => Ok(self
                .client_builder
                .unwrap_or_default()
                .provider_name(CREDENTIAL_NAME)
                .env(self.env.clone())
                .authority(authority)
                .build()?),
            (None, None, None) => Err(unavailable(
                "no Microsoft Entra authority could be worked out; set the credential's authority",
            )),
        };

        let auth_record_paths = match self.auth_record_path {
            Some(path) => Ok(vec![path]),
            None => default_auth_record_paths(self.os, &self.env),
        };
        let store = self.store.unwrap_or_else(|| Arc::new(OsSecretStore::new()));
        Ok(VsCodeCredential {
            os: self.os,
            settings,
            refresh_tokens: RefreshTokens::new(store, cloud.clone(), self.store_timeout),
            cloud,
            cloud_source,
            tenant,
            tenant_source,
            authority_source,
            auth_record_paths,
            client,
        })
    }
}

/// The authority of VS Code's cloud, or records why a custom cloud cannot be used.
fn cloud_authority(
    cloud: &str,
    source: SettingSource,
    settings_shown: &str,
    problem: &mut Option<Error>,
) -> (Option<Authority>, Option<SettingSource>) {
    match Authority::from_cloud_name(cloud) {
        Some(authority) => (Some(authority), Some(source)),
        None => {
            problem.get_or_insert_with(|| {
                unavailable(format!(
                    "the custom cloud `{cloud}` is selected in VS Code (`{CLOUD_KEY}` in {settings_shown}); \
                     set the credential's authority to that cloud's Microsoft Entra endpoint, or set \
                     `{AZURE_AUTHORITY_HOST}`"
                ))
            });
            (None, None)
        }
    }
}

impl fmt::Debug for VsCodeCredentialBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VsCodeCredentialBuilder")
            .field("authority", &self.authority)
            .field("tenant_id", &self.tenant_id)
            .field("settings_path", &self.settings_path)
            .field("auth_record_path", &self.auth_record_path)
            .field("secret_store_timeout", &self.store_timeout)
            .finish_non_exhaustive()
    }
}
