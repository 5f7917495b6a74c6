//! The provider's user-facing messages about the secret store and the sign-in record: each
//! names what happened (no item, an empty item, a locked or unreachable store, a lookup that did
//! not answer) and what to do next. None of them ever holds a secret.

use std::time::Duration;

use credchain_core::Error;

use crate::auth_record::AuthRecordState;
use crate::credential::{CREDENTIAL_NAME, KEYRING_SERVICE};
use crate::lookup::LookupError;
use crate::store::{SecretStoreError, SecretStoreErrorKind};

/// The advice when VS Code's sign-in cannot be used.
pub(crate) const TROUBLESHOOT: &str = "sign in with `az login` and use AzureCliCredential instead";

/// An [`ErrorKind::Unavailable`](credchain_core::ErrorKind::Unavailable) error of this provider.
pub(crate) fn unavailable(message: impl Into<String>) -> Error {
    Error::unavailable(CREDENTIAL_NAME, message)
}

/// The tenant is `adfs` (configured or requested).
pub(crate) fn adfs_unavailable() -> Error {
    unavailable(
        "the tenant is `adfs`, and AD FS is not supported by this credential; use a Microsoft Entra \
         tenant, or another credential",
    )
}

/// The store answered, but has no item for VS Code.
pub(crate) fn no_item(store: &str, account: &str) -> String {
    format!(
        "{store} has no item with service `{KEYRING_SERVICE}` and account `{account}` (only the Azure \
         Account extension, version 0.9.11 or earlier, saved one there)"
    )
}

/// The store has VS Code's item, but its secret is empty or only whitespace.
pub(crate) fn empty_item(store: &str, account: &str) -> String {
    format!(
        "{store} has an item with service `{KEYRING_SERVICE}` and account `{account}`, but its secret is \
         empty, so there is no refresh token to redeem; sign in to Azure in VS Code again (Azure Account \
         extension 0.9.11 or earlier) to replace it"
    )
}

/// The store refused or failed the lookup.
pub(crate) fn store_failure(store: &str, e: &SecretStoreError) -> String {
    match e.kind() {
        SecretStoreErrorKind::Locked => format!(
            "{store} is locked ({e}); unlock your keyring (for example by logging in to the desktop \
             session) and try again"
        ),
        SecretStoreErrorKind::NotAvailable => format!("{store} is not available: {e}"),
        _ => format!("reading {store} failed: {e}"),
    }
}

/// The lookup gave no answer: it timed out, could not start, or panicked.
pub(crate) fn lookup_failure(store: &str, timeout: Duration, e: &LookupError) -> String {
    match e {
        LookupError::TimedOut { joined: false, .. } => format!(
            "{store} did not answer within {} s; it may be locked and waiting for an unlock prompt, or \
             hung: unlock your keyring and try again",
            timeout.as_secs_f64()
        ),
        LookupError::TimedOut {
            joined: true,
            running_for,
        } => format!(
            "{store} did not answer within {} s: an earlier request's lookup, running for {:.1} s, has \
             still not returned, and no second lookup is started while one is outstanding; it may be \
             locked and waiting for an unlock prompt, or hung: unlock your keyring and try again",
            timeout.as_secs_f64(),
            running_for.as_secs_f64()
        ),
        LookupError::Spawn(e) => format!("cannot start a thread to read {store}: {e}"),
        LookupError::Panicked => format!("reading {store} failed unexpectedly (the lookup panicked)"),
        LookupError::NoRuntime => format!(
            "{store} was not read because the credential was not called inside a Tokio runtime, which \
             its timeout (and its HTTP client) need; call it from a Tokio runtime"
        ),
    }
}

/// The Unavailable error for "no refresh token", with what the sign-in record says.
pub(crate) fn without_refresh_token(reason: &str, record: AuthRecordState) -> Error {
    let record = match record {
        AuthRecordState::Valid(path, record) => format!(
            "VS Code's Azure Resources extension is signed in as `{}` (`{}`), but that sign-in can only \
             be used through the OS authentication broker, which credchain does not use; run `az login` \
             as `{}` and use AzureCliCredential instead",
            record.username,
            path.display(),
            record.username
        ),
        AuthRecordState::Invalid(path, why) => format!(
            "the Azure Resources extension's sign-in record `{}` {why}; sign in again in VS Code, or \
             {TROUBLESHOOT}",
            path.display()
        ),
        AuthRecordState::Missing(Ok(paths)) => format!(
            "no Azure Resources extension sign-in was found either ({}); {TROUBLESHOOT}",
            paths
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        AuthRecordState::Missing(Err(why)) => {
            format!(
                "the Azure Resources extension's sign-in record was not looked for ({why}); {TROUBLESHOOT}"
            )
        }
    };
    unavailable(format!("no refresh token from VS Code: {reason}; {record}"))
}
