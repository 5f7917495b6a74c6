//! macOS: the Keychain's generic passwords (keytar stored the token as service + account).

use credchain_core::Secret;
use security_framework::passwords::get_generic_password;

use super::{SecretStoreError, SecretStoreErrorKind, secret_from_bytes};

pub(super) const NAME: &str = "the macOS Keychain";

/// `errSecItemNotFound`.
const ERR_SEC_ITEM_NOT_FOUND: i32 = -25300;
/// `errSecInteractionNotAllowed`: the keychain is locked and no prompt may be shown.
const ERR_SEC_INTERACTION_NOT_ALLOWED: i32 = -25308;
/// `errSecAuthFailed`: the user refused (or failed) to unlock the keychain.
const ERR_SEC_AUTH_FAILED: i32 = -25293;

pub(super) fn find_password(service: &str, account: &str) -> Result<Option<Secret>, SecretStoreError> {
    match get_generic_password(service, account) {
        Ok(bytes) => secret_from_bytes(bytes).map(Some),
        Err(e) if e.code() == ERR_SEC_ITEM_NOT_FOUND => Ok(None),
        Err(e) if e.code() == ERR_SEC_INTERACTION_NOT_ALLOWED || e.code() == ERR_SEC_AUTH_FAILED => {
            Err(SecretStoreError::new(
                SecretStoreErrorKind::Locked,
                format!("the Keychain is locked ({e})"),
            ))
        }
        Err(e) => Err(SecretStoreError::new(
            SecretStoreErrorKind::Failed,
            format!("cannot read the Keychain item ({e})"),
        )),
    }
}
