//! A few claims of an access token, decoded without verification for `doctor --show-claims` and
//! the `tenant` field of `token`'s JSON.
//!
//! Nothing here checks a signature: the claims are for showing to a person, never for deciding
//! anything. Tokens that are not JWTs (opaque tokens, MSA tokens) are reported as such.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// The payload is at most this large; anything bigger is not worth decoding for display.
const MAX_PAYLOAD: usize = 64 * 1024;

/// The claims `doctor` shows. Absent or non-string claims are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Claims {
    /// The tenant that issued the token.
    pub(crate) tid: Option<String>,
    /// The object ID of the signed-in user or service principal.
    pub(crate) oid: Option<String>,
    /// The user principal name (users only).
    pub(crate) upn: Option<String>,
    /// The expiry, in seconds since the Unix epoch.
    pub(crate) exp: Option<i64>,
}

/// Why a token's claims could not be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotJwt {
    /// Not three dot-separated parts.
    Shape,
    /// The payload is not base64url.
    Encoding,
    /// The payload is not a JSON object.
    Json,
}

impl NotJwt {
    /// A phrase for the report.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NotJwt::Shape => "the token is not a JWT (it may be opaque), so it has no claims to show",
            NotJwt::Encoding => "the token looks like a JWT, but its payload is not base64url",
            NotJwt::Json => "the token looks like a JWT, but its payload is not a JSON object",
        }
    }
}

/// Decodes the payload of a JWS compact token (`header.payload.signature`) without verifying it.
pub(crate) fn decode(token: &str) -> Result<Claims, NotJwt> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(NotJwt::Shape);
    };
    if header.is_empty() || payload.is_empty() || payload.len() > MAX_PAYLOAD {
        return Err(NotJwt::Shape);
    }
    // Some issuers pad; base64url without padding is the standard form.
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| NotJwt::Encoding)?;
    let serde_json::Value::Object(map) =
        serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|_| NotJwt::Json)?
    else {
        return Err(NotJwt::Json);
    };
    let text = |name: &str| map.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let exp = map.get("exp").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
    });
    Ok(Claims {
        tid: text("tid"),
        oid: text("oid"),
        upn: text("upn"),
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_the_four_claims() {
        let token = jwt(r#"{"tid":"t-1","oid":"o-1","upn":"ada@contoso.com","exp":1795679499,"aud":"x"}"#);
        assert_eq!(
            decode(&token),
            Ok(Claims {
                tid: Some("t-1".into()),
                oid: Some("o-1".into()),
                upn: Some("ada@contoso.com".into()),
                exp: Some(1_795_679_499),
            })
        );
    }

    #[test]
    fn app_tokens_have_no_upn_and_odd_types_are_skipped() {
        let token = jwt(r#"{"tid":"t","oid":42,"exp":1.7e9}"#);
        assert_eq!(
            decode(&token),
            Ok(Claims {
                tid: Some("t".into()),
                oid: None,
                upn: None,
                exp: Some(1_700_000_000),
            })
        );
    }

    #[test]
    fn real_az_sample_decodes() {
        // The token Azure CLI 2.91.0's `az account get-access-token` printed against a test Entra
        // endpoint (so a fake token, but az's exact format).
        let token = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJSUzI1NiIsICJraWQiOiAiZmFrZS1raWQifQ.eyJhdWQiOiAiYXBpOi8veCIsICJpc3MiOiAiaHR0cHM6Ly9zdHMuZmFrZS5sb2NhbC83MmY5ODhiZi0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEvIiwgImlhdCI6IDE3OTU2NzU5MDEsICJuYmYiOiAxNzk1Njc1OTAxLCAiZXhwIjogMTc5NTY3OTUwMSwgImFwcGlkIjogIjExMTExMTExLTIyMjItMzMzMy00NDQ0LTU1NTU1NTU1NTU1NSIsICJvaWQiOiAiMTM0YWFhMWEtYTJkMC01NzQxLTg3ZjYtZDg0NGUxMjk5ZGYyIiwgInN1YiI6ICIxMTExMTExMS0yMjIyLTMzMzMtNDQ0NC01NTU1NTU1NTU1NTUiLCAidGlkIjogIjcyZjk4OGJmLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMSIsICJ2ZXIiOiAiMS4wIiwgImlkdHlwIjogImFwcCJ9.bm90LWEtcmVhbC1zaWduYXR1cmU";
        let claims = decode(token).expect("a JWT");
        assert_eq!(
            claims.tid.as_deref(),
            Some("72f988bf-0000-4000-8000-000000000001")
        );
        assert_eq!(
            claims.oid.as_deref(),
            Some("134aaa1a-a2d0-5741-87f6-d844e1299df2")
        );
        assert_eq!(claims.exp, Some(1_795_679_501));
        assert_eq!(claims.upn, None);
    }

    #[test]
    fn non_jwts_are_reported_not_panicked_on() {
        let cases = [
            ("", NotJwt::Shape),
            ("opaque-token", NotJwt::Shape),
            ("a.b", NotJwt::Shape),
            ("a.b.c.d", NotJwt::Shape),
            (".e30.", NotJwt::Shape),
            ("a.!!!.c", NotJwt::Encoding),
            ("a.\u{e9}\u{e9}.c", NotJwt::Encoding),
            ("a.bm90IGpzb24.c", NotJwt::Json), // "not json"
            ("a.WzFd.c", NotJwt::Json),        // "[1]"
        ];
        for (token, expected) in cases {
            assert_eq!(decode(token), Err(expected), "{token:?}");
        }
        let huge = format!("a.{}.c", "A".repeat(MAX_PAYLOAD + 1));
        assert_eq!(decode(&huge), Err(NotJwt::Shape));
    }

    #[test]
    fn padded_payloads_are_accepted() {
        let token = format!(
            "e30.{}.sig",
            base64::engine::general_purpose::URL_SAFE.encode(r#"{"tid":"t"}"#)
        );
        assert!(token.contains('='), "{token}");
        assert_eq!(decode(&token).map(|c| c.tid), Ok(Some("t".into())));
    }
}

/// Property tests: no token text panics the decoder, oversized payloads are refused unread, and
/// the four claims of a JWT are read back exactly. 10,000 cases each; CI fixes the seed with
/// `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{Map, Value, json};

    fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
        TestRunner::new(Config {
            cases: 10_000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    fn compact(payload: &[u8]) -> String {
        format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn arbitrary_tokens_never_panic() {
        let token = prop_oneof![
            ".{0,200}",
            "[A-Za-z0-9_=-]{0,40}(\\.[A-Za-z0-9_=-]{0,80}){0,4}",
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|p| compact(&p)),
        ];
        run(token, |token| {
            if let Err(e) = decode(&token) {
                prop_assert!(!e.as_str().is_empty());
            }
            Ok(())
        });
    }

    #[test]
    fn payloads_over_the_cap_are_refused_unread() {
        // One valid payload, padded with spaces inside the JSON, cut around the cap.
        let mut json = String::from(r#"{"tid":"t""#);
        json.push_str(&" ".repeat(MAX_PAYLOAD));
        json.push('}');
        let encoded = URL_SAFE_NO_PAD.encode(json.as_bytes());
        run(0usize..2048, |extra| {
            let payload = &encoded[..MAX_PAYLOAD + 1 + extra];
            prop_assert_eq!(decode(&format!("h.{payload}.s")), Err(NotJwt::Shape));
            Ok(())
        });
    }

    #[test]
    fn the_four_claims_are_read_back() {
        let text = || proptest::option::of(".{0,30}");
        let exp = proptest::option::of(any::<i64>());
        let other = proptest::collection::btree_map("[a-z]{1,6}", ".{0,10}", 0..3);
        run(
            (text(), text(), text(), exp, other),
            |(tid, oid, upn, exp, other)| {
                let mut map: Map<String, Value> =
                    other.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
                for (key, value) in [("tid", &tid), ("oid", &oid), ("upn", &upn)] {
                    match value {
                        Some(v) => map.insert(key.into(), json!(v)),
                        None => map.remove(key),
                    };
                }
                match exp {
                    Some(e) => map.insert("exp".into(), json!(e)),
                    None => map.remove("exp"),
                };
                let claims = decode(&compact(Value::Object(map).to_string().as_bytes()));
                prop_assert_eq!(claims, Ok(Claims { tid, oid, upn, exp }));
                Ok(())
            },
        );
    }
}
