//! JWT-shaped access tokens the fake issues, and verification of client assertions.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::cert::{thumbprint_sha1, thumbprint_sha256};
use crate::entra_error::EntraError;

/// The `client_assertion_type` value for certificate credentials.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The two halves of a decoded JWT. The signature is not checked.
///
/// Produced by [`decode_jwt`]; handy for asserting on the claims of tokens the fake issued, or on the
/// header of a client assertion a credential sent (see [`RecordedRequest::form`](crate::RecordedRequest)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecodedJwt {
    /// The JOSE header, e.g. `{"alg":"RS256","typ":"JWT","x5t#S256":"…"}`.
    pub header: Value,
    /// The claims, e.g. `{"tid":"…","aud":"…","exp":…}`.
    pub claims: Value,
}

/// Decodes the header and claims of a compact JWT (`header.payload.signature`, base64url) without
/// checking the signature. Returns `None` when the input is not JWT-shaped.
///
/// # Examples
///
/// ```
/// use credchain_fake_entra::decode_jwt;
///
/// // {"alg":"none"} . {"tid":"t"} . (empty signature)
/// let jwt = decode_jwt("eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ0In0.").unwrap();
/// assert_eq!(jwt.claims["tid"], "t");
/// assert!(decode_jwt("not a token").is_none());
/// ```
pub fn decode_jwt(token: &str) -> Option<DecodedJwt> {
    let mut parts = token.split('.');
    let (header, claims, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(DecodedJwt {
        header: decode_json_part(header)?,
        claims: decode_json_part(claims)?,
    })
}

fn decode_json_part(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

/// Signs `claims` as an HS256 JWT with the server's random key.
pub(crate) fn issue(key: &ring::hmac::Key, claims: &Value) -> String {
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "credchain-fake-entra"});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let tag = ring::hmac::sign(key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// A certificate registered for an app, with both thumbprints precomputed.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredCert {
    pub(crate) der: Vec<u8>,
    pub(crate) x5t_s256: String,
    pub(crate) x5t: String,
}

impl RegisteredCert {
    pub(crate) fn from_der(der: Vec<u8>) -> Self {
        RegisteredCert {
            x5t_s256: thumbprint_sha256(&der),
            x5t: thumbprint_sha1(&der),
            der,
        }
    }
}

fn invalid_client(code: u32, message: impl Into<String>) -> EntraError {
    EntraError::new(401, "invalid_client", code, message)
}

pub(crate) fn malformed(detail: &str) -> EntraError {
    invalid_client(50027, format!("JWT token is invalid or malformed. {detail}"))
}

/// Checks a client assertion the way Entra does; on success the `jti` is remembered so it
/// cannot be replayed.
pub(crate) fn verify_assertion(
    assertion: &str,
    client_id: &str,
    token_url: &str,
    certs: &[RegisteredCert],
    now: u64,
    used_jti: &mut HashSet<String>,
) -> Result<(), EntraError> {
    let mut parts = assertion.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("The assertion must have three dot-separated parts."));
    };
    let (Some(header), Some(claims)) = (decode_json_part(h), decode_json_part(p)) else {
        return Err(malformed("The header or payload is not base64url-encoded JSON."));
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')) else {
        return Err(malformed("The signature is not base64url-encoded."));
    };
    let algorithm: &dyn rustls::pki_types::SignatureVerificationAlgorithm =
        match header.get("alg").and_then(Value::as_str) {
            Some("RS256") => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            Some("PS256") => webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            other => {
                return Err(malformed(&format!(
                    "The signing algorithm {} is not supported; use RS256 or PS256.",
                    other.unwrap_or("(missing)")
                )));
            }
        };
    let s256 = header.get("x5t#S256").and_then(Value::as_str);
    let sha1 = header.get("x5t").and_then(Value::as_str);
    let Some(cert) = certs
        .iter()
        .find(|c| s256 == Some(c.x5t_s256.as_str()) || sha1 == Some(c.x5t.as_str()))
    else {
        let used = s256.or(sha1).unwrap_or("(no x5t#S256 or x5t header)");
        return Err(invalid_client(
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on \
                 application. [Reason - The key was not found., Thumbprint of key used by client: '{used}', \
                 Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured \
                 keys for app Id '{client_id}'.]"
            ),
        ));
    };
    if let Some(x5c) = header.get("x5c") {
        let first = x5c.as_array().and_then(|a| a.first()).and_then(Value::as_str);
        let Some(Ok(first_der)) = first.map(|b64| STANDARD.decode(b64)) else {
            return Err(malformed(
                "The x5c header must be an array of base64 DER certificates.",
            ));
        };
        if first_der != cert.der {
            return Err(malformed(
                "The first certificate in x5c is not the certificate named by x5t#S256.",
            ));
        }
    }
    let der = rustls::pki_types::CertificateDer::from(cert.der.as_slice());
    let verified = webpki::EndEntityCert::try_from(&der)
        .and_then(|ee| ee.verify_signature(algorithm, format!("{h}.{p}").as_bytes(), &signature));
    if verified.is_err() {
        return Err(invalid_client(
            700027,
            "Client assertion failed signature validation.",
        ));
    }
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if claim("aud") != Some(token_url) {
        return Err(malformed(&format!(
            "The 'aud' claim '{}' must be the token endpoint '{token_url}'.",
            claim("aud").unwrap_or("(missing)")
        )));
    }
    if claim("iss") != Some(client_id) || claim("sub") != Some(client_id) {
        return Err(invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. The 'iss' and \
             'sub' claims must both be the client id.",
        ));
    }
    let exp = claims.get("exp").and_then(Value::as_u64);
    let nbf = claims.get("nbf").and_then(Value::as_u64);
    let in_range = exp.is_some_and(|exp| exp > now) && nbf.is_none_or(|nbf| nbf <= now);
    if !in_range {
        let show = |v: Option<u64>| v.map_or_else(|| "(missing)".to_owned(), |v| v.to_string());
        return Err(invalid_client(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {now}, assertion valid \
                 from {}, expiry time of assertion {}.",
                show(nbf),
                show(exp)
            ),
        ));
    }
    let Some(jti) = claim("jti").filter(|j| !j.is_empty()) else {
        return Err(malformed("The 'jti' claim is required."));
    };
    if !used_jti.insert(jti.to_owned()) {
        return Err(invalid_client(
            700023,
            "Client assertion contains a 'jti' that was already used. Each assertion must have a unique \
             'jti' (this code is the fake's choice for replayed assertions).",
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::TestCertificate;

    /// Builds and signs an assertion with `cert` (RS256 via ring), for tests.
    pub(crate) fn sign_assertion(cert: &TestCertificate, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = ring::signature::RsaKeyPair::from_pkcs8(cert.key_der()).expect("valid key");
        let mut sig = vec![0u8; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .expect("signs");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    const URL: &str = "https://127.0.0.1:1/t/oauth2/v2.0/token";
    const NOW: u64 = 1_800_000_000;

    fn good(cert: &TestCertificate, jti: &str) -> (Value, Value) {
        (
            json!({"alg": "RS256", "typ": "JWT", "x5t#S256": cert.thumbprint_sha256()}),
            json!({"aud": URL, "iss": "c", "sub": "c", "jti": jti, "nbf": NOW - 1, "iat": NOW - 1, "exp": NOW + 600}),
        )
    }

    fn check(
        cert: &TestCertificate,
        header: &Value,
        claims: &Value,
        used: &mut HashSet<String>,
    ) -> Result<(), u32> {
        let certs = [RegisteredCert::from_der(cert.cert_der().to_vec())];
        verify_assertion(&sign_assertion(cert, header, claims), "c", URL, &certs, NOW, used)
            .map_err(|e| e.code)
    }

    #[test]
    fn assertion_rules() {
        let cert = TestCertificate::generate("jwt-test");
        let other = TestCertificate::generate("other");
        let mut used = HashSet::new();
        let (h, c) = good(&cert, "a");
        assert_eq!(check(&cert, &h, &c, &mut used), Ok(()));
        assert_eq!(check(&cert, &h, &c, &mut used), Err(700023), "jti replay");

        type Mutate = Box<dyn Fn(&mut Value, &mut Value)>;
        let table: Vec<(&str, Mutate, u32)> = vec![
            ("expired", Box::new(|_, c| c["exp"] = json!(NOW - 1)), 700024),
            ("exp == now", Box::new(|_, c| c["exp"] = json!(NOW)), 700024),
            (
                "no exp",
                Box::new(|_, c| drop(c.as_object_mut().map(|o| o.remove("exp")))),
                700024,
            ),
            ("nbf future", Box::new(|_, c| c["nbf"] = json!(NOW + 60)), 700024),
            (
                "aud",
                Box::new(|_, c| c["aud"] = json!("https://elsewhere/token")),
                50027,
            ),
            ("iss", Box::new(|_, c| c["iss"] = json!("d")), 700021),
            ("sub", Box::new(|_, c| c["sub"] = json!("d")), 700021),
            (
                "no jti",
                Box::new(|_, c| drop(c.as_object_mut().map(|o| o.remove("jti")))),
                50027,
            ),
            ("alg", Box::new(|h, _| h["alg"] = json!("HS256")), 50027),
            (
                "thumbprint",
                Box::new(|h, _| h["x5t#S256"] = json!("AAAA")),
                700027,
            ),
            (
                "x5c mismatch",
                Box::new(|h, _| h["x5c"] = json!([STANDARD.encode(b"junk")])),
                50027,
            ),
        ];
        for (i, (name, mutate, code)) in table.into_iter().enumerate() {
            let (mut h, mut c) = good(&cert, &format!("jti-{i}"));
            mutate(&mut h, &mut c);
            assert_eq!(check(&cert, &h, &c, &mut used), Err(code), "{name}");
        }
        // Signed by another key but naming the registered certificate: bad signature.
        let (h, c) = good(&cert, "forged");
        let forged = sign_assertion(&other, &h, &c);
        let certs = [RegisteredCert::from_der(cert.cert_der().to_vec())];
        let err = verify_assertion(&forged, "c", URL, &certs, NOW, &mut used).unwrap_err();
        assert_eq!((err.status, err.code), (401, 700027));
        // x5c with the right certificate and the legacy SHA-1 x5t are accepted.
        let (mut h, c) = good(&cert, "x5c");
        h.as_object_mut().map(|o| o.remove("x5t#S256"));
        h["x5t"] = json!(cert.thumbprint_sha1());
        h["x5c"] = json!([STANDARD.encode(cert.cert_der())]);
        assert_eq!(check(&cert, &h, &c, &mut used), Ok(()));
        assert!(verify_assertion("a.b", "c", URL, &certs, NOW, &mut used).is_err());
    }

    #[test]
    fn ps256_assertions_are_accepted() {
        let cert = TestCertificate::generate("pss");
        let (mut header, claims) = good(&cert, "pss");
        header["alg"] = json!("PS256");
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = ring::signature::RsaKeyPair::from_pkcs8(cert.key_der()).expect("valid key");
        let mut sig = vec![0u8; key.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        key.sign(&ring::signature::RSA_PSS_SHA256, &rng, input.as_bytes(), &mut sig)
            .expect("signs");
        let assertion = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));
        let certs = [RegisteredCert::from_der(cert.cert_der().to_vec())];
        let mut used = HashSet::new();
        assert_eq!(
            verify_assertion(&assertion, "c", URL, &certs, NOW, &mut used).map_err(|e| e.code),
            Ok(())
        );
        // The same PSS signature under an RS256 header does not verify.
        let relabelled = assertion.replacen(
            &URL_SAFE_NO_PAD.encode(header.to_string()),
            &URL_SAFE_NO_PAD
                .encode(json!({"alg": "RS256", "x5t#S256": cert.thumbprint_sha256()}).to_string()),
            1,
        );
        let err = verify_assertion(&relabelled, "c", URL, &certs, NOW, &mut used).map_err(|e| e.code);
        assert_eq!(err, Err(700027));
    }

    #[test]
    fn issued_tokens_decode() {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"k");
        let token = issue(&key, &json!({"tid": "t", "exp": 5}));
        let decoded = decode_jwt(&token).expect("decodes");
        assert_eq!(decoded.header["alg"], "HS256");
        assert_eq!(decoded.claims["tid"], "t");
        assert!(decode_jwt("a.b.c.d").is_none());
        assert!(decode_jwt("bm90anNvbg.e30.").is_none());
    }
}
