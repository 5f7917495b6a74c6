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
