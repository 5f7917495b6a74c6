//! Token, time and error conversions between credchain and `azure_core`.

use std::error::Error as StdError;
use std::time::{Duration, SystemTime};

use azure_core::error::ErrorKind as AzErrorKind;
use azure_core::time::OffsetDateTime;

use crate::{AccessToken, Error, ErrorKind};

/// `9999-12-31T23:59:59Z`, the latest instant `OffsetDateTime` holds without the
/// `large-dates` feature.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;
/// `-9999-01-01T00:00:00Z`, the earliest.
const MIN_UNIX_SECONDS: i64 = -377_705_116_800;

/// Converts a [`SystemTime`] to an `OffsetDateTime`, clamping to the years -9999..=9999.
pub(super) fn to_offset_date_time(time: SystemTime) -> OffsetDateTime {
    let (seconds, nanos) = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_nanos(),
        ),
        Err(before) => {
            // `before` is how far `time` lies before the epoch: floor to whole seconds.
            let before = before.duration();
            let mut seconds = i64::try_from(before.as_secs()).map_or(i64::MIN, |s| -s);
            let mut nanos = before.subsec_nanos();
            if nanos > 0 {
                seconds = seconds.saturating_sub(1);
                nanos = 1_000_000_000 - nanos;
            }
            (seconds, nanos)
        }
    };
    let (seconds, nanos) = if seconds > MAX_UNIX_SECONDS {
        (MAX_UNIX_SECONDS, 0)
    } else if seconds < MIN_UNIX_SECONDS {
        (MIN_UNIX_SECONDS, 0)
    } else {
        (seconds, nanos)
    };
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| t + Duration::from_nanos(u64::from(nanos)))
        // Unreachable after clamping; the epoch makes a token look expired, the safe side.
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Converts an `OffsetDateTime` to a [`SystemTime`], saturating at what the platform holds.
pub(super) fn to_system_time(time: OffsetDateTime) -> SystemTime {
    let seconds = time.unix_timestamp();
    let nanos = Duration::from_nanos(u64::from(time.nanosecond()));
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let at = if seconds >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(whole)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(whole)
    };
    // Failing only far outside any token's lifetime: the epoch reads as "expired".
    at.and_then(|t| t.checked_add(nanos))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Converts a credchain token for `azure_core`, which knows only Bearer tokens and has no
/// `refresh_on`.
pub(super) fn to_azure_token(
    provider: &str,
    token: &AccessToken,
) -> azure_core::Result<azure_core::credentials::AccessToken> {
    if !token.token_type().eq_ignore_ascii_case("bearer") {
        return Err(azure_core::Error::new(
            AzErrorKind::Credential,
            Error::authentication_failed(
                provider,
                format!(
                    "got a `{}` token, but `azure_core` clients send only Bearer tokens; \
                     configure the provider for Bearer tokens",
                    token.token_type().escape_debug()
                ),
            ),
        ));
    }
    Ok(azure_core::credentials::AccessToken::new(
        token.secret().to_owned(),
        to_offset_date_time(token.expires_on()),
    ))
}

/// Converts an `azure_core` token to a credchain one (a Bearer token without `refresh_on`).
pub(super) fn from_azure_token(token: azure_core::credentials::AccessToken) -> AccessToken {
    AccessToken::new(token.token.secret(), to_system_time(token.expires_on))
}

/// Converts a credchain error into an `azure_core` one of kind `Credential`.
///
/// The credchain error becomes the source, so its [`ErrorKind`], provider and attempts stay
/// reachable with `err.downcast_ref::<credchain::Error>()`; the message (`Display`) is
/// credchain's, unchanged, including a chain's list of attempts.
///
/// ```
/// use credchain::{Error, ErrorKind};
/// use credchain::azure_core_interop::into_azure_error;
///
/// let err = into_azure_error(Error::unavailable("AzureCliCredential", "run `az login`"));
/// assert!(matches!(err.kind(), azure_core::error::ErrorKind::Credential));
/// assert_eq!(err.to_string(), "AzureCliCredential: run `az login`");
/// let inner = err.downcast_ref::<Error>().map(Error::kind);
/// assert_eq!(inner, Some(ErrorKind::Unavailable));
/// ```
pub fn into_azure_error(error: Error) -> azure_core::Error {
    azure_core::Error::new(AzErrorKind::Credential, error)
}

/// Finds the credchain [`Error`] inside an `azure_core` error, however deeply SDK code wrapped
/// it.
///
/// SDK clients wrap a credential's error before returning it: `azure_core`'s retry policy, for
/// one, returns an error whose text is only "non-transport error occurred which will not be
/// retried", with the credential's error as its source. This walks the sources.
///
/// ```
/// use credchain::Error;
/// use credchain::azure_core_interop::{find_credchain_error, into_azure_error};
///
/// let from_credential = into_azure_error(Error::unavailable("EnvironmentCredential", "set `AZURE_CLIENT_ID`"));
/// let from_sdk_client = from_credential.with_context("non-transport error occurred which will not be retried");
/// let ours = find_credchain_error(&from_sdk_client).map(|e| e.to_string());
/// assert_eq!(ours.as_deref(), Some("EnvironmentCredential: set `AZURE_CLIENT_ID`"));
/// ```
pub fn find_credchain_error(error: &azure_core::Error) -> Option<&Error> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    for _ in 0..32 {
        let err = current?;
        if let Some(ours) = err.downcast_ref::<Error>() {
            return Some(ours);
        }
        current = err.source();
    }
    None
}

/// The default classification of an `azure_core` error for a chain.
///
/// | `azure_core` error | credchain kind |
/// |---|---|
/// | wraps a credchain [`Error`] at any depth (a round trip) | that error's kind |
/// | an `std::io::Error` of kind `NotFound` anywhere in the sources (a CLI missing from `PATH`) | `Unavailable` |
/// | `HttpResponse` 408 anywhere in the sources; `std::io::ErrorKind::TimedOut` | `Timeout` |
/// | `Connection`, `Io` or `HttpResponse` 429/5xx anywhere in the sources | `Transient` |
/// | anything else: `Credential`, `HttpResponse` 4xx, `DataConversion`, `Other` | `AuthenticationFailed` |
///
/// The official credentials report almost everything as `Credential`, including "not signed
/// in" and "tool not installed" (as text only), so most errors classify as
/// `AuthenticationFailed` and stop a chain. Wrap such a credential with
/// [`ChainedCredentialBuilder::developer_tool`](crate::ChainedCredentialBuilder::developer_tool)
/// or give [`FromAzureCore::classify_with`](super::FromAzureCore::classify_with) your own rule.
pub fn classify(error: &azure_core::Error) -> ErrorKind {
    if let Some(ours) = find_credchain_error(error) {
        return ours.kind();
    }
    let mut kind = ErrorKind::AuthenticationFailed;
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    let mut depth = 0;
    while let Some(err) = current {
        if let Some(az) = err.downcast_ref::<azure_core::Error>() {
            match az.kind() {
                AzErrorKind::Connection | AzErrorKind::Io => kind = promote(kind, ErrorKind::Transient),
                AzErrorKind::HttpResponse { status, .. } => {
                    let code = u16::from(*status);
                    if code == 408 {
                        kind = promote(kind, ErrorKind::Timeout);
                    } else if code == 429 || code >= 500 {
                        kind = promote(kind, ErrorKind::Transient);
                    }
                }
                _ => {}
            }
        } else if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::NotFound => return ErrorKind::Unavailable,
                std::io::ErrorKind::TimedOut => kind = promote(kind, ErrorKind::Timeout),
                _ => kind = promote(kind, ErrorKind::Transient),
            }
        }
        depth += 1;
        if depth > 32 {
            break;
        }
        current = err.source();
    }
    kind
}

/// Keeps the more specific of two kinds: timeout over transient over failed.
fn promote(current: ErrorKind, found: ErrorKind) -> ErrorKind {
    let rank = |k: ErrorKind| match k {
        ErrorKind::Timeout => 2,
        ErrorKind::Transient => 1,
        _ => 0,
    };
    if rank(found) > rank(current) {
        found
    } else {
        current
    }
}

/// Converts an `azure_core` error into a credchain one for provider `name`, with `kind`.
///
/// A credchain error that went through [`into_azure_error`] comes back unchanged. Otherwise the
/// message is the `azure_core` error's text, followed by the text of each source that is not
/// already part of it, and the `azure_core` error is kept as the source.
pub(super) fn from_azure_error(name: &str, kind: ErrorKind, error: azure_core::Error) -> Error {
    if let Some(ours) = find_credchain_error(&error) {
        return if ours.kind() == kind {
            ours.clone()
        } else {
            ours.with_kind(kind)
        };
    }
    let mut message = error.to_string().trim().to_owned();
    let mut current = error.source();
    let mut depth = 0;
    while let Some(err) = current {
        let text = err.to_string();
        let text = text.trim();
        if !text.is_empty() && !message.contains(text) {
            message.push_str(": ");
            message.push_str(text);
        }
        depth += 1;
        if depth > 32 {
            break;
        }
        current = err.source();
    }
    if message.is_empty() {
        message = format!("the `azure_core` credential failed ({})", error.kind());
    }
    match kind {
        ErrorKind::Unavailable => Error::unavailable(name, message),
        ErrorKind::InvalidInput => Error::invalid_input(name, message),
        ErrorKind::Timeout => Error::timeout(name, message),
        ErrorKind::Transient => Error::transient(name, message),
        _ => Error::authentication_failed(name, message),
    }
    .with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        for offset in [0_u64, 1, 1_767_225_600, 4_102_444_800] {
            let t = SystemTime::UNIX_EPOCH + Duration::new(offset, 123_456_789);
            let odt = to_offset_date_time(t);
            assert_eq!(odt.unix_timestamp(), i64::try_from(offset).unwrap());
            assert_eq!(odt.nanosecond(), 123_456_789);
            assert_eq!(to_system_time(odt), t);
        }
        let before = SystemTime::UNIX_EPOCH - Duration::new(10, 250_000_000);
        let odt = to_offset_date_time(before);
        assert_eq!((odt.unix_timestamp(), odt.nanosecond()), (-11, 750_000_000));
        assert_eq!(to_system_time(odt), before);
    }

    #[test]
    fn extreme_times_clamp_instead_of_panicking() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        assert_eq!(to_offset_date_time(far).unix_timestamp(), MAX_UNIX_SECONDS);
        let long_ago = SystemTime::UNIX_EPOCH - Duration::from_secs(1 << 40);
        assert_eq!(to_offset_date_time(long_ago).unix_timestamp(), MIN_UNIX_SECONDS);
        // And back: inside the platform's range on every OS this builds for.
        let max = to_offset_date_time(far);
        assert!(to_system_time(max) > SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn only_bearer_tokens_convert() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let bearer = AccessToken::new("tok", at).with_token_type("bearer");
        let converted = to_azure_token("P", &bearer).unwrap();
        assert_eq!(converted.token.secret(), "tok");
        assert_eq!(converted.expires_on.unix_timestamp(), 100);

        let pop = AccessToken::new("tok", at).with_token_type("pop");
        let err = to_azure_token("P", &pop).unwrap_err();
        assert!(matches!(err.kind(), AzErrorKind::Credential));
        assert!(err.to_string().contains("`pop` token"), "{err}");
        assert!(!err.to_string().contains("tok "), "{err}");
        assert_eq!(
            err.downcast_ref::<Error>().map(Error::kind),
            Some(ErrorKind::AuthenticationFailed)
        );
    }

    #[test]
    fn classification_table() {
        let http = |code: u16| {
            azure_core::Error::with_message(
                AzErrorKind::HttpResponse {
                    status: code.into(),
                    error_code: None,
                    raw_response: None,
                },
                format!("status {code}"),
            )
        };
        let wrapped = |inner: azure_core::Error| {
            azure_core::Error::with_error(
                AzErrorKind::Credential,
                inner,
                "Credential authentication failed.",
            )
        };
        let io = |kind: std::io::ErrorKind| {
            azure_core::Error::with_error(AzErrorKind::Credential, std::io::Error::from(kind), "io")
        };
        let table: Vec<(azure_core::Error, ErrorKind)> = vec![
            (
                azure_core::Error::with_message(AzErrorKind::Credential, "x"),
                ErrorKind::AuthenticationFailed,
            ),
            (
                azure_core::Error::with_message(AzErrorKind::Other, "x"),
                ErrorKind::AuthenticationFailed,
            ),
            (
                azure_core::Error::with_message(AzErrorKind::DataConversion, "x"),
                ErrorKind::AuthenticationFailed,
            ),
            (
                azure_core::Error::with_message(AzErrorKind::Connection, "x"),
                ErrorKind::Transient,
            ),
            (
                azure_core::Error::with_message(AzErrorKind::Io, "x"),
                ErrorKind::Transient,
            ),
            (http(400), ErrorKind::AuthenticationFailed),
            (http(401), ErrorKind::AuthenticationFailed),
            (http(408), ErrorKind::Timeout),
            (http(429), ErrorKind::Transient),
            (http(503), ErrorKind::Transient),
            (wrapped(http(500)), ErrorKind::Transient),
            (wrapped(http(401)), ErrorKind::AuthenticationFailed),
            (
                wrapped(azure_core::Error::with_message(
                    AzErrorKind::Connection,
                    "refused",
                )),
                ErrorKind::Transient,
            ),
            (io(std::io::ErrorKind::NotFound), ErrorKind::Unavailable),
            (io(std::io::ErrorKind::TimedOut), ErrorKind::Timeout),
            (io(std::io::ErrorKind::PermissionDenied), ErrorKind::Transient),
            (
                into_azure_error(Error::invalid_input("P", "bad scope")),
                ErrorKind::InvalidInput,
            ),
            (
                wrapped(into_azure_error(Error::unavailable("P", "no"))),
                ErrorKind::Unavailable,
            ),
        ];
        for (err, expected) in table {
            assert_eq!(classify(&err), expected, "{err:?}");
        }
    }

    #[test]
    fn messages_keep_the_text_and_add_hidden_sources() {
        let inner = azure_core::Error::with_message(AzErrorKind::Connection, "connection refused");
        let outer = azure_core::Error::with_error(AzErrorKind::Credential, inner, "could not reach the STS");
        let err = from_azure_error("Official", ErrorKind::Transient, outer);
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert_eq!(err.provider(), "Official");
        assert_eq!(err.message(), "could not reach the STS: connection refused");
        assert!(err.source().is_some());

        // Text already in the message is not repeated (azure_identity embeds the inner error).
        let inner = azure_core::Error::with_message(AzErrorKind::Credential, "AADSTS7000215: bad secret");
        let outer = azure_core::Error::with_error(
            AzErrorKind::Credential,
            inner,
            "ClientSecretCredential authentication failed. AADSTS7000215: bad secret",
        );
        let err = from_azure_error("Official", ErrorKind::AuthenticationFailed, outer);
        assert_eq!(
            err.message(),
            "ClientSecretCredential authentication failed. AADSTS7000215: bad secret"
        );
    }

    #[test]
    fn credchain_errors_round_trip_unchanged() {
        let original = Error::unavailable("AzureCliCredential", "run `az login`");
        let back = from_azure_error(
            "Outer",
            ErrorKind::Unavailable,
            into_azure_error(original.clone()),
        );
        assert_eq!(back.to_string(), original.to_string());
        assert_eq!(back.kind(), ErrorKind::Unavailable);
        let wrapped = into_azure_error(original.clone()).with_context("non-transport error occurred");
        assert_eq!(classify(&wrapped), ErrorKind::Unavailable);
        let back = from_azure_error("Outer", ErrorKind::Unavailable, wrapped);
        assert_eq!(back.to_string(), original.to_string());
        let reclassified = from_azure_error("Outer", ErrorKind::Transient, into_azure_error(original));
        assert_eq!(reclassified.kind(), ErrorKind::Transient);
        assert_eq!(reclassified.provider(), "AzureCliCredential");
    }
}
