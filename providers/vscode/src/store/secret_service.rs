//! Linux and the BSDs: the freedesktop Secret Service on the D-Bus session bus.
//!
//! keytar (and so VS Code's Azure Account extension) stored the refresh token as an item with
//! the attributes `service` and `account`. The `keyring` crate looks items up by `service` and
//! `username`, so it cannot find this one; the item is searched by its attributes instead.
//!
//! The client is `secret-service`'s async API on Tokio (zbus with its `tokio` feature). Each
//! lookup builds a current-thread Tokio runtime of its own and drives the client on it, on the
//! calling thread, so it needs no runtime from the caller and leaves no task or thread behind:
//! the D-Bus connection and its tasks go away with that runtime when the lookup returns.
//! (zbus built with only `tokio` "must be used from a thread running a tokio runtime": zbus
//! 5.19 README, section on the `tokio` feature.) The
//! credential calls this on a lookup thread of its own; a caller that is itself inside a Tokio
//! runtime (where starting another runtime on the same thread would panic) gets the same lookup
//! on a scoped thread.

use std::collections::HashMap;

use credchain_core::Secret;
use secret_service::{EncryptionType, Error as SsError, SecretService};

use super::{SecretStoreError, SecretStoreErrorKind, secret_from_bytes};

pub(super) const NAME: &str = "the Secret Service";

pub(super) fn find_password(service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        // Blocking inside a runtime is the caller's choice (the trait may block), but a second
        // runtime may not start on this thread.
        return std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("credchain-vscode-secret-service".to_owned())
                .spawn_scoped(scope, || run_lookup(service, account))
                .map_err(|e| failed(format!("cannot start a thread to read the Secret Service: {e}")))?
                .join()
                .unwrap_or_else(|_| Err(failed("reading the Secret Service panicked".to_owned())))
        });
    }
    run_lookup(service, account)
}

/// Runs the async lookup on a current-thread runtime of its own.
fn run_lookup(service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the D-Bus client's event loop: {e}")))?;
    runtime.block_on(lookup(service, account))
}

async fn lookup(service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
    // `connect` reads DBUS_SESSION_BUS_ADDRESS (else $XDG_RUNTIME_DIR/bus) from the process.
    let ss = SecretService::connect(EncryptionType::Dh).await.map_err(|e| {
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
        .await
        .map_err(|e| classify("search the Secret Service", &e))?;
    if let Some(item) = found.unlocked.first() {
        let bytes = item
            .get_secret()
            .await
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

fn failed(message: String) -> SecretStoreError {
    SecretStoreError::new(SecretStoreErrorKind::Failed, message)
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
