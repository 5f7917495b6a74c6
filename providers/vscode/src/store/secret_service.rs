//! Linux and the BSDs: the freedesktop Secret Service on the D-Bus session bus.
//!
//! keytar (and so VS Code's Azure Account extension) stored the refresh token as an item with
//! the attributes `service` and `account`. The `keyring` crate looks items up by `service` and
//! `username`, so it cannot find this one; the item is searched by its attributes instead.

use std::collections::HashMap;

use credchain_core::Secret;
use secret_service::blocking::SecretService;
use secret_service::{EncryptionType, Error as SsError};

use super::{SecretStoreError, SecretStoreErrorKind, secret_from_bytes};

pub(super) const NAME: &str = "the Secret Service";

pub(super) fn find_password(service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
    // `connect` reads DBUS_SESSION_BUS_ADDRESS (else $XDG_RUNTIME_DIR/bus) from the process.
    let ss = SecretService::connect(EncryptionType::Dh).map_err(|e| {
        SecretStoreError::new(
            SecretStoreErrorKind::NotAvailable,
            format!(
                "cannot connect to the Secret Service on the D-Bus session bus ({}); a keyring such \
                 as gnome-keyring must be running in a desktop session",
                describe(&e)
            ),
        )
    })?;
    let attributes = HashMap::from([("service", service), ("account", account)]);
    let found = ss
        .search_items(attributes)
        .map_err(|e| classify("search the Secret Service", &e))?;
    if let Some(item) = found.unlocked.first() {
        let bytes = item
            .get_secret()
            .map_err(|e| classify("read the Secret Service item", &e))?;
        return secret_from_bytes(bytes).map(Some);
    }
    if !found.locked.is_empty() {
        return Err(SecretStoreError::new(
            SecretStoreErrorKind::Locked,
            "the keyring holding the item is locked",
        ));
    }
    Ok(None)
}

fn classify(what: &str, e: &SsError) -> SecretStoreError {
    let detail = describe(e);
    let kind = match e {
        SsError::Locked => SecretStoreErrorKind::Locked,
        SsError::Unavailable => SecretStoreErrorKind::NotAvailable,
        _ if detail.contains("ServiceUnknown") => SecretStoreErrorKind::NotAvailable,
        _ if detail.contains("IsLocked") => SecretStoreErrorKind::Locked,
        _ => SecretStoreErrorKind::Failed,
    };
    SecretStoreError::new(kind, format!("cannot {what} ({detail})"))
}

fn describe(e: &SsError) -> String {
    match e {
        SsError::Unavailable => "no D-Bus session bus or no Secret Service provider found".to_owned(),
        other => other.to_string(),
    }
}
