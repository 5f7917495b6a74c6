//! Entra's refusals of a federated token, told apart and explained for workload identity (the
//! token client's generic hints speak of certificates).

use std::path::Path;

use credchain_core::Error;
use credchain_entra::EntraErrorResponse;

/// The token is outside its valid time range (expired or not yet valid).
pub(crate) const EXPIRED: u64 = 700024;
/// No federated identity credential of the app matches the token's issuer and subject.
const NO_MATCH: u64 = 70021;
/// A federated identity credential matches, but not the token's audience.
const WRONG_AUDIENCE: u64 = 700212;

fn response(error: &Error) -> Option<&EntraErrorResponse> {
    std::error::Error::source(error).and_then(|s| s.downcast_ref::<EntraErrorResponse>())
}

/// The first `AADSTS` code of a refusal by Entra.
fn code(error: &Error) -> Option<u64> {
    if let Some(r) = response(error) {
        return r.error_codes().first().copied();
    }
    // Errors made without a response (scripted exchanges in unit tests) start with the code.
    let digits: String = error
        .message()
        .strip_prefix("AADSTS")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `true` when Entra refused the assertion as expired or not yet valid (`AADSTS700024`).
pub(crate) fn is_expired(error: &Error) -> bool {
    code(error) == Some(EXPIRED)
}

/// "Microsoft Entra ID refused the federated token (HTTP 400, `invalid_request`): AADSTS…",
/// without the token client's hint.
fn refused(error: &Error) -> String {
    match response(error) {
        Some(r) => format!(
            "Microsoft Entra ID refused the federated token (HTTP {}, `{}`): {}",
            r.status(),
            r.error(),
            r.description().unwrap_or(error.message())
        ),
        None => error.message().to_owned(),
    }
}

fn with_hint(error: &Error, hint: &str) -> Error {
    Error::authentication_failed(error.provider(), format!("{}; {hint}", refused(error)))
        .with_source(error.clone())
}

/// Adds what to check to refusals only workload identity gets; other errors are returned as
/// they are.
pub(crate) fn explain(error: Error, client_id: &str) -> Error {
    match code(&error) {
        Some(NO_MATCH) => with_hint(
            &error,
            &format!(
                "add a federated credential to the app or managed identity `{client_id}` whose issuer \
                 and subject are exactly the token's `iss` and `sub` (Azure portal: Certificates & \
                 secrets → Federated credentials), or check `AZURE_CLIENT_ID`"
            ),
        ),
        Some(WRONG_AUDIENCE) => with_hint(
            &error,
            "the token's audience must be the federated credential's audience (by default \
             `api://AzureADTokenExchange`); change the projected token's audience or the credential's",
        ),
        _ => error,
    }
}

/// The error after the token file was read again on `AADSTS700024`: either it held the same
/// token (no retry) or the new token was refused too.
pub(crate) fn still_expired(refusal: &Error, path: &Path, retried: bool) -> Error {
    let did = if retried {
        "the token file was read again and the new token was refused too"
    } else {
        "the token file was read again and still holds the same token"
    };
    with_hint(
        refusal,
        &format!(
            "{did}: check that `{}` is being rotated (Kubernetes refreshes projected service account \
             tokens before they expire; in CI, request a fresh OIDC token) and that this machine's \
             clock is correct",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_from_scripted_messages() {
        let e = |m: &str| Error::authentication_failed("P", m);
        assert!(is_expired(&e(
            "AADSTS700024: Client assertion is not within its valid time range."
        )));
        assert!(!is_expired(&e("AADSTS7000240: other")));
        assert!(!is_expired(&e("refused: AADSTS700024")));
        let explained = explain(
            e("AADSTS70021: No matching federated identity record found."),
            "app-1",
        );
        assert!(
            explained.message().contains("`app-1` whose issuer and subject"),
            "{explained}"
        );
        let audience = explain(e("AADSTS700212: audience"), "app-1");
        assert!(
            audience.message().contains("api://AzureADTokenExchange"),
            "{audience}"
        );
        let other = explain(e("AADSTS7000215: other"), "app-1");
        assert_eq!(other.message(), "AADSTS7000215: other");
    }
}
