//! Reads the `exp` claim of a JWT without verifying it: only to decide when to re-read the file.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The expiry (`exp`) of a compact JWT (`header.payload.signature`), or `None` when `token` is
/// not a JWT with a numeric `exp`. The signature is not checked: Entra checks it, and the value
/// only decides when the file is read again.
pub(crate) fn expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.as_object()?.get("exp")?;
    let seconds = exp.as_u64().or_else(|| {
        // Some issuers write `exp` as a float; anything negative or absurd is "not a JWT".
        exp.as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
            .map(|s| s as u64)
    })?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn reads_exp_of_a_jwt() {
        assert_eq!(
            expiry(&jwt(r#"{"iss":"i","exp":1700000000}"#)),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            expiry(&jwt(r#"{"exp":1700000000.5}"#)),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        // Padding some encoders leave is tolerated.
        let padded = format!("a.{}==.b", URL_SAFE_NO_PAD.encode(r#"{"exp":1}"#));
        assert_eq!(expiry(&padded), Some(UNIX_EPOCH + Duration::from_secs(1)));
    }

    #[test]
    fn anything_else_is_not_a_jwt() {
        for token in [
            "".to_owned(),
            "opaque-token".to_owned(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "a.!!!.c".to_owned(),
            jwt("not json"),
            jwt("[1]"),
            jwt(r#"{"iss":"no exp"}"#),
            jwt(r#"{"exp":"1700000000"}"#),
            jwt(r#"{"exp":-5}"#),
            jwt(r#"{"exp":1e300}"#),
        ] {
            assert_eq!(expiry(&token), None, "{token}");
        }
        // Beyond what `SystemTime` holds: no panic, and never "already expired".
        let far = expiry(&jwt(r#"{"exp":18446744073709551615}"#));
        assert!(far.is_none_or(|t| t > SystemTime::now()), "{far:?}");
    }
}
