//! The token request's form body, built in one exactly sized buffer that is wiped on drop.
//!
//! The form holds the grant's secret (client secret, password, refresh token or client
//! assertion). Its encoded length is computed first and the buffer allocated once at that size,
//! so appending never reallocates and never leaves a partial, unwiped copy behind.

use credchain_core::Secret;
use zeroize::Zeroizing;

use crate::Grant;

/// The `client_assertion_type` for JWT client assertions (RFC 7523).
pub(crate) const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form for one attempt. `assertion` is the signed or supplied client assertion for
/// [`Grant::ClientCertificate`] and [`Grant::ClientAssertion`] (ignored for other grants).
pub(crate) fn token_form(
    grant: &Grant<'_>,
    assertion: Option<&Secret>,
    scope: &str,
    claims: Option<&str>,
) -> Zeroizing<Vec<u8>> {
    let assertion = assertion.map_or("", Secret::expose);
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(8);
    match grant {
        Grant::ClientSecret { client_id, secret } => pairs.extend([
            ("grant_type", "client_credentials"),
            ("client_id", client_id.trim()),
            ("client_secret", secret.expose()),
        ]),
        Grant::ClientCertificate { client_id, .. } | Grant::ClientAssertion { client_id, .. } => {
            pairs.extend([
                ("grant_type", "client_credentials"),
                ("client_id", client_id.trim()),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", assertion),
            ]);
        }
        Grant::RefreshToken {
            client_id,
            refresh_token,
        } => pairs.extend([
            ("grant_type", "refresh_token"),
            ("client_id", client_id.trim()),
            ("refresh_token", refresh_token.expose()),
        ]),
        Grant::Password {
            client_id,
            username,
            password,
        } => pairs.extend([
            ("grant_type", "password"),
            ("client_id", client_id.trim()),
            ("username", username),
            ("password", password.expose()),
        ]),
    }
    pairs.extend([("scope", scope), ("client_info", "1")]);
    if let Some(claims) = claims {
        pairs.push(("claims", claims));
    }
    encode(&pairs)
}

/// `application/x-www-form-urlencoded` serialization of `pairs` (the WHATWG rules `url`'s
/// serializer follows), into a buffer allocated once at the exact encoded length.
pub(crate) fn encode(pairs: &[(&str, &str)]) -> Zeroizing<Vec<u8>> {
    let len = pairs
        .iter()
        .map(|(k, v)| encoded_len(k) + 1 + encoded_len(v))
        .sum::<usize>()
        + pairs.len().saturating_sub(1);
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        encode_into(&mut out, k);
        out.push(b'=');
        encode_into(&mut out, v);
    }
    out
}

/// `value` form-encoded, for the scrubber's list of encodings.
pub(crate) fn encode_value(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(Vec::with_capacity(encoded_len(value)));
    encode_into(&mut out, value);
    // Form encoding produces ASCII only, so this moves the buffer without a copy.
    match String::from_utf8(std::mem::take(&mut *out)) {
        Ok(text) => Zeroizing::new(text),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Zeroizing::new(String::new())
        }
    }
}

/// Bytes the form encoding leaves as they are.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_')
}

fn encoded_len(s: &str) -> usize {
    s.bytes()
        .map(|b| if is_plain(b) || b == b' ' { 1 } else { 3 })
        .sum()
}

fn encode_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if is_plain(b) {
            out.push(b);
        } else if b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_the_url_crate_and_is_sized_exactly() {
        let values = [
            "",
            "plain-Value_1.2*",
            "Sup3r+Secret/Value=",
            "a b&c=d%e",
            "ünïcødé ✓ 🙂",
            "~!'()\"\\\n\t",
        ];
        for v in values {
            let body = encode(&[("k", v), ("other key", v)]);
            let expected = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("k", v)
                .append_pair("other key", v)
                .finish();
            assert_eq!(&body[..], expected.as_bytes(), "{v}");
            // One allocation of exactly the right size: nothing was reallocated (and so no
            // unwiped partial copy exists).
            assert_eq!(body.capacity(), body.len(), "{v}");
            let value: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            assert_eq!(encode_value(v).as_str(), value, "{v}");
        }
    }

    #[test]
    fn the_form_has_the_grant_fields() {
        let s = Secret::new("p&ss=word");
        let body = token_form(
            &Grant::Password {
                client_id: " cid ",
                username: "u@x.com",
                password: &s,
            },
            None,
            "a/.default offline_access",
            Some("{\"a\":1}"),
        );
        assert_eq!(body.capacity(), body.len());
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("grant_type"), Some("password"));
        assert_eq!(get("client_id"), Some("cid"));
        assert_eq!(get("password"), Some("p&ss=word"));
        assert_eq!(get("username"), Some("u@x.com"));
        assert_eq!(get("scope"), Some("a/.default offline_access"));
        assert_eq!(get("client_info"), Some("1"));
        assert_eq!(get("claims"), Some("{\"a\":1}"));
    }
}
