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

/// Property tests: no token text panics `expiry`, and a JWT's `exp` (integer or float, padded or
/// not, among other claims) is read back exactly. 10,000 cases each; CI fixes the seed with
/// `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{Value, json};

    fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
        TestRunner::new(Config {
            cases: 10_000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    fn compact(payload: &[u8], pad: usize) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload),
            "=".repeat(pad)
        )
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let text = prop_oneof![".{0,200}", "[A-Za-z0-9_=-]{0,40}(\\.[A-Za-z0-9_=-]{0,80}){0,4}",];
        run(text, |text| {
            let _ = expiry(&text);
            Ok(())
        });
    }

    #[test]
    fn arbitrary_payloads_never_panic() {
        let exp = prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::from),
        ];
        let payload = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            exp.prop_map(|exp| json!({"exp": exp}).to_string().into_bytes()),
        ];
        run((payload, 0usize..3), |(payload, pad)| {
            if let Some(at) = expiry(&compact(&payload, pad)) {
                prop_assert!(at >= UNIX_EPOCH);
            }
            Ok(())
        });
    }

    #[test]
    fn exp_is_read_back_exactly() {
        let claims = proptest::collection::btree_map("[a-z]{1,6}", ".{0,20}", 0..4);
        run(
            (0u64..1_000_000_000_000, any::<bool>(), claims, 0usize..3),
            |(exp, as_float, claims, pad)| {
                let mut map: serde_json::Map<String, Value> =
                    claims.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
                // Whole seconds as a float are exact below 2^53.
                let value = if as_float {
                    json!(exp as f64 + 0.25)
                } else {
                    json!(exp)
                };
                map.insert("exp".into(), value);
                let token = compact(Value::Object(map).to_string().as_bytes(), pad);
                prop_assert_eq!(expiry(&token), Some(UNIX_EPOCH + Duration::from_secs(exp)));
                Ok(())
            },
        );
    }
}
