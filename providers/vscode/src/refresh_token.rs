//! The refresh token in use: read once from the secret store (one lookup at a time, under a
//! timeout and the request's deadline), then replaced in memory by each rotated one.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use credchain_core::{Error, Secret};

use crate::credential::{CREDENTIAL_NAME, KEYRING_SERVICE};
use crate::lookup::{LookupError, SingleLookup};
use crate::messages::{empty_item, lookup_failure, no_item, store_failure, unavailable};
use crate::store::{SecretStore, SecretStoreError};

/// What a store lookup returns.
type Found = Result<Option<Secret>, SecretStoreError>;

/// Why no refresh token could be had.
#[derive(Debug)]
pub(crate) enum NoToken {
    /// The store has no usable token, or could not be read; the phrase says which and why. The
    /// credential adds what the sign-in record says.
    Missing(String),
    /// An error to return as it is (the deadline passed).
    Fail(Error),
}

/// The refresh token source of one credential.
pub(crate) struct RefreshTokens {
    store: Arc<dyn SecretStore>,
    /// The store account: the cloud name.
    account: String,
    timeout: Duration,
    lookups: SingleLookup<Found>,
    /// The one found in the store, then each rotated one.
    current: Mutex<Option<Secret>>,
}

impl RefreshTokens {
    pub(crate) fn new(store: Arc<dyn SecretStore>, account: String, timeout: Duration) -> Self {
        RefreshTokens {
            store,
            account,
            timeout,
            lookups: SingleLookup::default(),
            current: Mutex::new(None),
        }
    }

    /// The store's name, for messages.
    pub(crate) fn store_name(&self) -> &str {
        self.store.name()
    }

    /// The refresh token to redeem: the one in memory, else the one in the secret store.
    pub(crate) async fn get(&self, deadline: Option<Instant>) -> Result<Secret, NoToken> {
        if let Some(token) = lock(&self.current).clone() {
            return Ok(token);
        }
        let store_name = self.store.name();
        let mut timeout = self.timeout;
        let mut cut_by_deadline = false;
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // A lookup that is given up at once would only leave work behind.
                return Err(NoToken::Fail(Error::timeout(
                    CREDENTIAL_NAME,
                    format!("the request's deadline had already passed, so {store_name} was not read"),
                )));
            }
            if left < timeout {
                timeout = left;
                cut_by_deadline = true;
            }
        }
        let store = Arc::clone(&self.store);
        let account = self.account.clone();
        let found = self
            .lookups
            .run("credchain-vscode-secret-store", timeout, move || {
                store.find_password(KEYRING_SERVICE, &account)
            })
            .await;
        match found {
            Ok(Ok(Some(token))) if !token.is_blank() => {
                tracing::debug!(
                    provider = CREDENTIAL_NAME,
                    store = store_name,
                    "found VS Code's refresh token"
                );
                Ok(lock(&self.current).get_or_insert(token).clone())
            }
            Ok(Ok(Some(_blank))) => Err(NoToken::Missing(empty_item(store_name, &self.account))),
            Ok(Ok(None)) => Err(NoToken::Missing(no_item(store_name, &self.account))),
            Ok(Err(e)) => Err(NoToken::Missing(store_failure(store_name, &e))),
            Err(LookupError::TimedOut { .. }) if cut_by_deadline => Err(NoToken::Fail(Error::timeout(
                CREDENTIAL_NAME,
                format!("the request's deadline passed while reading {store_name}"),
            ))),
            Err(e @ LookupError::TimedOut { .. }) => {
                Err(NoToken::Missing(lookup_failure(store_name, timeout, &e)))
            }
            Err(e) => Err(NoToken::Fail(unavailable(lookup_failure(
                store_name, timeout, &e,
            )))),
        }
    }

    /// Uses `rotated` from now on (in memory only; the store is never written).
    pub(crate) fn keep_rotated(&self, rotated: Secret) {
        tracing::debug!(
            provider = CREDENTIAL_NAME,
            "keeping the rotated refresh token in memory"
        );
        *lock(&self.current) = Some(rotated);
    }

    /// Forgets `used` (refused by Microsoft Entra), so the next request reads the store again;
    /// a token rotated meanwhile by another request is kept.
    pub(crate) fn forget(&self, used: &Secret) {
        let mut current = lock(&self.current);
        if current.as_ref() == Some(used) {
            *current = None;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
