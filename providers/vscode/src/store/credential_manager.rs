//! Windows: Credential Manager. keytar stored the token as the generic credential
//! `service/account` (for example `VS Code Azure/AzureCloud`).

use std::collections::HashMap;

use credchain_core::Secret;
use keyring_core::Error as KeyringError;
use keyring_core::api::CredentialStoreApi;

use super::{SecretStoreError, SecretStoreErrorKind, secret_from_bytes};

pub(super) const NAME: &str = "Windows Credential Manager";

pub(super) fn find_password(service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
    let store = windows_native_keyring_store::Store::new().map_err(|e| {
        SecretStoreError::new(
            SecretStoreErrorKind::NotAvailable,
            format!("cannot open Credential Manager ({e})"),
        )
    })?;
    let target = format!("{service}/{account}");
    let modifiers = HashMap::from([("target", target.as_str())]);
    let entry = store.build(service, account, Some(&modifiers)).map_err(|e| {
        SecretStoreError::new(
            SecretStoreErrorKind::Failed,
            format!("cannot look up `{target}` ({e})"),
        )
    })?;
    match entry.get_secret() {
        Ok(bytes) => secret_from_bytes(bytes).map(Some),
        Err(KeyringError::NoEntry) => Ok(None),
        Err(KeyringError::NoStorageAccess(e)) => Err(SecretStoreError::new(
            SecretStoreErrorKind::Locked,
            format!("Credential Manager refused access to `{target}` ({e})"),
        )),
        Err(e) => Err(SecretStoreError::new(
            SecretStoreErrorKind::Failed,
            format!("cannot read `{target}` from Credential Manager ({e})"),
        )),
    }
}
