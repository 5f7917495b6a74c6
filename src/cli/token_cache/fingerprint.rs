//! What a cached token is keyed on, so it never outlives the sign-in it came from. The key is
//! the SHA-256 of:
//!
//! * the request: the scopes and the `--tenant`;
//! * every `AZURE_*` environment variable, name and value (`AZURE_TOKEN_CREDENTIALS`,
//!   `AZURE_CLIENT_ID`, `AZURE_CONFIG_DIR`, …): any change of configuration is a new key;
//! * the Azure CLI's signed-in accounts: for each subscription in `azureProfile.json` (in
//!   `$AZURE_CONFIG_DIR`, else `~/.azure`), its id, tenant, user name and type and whether it is
//!   the default. `az logout`, `az login` as someone else and `az account set` all change this.
//!   (az rewrites its MSAL token cache on every fetch but not this file, so a fetch does not
//!   change the key.) A file that is not JSON counts by its bytes;
//! * VS Code's Azure Resources sign-in record (`~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json`),
//!   by its bytes;
//! * the Azure Developer CLI's configuration (`$AZD_CONFIG_DIR/config.json`, else
//!   `~/.azd/config.json`), by its bytes: `azd auth login` and `azd auth logout` rewrite it, a token
//!   fetch does not.
//!
//! Files are read with `credchain_core::fs::read_bounded`; a missing file is a value of its own.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The largest profile or sign-in record read.
const MAX_FILE: u64 = 4 * 1024 * 1024;
/// Bumped when the inputs change, so old entries are never matched.
const VERSION: &[u8] = b"credchain-token-cache-v1";

/// Everything the key is made of. `AZURE_*` values may be secrets (`AZURE_CLIENT_SECRET`), so
/// `Debug` shows names only and the values are wiped when dropped.
#[derive(Default)]
pub(crate) struct Inputs {
    pub(super) scopes: Vec<String>,
    pub(super) tenant: Option<String>,
    /// `AZURE_*` variables, sorted by name.
    pub(super) azure_vars: Vec<(OsString, OsString)>,
    /// `azureProfile.json`'s bytes, `None` when absent or unreadable.
    pub(super) az_profile: Option<Vec<u8>>,
    /// VS Code's sign-in record's bytes, `None` when absent or unreadable.
    pub(super) vscode_record: Option<Vec<u8>>,
    /// azd's `config.json` bytes, `None` when absent or unreadable.
    pub(super) azd_config: Option<Vec<u8>>,
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.azure_vars.iter().map(|(name, _)| name).collect();
        f.debug_struct("Inputs")
            .field("scopes", &self.scopes)
            .field("tenant", &self.tenant)
            .field("azure_vars", &names)
            .field("az_profile", &self.az_profile.as_ref().map(Vec::len))
            .field("vscode_record", &self.vscode_record.as_ref().map(Vec::len))
            .field("azd_config", &self.azd_config.as_ref().map(Vec::len))
            .finish()
    }
}

impl Drop for Inputs {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for (_, value) in self.azure_vars.drain(..) {
            value.into_vec().zeroize();
        }
    }
}

impl Inputs {
    /// Reads the inputs for a request from this process's environment and files.
    pub(crate) fn gather(scopes: &[String], tenant: Option<&str>) -> Self {
        let mut azure_vars: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(name, _)| name.as_bytes().starts_with(b"AZURE_"))
            .collect();
        azure_vars.sort();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let az_dir = std::env::var_os("AZURE_CONFIG_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".azure")));
        let read = |path: Option<PathBuf>| {
            path.and_then(|p| credchain_core::fs::read_bounded(&p, MAX_FILE).ok())
                .map(|bytes| bytes.to_vec())
        };
        Inputs {
            scopes: scopes.to_vec(),
            tenant: tenant.map(str::to_owned),
            azure_vars,
            az_profile: read(az_dir.map(|d| d.join("azureProfile.json"))),
            vscode_record: read(
                home.as_ref()
                    .map(|h| h.join(".azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json")),
            ),
            azd_config: read(
                std::env::var_os("AZD_CONFIG_DIR")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| home.map(|h| h.join(".azd")))
                    .map(|d| d.join("config.json")),
            ),
        }
    }

    /// The key: lowercase hex SHA-256 of the inputs, each length-prefixed.
    pub(crate) fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(VERSION);
        field(&(self.scopes.len() as u64).to_le_bytes());
        for scope in &self.scopes {
            field(scope.as_bytes());
        }
        field(self.tenant.as_deref().unwrap_or("\0none").as_bytes());
        field(&(self.azure_vars.len() as u64).to_le_bytes());
        for (name, value) in &self.azure_vars {
            field(name.as_bytes());
            field(value.as_bytes());
        }
        match &self.az_profile {
            Some(bytes) => field(signed_in_accounts(bytes).as_bytes()),
            None => field(b"\0no az profile"),
        }
        field(self.vscode_record.as_deref().unwrap_or(b"\0no vscode record"));
        field(self.azd_config.as_deref().unwrap_or(b"\0no azd config"));
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The signed-in accounts in an `azureProfile.json` (az writes it with a UTF-8 BOM), one line
/// per subscription; the raw text when it is not the expected JSON.
fn signed_in_accounts(bytes: &[u8]) -> String {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(profile) = serde_json::from_slice::<Value>(text) else {
        return format!("raw:{}", String::from_utf8_lossy(text));
    };
    let Some(subscriptions) = profile.get("subscriptions").and_then(Value::as_array) else {
        return "no subscriptions".to_owned();
    };
    let str_at = |v: &Value, path: &[&str]| -> String {
        let mut at = v;
        for key in path {
            at = at.get(*key).unwrap_or(&Value::Null);
        }
        at.as_str().unwrap_or("").to_owned()
    };
    let mut lines: Vec<String> = subscriptions
        .iter()
        .map(|s| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                str_at(s, &["id"]),
                str_at(s, &["tenantId"]),
                str_at(s, &["user", "name"]),
                str_at(s, &["user", "type"]),
                s.get("isDefault").and_then(Value::as_bool).unwrap_or(false)
            )
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(user: &str, default_sub: &str) -> Vec<u8> {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(
            serde_json::json!({
                "installationId": "i",
                "subscriptions": [
                    {"id": "sub-a", "tenantId": "t", "user": {"name": user, "type": "user"},
                     "isDefault": default_sub == "sub-a", "state": "Enabled"},
                    {"id": "sub-b", "tenantId": "t", "user": {"name": user, "type": "user"},
                     "isDefault": default_sub == "sub-b", "state": "Enabled"},
                ]
            })
            .to_string()
            .into_bytes(),
        );
        bytes
    }

    fn base() -> Inputs {
        Inputs {
            scopes: vec!["https://management.azure.com/.default".to_owned()],
            tenant: None,
            azure_vars: vec![("AZURE_CONFIG_DIR".into(), "/cfg".into())],
            az_profile: Some(profile("ada@contoso.com", "sub-a")),
            vscode_record: None,
            azd_config: None,
        }
    }

    #[test]
    fn debug_shows_variable_names_but_never_values() {
        let mut inputs = base();
        inputs
            .azure_vars
            .push(("AZURE_CLIENT_SECRET".into(), "s3cr3t-value".into()));
        let shown = format!("{inputs:?}");
        assert!(
            shown.contains("AZURE_CLIENT_SECRET") && !shown.contains("s3cr3t-value"),
            "{shown}"
        );
    }

    #[test]
    fn stable_for_the_same_inputs() {
        assert_eq!(base().fingerprint(), base().fingerprint());
        assert_eq!(base().fingerprint().len(), 64);
        // Fields az changes that say nothing about who is signed in do not matter.
        let mut other = base();
        other.az_profile = Some(
            String::from_utf8(profile("ada@contoso.com", "sub-a"))
                .expect("utf-8")
                .replace("Enabled", "Warned")
                .into_bytes(),
        );
        assert_eq!(other.fingerprint(), base().fingerprint());
    }

    #[test]
    fn every_input_changes_the_key() {
        let reference = base().fingerprint();
        let changes: [fn(&mut Inputs); 12] = [
            (|i| i.scopes = vec!["api://x/.default".to_owned()]),
            (|i| i.tenant = Some("contoso".to_owned())),
            (|i| {
                i.azure_vars
                    .push(("AZURE_TOKEN_CREDENTIALS".into(), "dev".into()))
            }),
            (|i| i.azure_vars[0].1 = "/other".into()),
            (|i| i.az_profile = None),
            (|i| i.az_profile = Some(profile("grace@contoso.com", "sub-a"))),
            (|i| i.az_profile = Some(profile("ada@contoso.com", "sub-b"))),
            (|i| i.az_profile = Some(br#"{"subscriptions": []}"#.to_vec())),
            (|i| i.az_profile = Some(b"not json".to_vec())),
            (|i| i.vscode_record = Some(b"{}".to_vec())),
            (|i| {
                i.azd_config = Some(br#"{"auth":{"account":{"currentUser":{"homeAccountId":"a"}}}}"#.to_vec())
            }),
            (|i| {
                i.azd_config = Some(br#"{"auth":{"account":{"currentUser":{"homeAccountId":"b"}}}}"#.to_vec())
            }),
        ];
        for (n, change) in changes.iter().enumerate() {
            let mut inputs = base();
            change(&mut inputs);
            assert_ne!(inputs.fingerprint(), reference, "change {n}");
        }
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        let mut a = base();
        a.scopes = vec!["ab".to_owned(), "c".to_owned()];
        let mut b = base();
        b.scopes = vec!["a".to_owned(), "bc".to_owned()];
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
