//! The OS secret-store seam: where VS Code's Azure Account extension kept its refresh token.

use std::fmt;
use std::sync::Arc;

use credchain_core::Secret;

#[cfg(any(test, feature = "test-util"))]
mod memory;
#[cfg(any(test, feature = "test-util"))]
pub use memory::MemorySecretStore;

#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios"))))]
mod secret_service;
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios"))))]
use secret_service as platform;

#[cfg(target_os = "macos")]
mod keychain;
#[cfg(target_os = "macos")]
use keychain as platform;

#[cfg(windows)]
mod credential_manager;
#[cfg(windows)]
use credential_manager as platform;

/// A read-only view of an OS secret store (Secret Service, Keychain, Credential Manager).
///
/// credchain only ever *reads* the item the Azure Account extension stored; it never writes
/// to the store. Implement this to read from somewhere else, or use
/// `MemorySecretStore` (feature `test-util`) in tests.
///
/// # Blocking
///
/// [`find_password`](Self::find_password) may block (a D-Bus round trip, an unlock prompt).
/// The credential calls it on a thread of its own, never on an async runtime's worker, gives up
/// waiting after a timeout, and never starts a second call while one is still running, so an
/// implementation need not time out by itself. A call that never returns keeps that one thread
/// and makes the credential's later requests wait (and time out) for it.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// A short name for messages, such as "the Secret Service".
    fn name(&self) -> &str;

    /// The password stored for `service` and `account` (as keytar stored them), or `Ok(None)`
    /// when there is no such item.
    ///
    /// # Errors
    ///
    /// A [`SecretStoreError`] when the store cannot be reached, is locked, or fails. Its
    /// message must never contain a secret.
    fn find_password(&self, service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError>;
}

impl<T: SecretStore + ?Sized> SecretStore for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn find_password(&self, service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
        (**self).find_password(service, account)
    }
}

/// Why a [`SecretStore`] lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretStoreErrorKind {
    /// No store is reachable: no D-Bus session bus, no Secret Service provider (such as
    /// gnome-keyring) on it, or no store on this platform.
    NotAvailable,
    /// The store, or the item, is locked and reading it would need the user to unlock it.
    Locked,
    /// Anything else: an unexpected reply, an item that is not UTF-8 text.
    Failed,
}

/// A failed [`SecretStore`] lookup: a kind and a message (never a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretStoreError {
    kind: SecretStoreErrorKind,
    message: String,
}

impl SecretStoreError {
    /// A lookup error of `kind`; `message` says what failed, lowercase, without secrets.
    pub fn new(kind: SecretStoreErrorKind, message: impl Into<String>) -> Self {
        SecretStoreError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SecretStoreErrorKind {
        self.kind
    }

    /// What failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SecretStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SecretStoreError {}

/// The platform's secret store.
///
/// | OS | store | item |
/// |---|---|---|
/// | Linux, BSD | the freedesktop Secret Service over the D-Bus session bus (gnome-keyring, KeePassXC, …) | an item with attributes `service` and `account` |
/// | macOS | the Keychain | a generic password with that service and account |
/// | Windows | Credential Manager | a generic credential named `service/account` |
///
/// On Linux the D-Bus connection is made from the **process** environment
/// (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`), not from the credential's
/// injected [`Env`](credchain_core::Env). Locked items are reported as
/// [`SecretStoreErrorKind::Locked`]; no unlock prompt is ever raised.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsSecretStore;

impl OsSecretStore {
    /// The platform's store.
    pub fn new() -> Self {
        OsSecretStore
    }
}

impl SecretStore for OsSecretStore {
    fn name(&self) -> &str {
        platform::NAME
    }

    fn find_password(&self, service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
        platform::find_password(service, account)
    }
}

/// Platforms with no supported store.
#[cfg(not(any(
    all(unix, not(any(target_os = "macos", target_os = "ios"))),
    target_os = "macos",
    windows
)))]
mod platform {
    use super::{SecretStoreError, SecretStoreErrorKind};
    use credchain_core::Secret;

    pub(super) const NAME: &str = "the OS secret store";

    pub(super) fn find_password(_service: &str, _account: &str) -> Result<Option<Secret>, SecretStoreError> {
        Err(SecretStoreError::new(
            SecretStoreErrorKind::NotAvailable,
            "this platform has no secret store credchain can read",
        ))
    }
}

/// Turns stored bytes into a secret, wiping the bytes either way.
pub(crate) fn secret_from_bytes(bytes: Vec<u8>) -> Result<Secret, SecretStoreError> {
    let bytes = zeroize::Zeroizing::new(bytes);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Secret::new(text)),
        Err(_) => Err(SecretStoreError::new(
            SecretStoreErrorKind::Failed,
            "the stored item is not UTF-8 text",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_items_are_refused_without_echoing_them() {
        let err = secret_from_bytes(vec![0xff, b's', b'e', b'c']).unwrap_err();
        assert_eq!(err.kind(), SecretStoreErrorKind::Failed);
        assert!(!err.to_string().contains("sec"));
        assert_eq!(secret_from_bytes(b"rt".to_vec()).unwrap().expose(), "rt");
    }

    #[test]
    fn arc_forwards() {
        let store = Arc::new(MemorySecretStore::new());
        store.insert("s", "a", "v");
        let found = SecretStore::find_password(&store, "s", "a").unwrap();
        assert_eq!(found.map(|s| s.expose().to_owned()).as_deref(), Some("v"));
        assert_eq!(SecretStore::name(&store), "the in-memory secret store");
    }
}
