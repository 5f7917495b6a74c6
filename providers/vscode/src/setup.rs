//! [`VsCodeSetup`]: what the credential would use, for diagnostics (`credchain doctor`).

use std::fmt;
use std::path::PathBuf;

use crate::auth_record::AuthRecordState;
use crate::credential::KEYRING_SERVICE;
use crate::settings::{Os, SettingsState};

/// Where a value in [`VsCodeSetup`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SettingSource {
    /// The credential's builder option.
    Option,
    /// An environment variable (`AZURE_AUTHORITY_HOST`).
    Environment,
    /// VS Code's `settings.json`.
    Settings,
    /// The built-in default (`AzureCloud`, `organizations`).
    Default,
    /// The [`EntraClient`](credchain_entra::EntraClient) passed to the builder.
    Client,
}

impl SettingSource {
    /// A short phrase for `doctor` output: "option", "`AZURE_AUTHORITY_HOST`", "settings.json",
    /// "default" or "the EntraClient option".
    pub fn as_str(self) -> &'static str {
        match self {
            SettingSource::Option => "option",
            SettingSource::Environment => "`AZURE_AUTHORITY_HOST`",
            SettingSource::Settings => "settings.json",
            SettingSource::Default => "default",
            SettingSource::Client => "the EntraClient option",
        }
    }
}

impl fmt::Display for SettingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of a [`VsCodeCredential`](crate::VsCodeCredential)'s inputs, from
/// [`describe`](crate::VsCodeCredential::describe). It never holds a secret.
///
/// `Display` prints one `key: value` line per item, for `credchain doctor`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VsCodeSetup {
    /// The platform layout used to find VS Code's files (`Linux`, `macOS`, `Windows`).
    pub platform: String,
    /// The `settings.json` path, when one could be worked out.
    pub settings_path: Option<PathBuf>,
    /// Whether that file exists.
    pub settings_found: bool,
    /// Why there is no path, or why the file cannot be used.
    pub settings_problem: Option<String>,
    /// The cloud (`azure.cloud`, default `AzureCloud`); also the secret-store account.
    pub cloud: String,
    /// Where the cloud came from.
    pub cloud_source: SettingSource,
    /// The home tenant.
    pub tenant: String,
    /// Where the tenant came from.
    pub tenant_source: SettingSource,
    /// The Microsoft Entra authority, when one could be worked out.
    pub authority: Option<String>,
    /// Where the authority came from.
    pub authority_source: Option<SettingSource>,
    /// Why every token request would be refused before reaching the secret store, if so.
    pub unavailable_reason: Option<String>,
    /// The secret store the refresh token is read from.
    pub secret_store: String,
    /// The secret-store service (`VS Code Azure`).
    pub secret_store_service: String,
    /// The secret-store account (the cloud name).
    pub secret_store_account: String,
    /// The Azure Resources sign-in record's path: the file found, else the first place looked.
    pub auth_record_path: Option<PathBuf>,
    /// Whether a sign-in record file exists.
    pub auth_record_found: bool,
    /// Whether it is valid.
    pub auth_record_valid: bool,
    /// The account it names, when valid.
    pub auth_record_username: Option<String>,
    /// Why it is invalid, or why it was not looked for.
    pub auth_record_problem: Option<String>,
}

impl VsCodeSetup {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        os: Os,
        settings: &SettingsState,
        cloud: &str,
        cloud_source: SettingSource,
        tenant: &str,
        tenant_source: SettingSource,
        authority: Option<String>,
        authority_source: Option<SettingSource>,
        unavailable_reason: Option<String>,
        secret_store: &str,
        record: &AuthRecordState,
    ) -> Self {
        let (settings_found, settings_problem) = match settings {
            SettingsState::NoPath(why) => (false, Some(why.clone())),
            SettingsState::Missing(_) => (false, None),
            SettingsState::Loaded(..) => (true, None),
            SettingsState::Invalid(_, why) => (true, Some(why.clone())),
        };
        let (auth_record_path, auth_record_problem, auth_record_username) = match record {
            AuthRecordState::Missing(Ok(paths)) => (paths.first().cloned(), None, None),
            AuthRecordState::Missing(Err(why)) => (None, Some(why.clone()), None),
            AuthRecordState::Valid(path, record) => (Some(path.clone()), None, Some(record.username.clone())),
            AuthRecordState::Invalid(path, why) => (Some(path.clone()), Some(why.clone()), None),
        };
        VsCodeSetup {
            platform: os.to_string(),
            settings_path: settings.path().map(ToOwned::to_owned),
            settings_found,
            settings_problem,
            cloud: cloud.to_owned(),
            cloud_source,
            tenant: tenant.to_owned(),
            tenant_source,
            authority,
            authority_source,
            unavailable_reason,
            secret_store: secret_store.to_owned(),
            secret_store_service: KEYRING_SERVICE.to_owned(),
            secret_store_account: cloud.to_owned(),
            auth_record_path,
            auth_record_found: record.path().is_some(),
            auth_record_valid: matches!(record, AuthRecordState::Valid(..)),
            auth_record_username,
            auth_record_problem,
        }
    }
}

impl fmt::Display for VsCodeSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(none)".to_owned(), |p| format!("`{}`", p.display()))
        };
        let found = |yes: bool| if yes { "found" } else { "not found" };
        write!(
            f,
            "platform: {}\nsettings: {} ({})",
            self.platform,
            path(&self.settings_path),
            found(self.settings_found)
        )?;
        if let Some(problem) = &self.settings_problem {
            write!(f, "; {problem}")?;
        }
        write!(
            f,
            "\ncloud: {} ({})\ntenant: {} ({})\nauthority: ",
            self.cloud, self.cloud_source, self.tenant, self.tenant_source
        )?;
        match (&self.authority, self.authority_source) {
            (Some(authority), Some(source)) => write!(f, "{authority} ({source})")?,
            (Some(authority), None) => f.write_str(authority)?,
            (None, _) => f.write_str("(none)")?,
        }
        write!(
            f,
            "\nsecret store: {}, service `{}`, account `{}`\nsign-in record: {} ({})",
            self.secret_store,
            self.secret_store_service,
            self.secret_store_account,
            path(&self.auth_record_path),
            found(self.auth_record_found)
        )?;
        if let Some(user) = &self.auth_record_username {
            write!(f, ", valid, signed in as `{user}`")?;
        }
        if let Some(problem) = &self.auth_record_problem {
            write!(f, "; {problem}")?;
        }
        if let Some(reason) = &self.unavailable_reason {
            write!(f, "\nunavailable: {reason}")?;
        }
        Ok(())
    }
}
