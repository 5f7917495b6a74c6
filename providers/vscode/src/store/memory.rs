//! An in-memory [`SecretStore`] for tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use credchain_core::Secret;

use super::{SecretStore, SecretStoreError};

/// A [`SecretStore`] held in memory, with scripted failures and delays. Clones share state.
///
/// ```
/// use credchain_vscode::{MemorySecretStore, SecretStore, SecretStoreError, SecretStoreErrorKind};
///
/// let store = MemorySecretStore::new();
/// store.insert("VS Code Azure", "AzureCloud", "refresh-token");
/// let found = store.find_password("VS Code Azure", "AzureCloud").unwrap();
/// assert_eq!(found.unwrap().expose(), "refresh-token");
///
/// store.fail_with(SecretStoreError::new(SecretStoreErrorKind::Locked, "the keyring is locked"));
/// assert!(store.find_password("VS Code Azure", "AzureCloud").is_err());
/// assert_eq!(store.lookups(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemorySecretStore {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    items: Mutex<HashMap<(String, String), Secret>>,
    failure: Mutex<Option<SecretStoreError>>,
    delay: Mutex<Option<Duration>>,
    lookups: AtomicUsize,
}

impl MemorySecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `password` for `service` and `account`, replacing any earlier value.
    pub fn insert(&self, service: &str, account: &str, password: impl Into<Secret>) {
        lock(&self.inner.items).insert((service.to_owned(), account.to_owned()), password.into());
    }

    /// Removes the item for `service` and `account`.
    pub fn remove(&self, service: &str, account: &str) {
        lock(&self.inner.items).remove(&(service.to_owned(), account.to_owned()));
    }

    /// Makes every lookup fail with `error` until [`clear_failure`](Self::clear_failure).
    pub fn fail_with(&self, error: SecretStoreError) {
        *lock(&self.inner.failure) = Some(error);
    }

    /// Makes lookups succeed again.
    pub fn clear_failure(&self) {
        *lock(&self.inner.failure) = None;
    }

    /// Makes every lookup block for `delay` first, like a store waiting on an unlock prompt.
    pub fn set_delay(&self, delay: Option<Duration>) {
        *lock(&self.inner.delay) = delay;
    }

    /// How many lookups were made.
    pub fn lookups(&self) -> usize {
        self.inner.lookups.load(Ordering::SeqCst)
    }
}

impl SecretStore for MemorySecretStore {
    fn name(&self) -> &str {
        "the in-memory secret store"
    }

    fn find_password(&self, service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
        self.inner.lookups.fetch_add(1, Ordering::SeqCst);
        let delay = *lock(&self.inner.delay);
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        if let Some(error) = lock(&self.inner.failure).clone() {
            return Err(error);
        }
        Ok(lock(&self.inner.items)
            .get(&(service.to_owned(), account.to_owned()))
            .cloned())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
