//! Workload identity federation: federated identity credentials registered for an app, and the
//! check of an external token (an AKS service account token, a GitHub Actions OIDC token)
//! presented as `client_assertion`.
//!
//! Like Entra, the presented token is matched on its issuer and subject against the app's
//! federated credentials, its audience must be `api://AzureADTokenExchange`, and it must be
//! within its `nbf`/`exp` range. **Its signature is not verified** (Entra fetches the issuer's
//! OIDC keys; a fake has no issuer to ask), so tests mint tokens with [`federated_token`].

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::entra_error::EntraError;
use crate::jwt;

/// The audience every Azure federated identity credential expects by default.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// An (issuer, subject) pair registered for an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FederatedCredential {
    pub(crate) issuer: String,
    pub(crate) subject: String,
}

/// Mints a JWT-shaped federated token such as Kubernetes projects into a pod: `iss`, `sub`,
/// `aud` = [`TOKEN_EXCHANGE_AUDIENCE`], `iat` = `nbf` = one hour before `expires`, `exp`, a
/// `jti`, and a placeholder signature (the fake does not verify it).
///
/// ```
/// use credchain_fake_entra::{decode_jwt, federated_token};
/// use std::time::{Duration, UNIX_EPOCH};
/// let token = federated_token("https://oidc.example", "system:serviceaccount:ns:app", UNIX_EPOCH + Duration::from_secs(1_800_000_000));
/// let claims = decode_jwt(&token).unwrap().claims;
/// assert_eq!(claims["sub"], "system:serviceaccount:ns:app");
/// assert_eq!(claims["exp"], 1_800_000_000);
/// ```
pub fn federated_token(issuer: &str, subject: &str, expires: SystemTime) -> String {
    let exp = expires.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let iat = exp.saturating_sub(3600);
    let header = json!({"alg": "RS256", "kid": "fake-issuer-key", "typ": "JWT"});
    let claims = json!({
        "aud": [TOKEN_EXCHANGE_AUDIENCE],
        "iss": issuer,
        "sub": subject,
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"not-verified-by-the-fake")
    )
}

/// `true` when `assertion` is a JWT whose issuer is not the app itself: a federated token
/// rather than a certificate-signed assertion (whose `iss` and `sub` are the client ID).
pub(crate) fn is_federated(assertion: &str, client_id: &str) -> bool {
    jwt::decode_jwt(assertion)
        .and_then(|jwt| jwt.claims.get("iss").and_then(Value::as_str).map(str::to_owned))
        .is_some_and(|iss| iss != client_id)
}

/// Checks a federated token against the app's federated credentials, as Entra does.
pub(crate) fn verify(assertion: &str, records: &[FederatedCredential], now: u64) -> Result<(), EntraError> {
    let Some(token) = jwt::decode_jwt(assertion) else {
        return Err(jwt::malformed("The assertion is not a JWT."));
    };
    let claims = &token.claims;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (issuer, subject) = (text("iss"), text("sub"));
    // `aud` may be a string or an array of strings.
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let shown_audience = audiences.join(", ");
    if !records.iter().any(|r| r.issuer == issuer && r.subject == subject) {
        return Err(EntraError::new(
            400,
            "invalid_request",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: \
                 '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{shown_audience}'. \
                 https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
            ),
        ));
    }
    if !audiences.contains(&TOKEN_EXCHANGE_AUDIENCE) {
        return Err(EntraError::new(
            400,
            "invalid_request",
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience \
                 '{shown_audience}'. Please note that the matching is done using a case-sensitive \
                 comparison. Check your federated identity credential Subject, Audience and Issuer \
                 against the presented assertion. \
                 https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        ));
    }
    let exp = claims.get("exp").and_then(Value::as_u64);
    let nbf = claims.get("nbf").and_then(Value::as_u64);
    if exp.is_some_and(|exp| exp > now) && nbf.is_none_or(|nbf| nbf <= now) {
        return Ok(());
    }
    let shown = |v: Option<u64>| v.map_or_else(|| "(missing)".to_owned(), iso);
    Err(EntraError::new(
        401,
        "invalid_client",
        700024,
        format!(
            "Client assertion is not within its valid time range. Current time: {}, assertion valid from \
             {}, expiry time of assertion {}. Review the documentation at \
             https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
            iso(now),
            shown(nbf),
            shown(exp)
        ),
    ))
}

/// `2026-11-26T06:51:52.0000000Z`, the form Entra prints assertion times in.
fn iso(secs: u64) -> String {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z");
    at.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NOW: u64 = 1_800_000_000;
    const ISSUER: &str = "https://oidc.prod-aks.azure.com/tenant/issuer/";
    const SUBJECT: &str = "system:serviceaccount:default:workload";

    fn records() -> Vec<FederatedCredential> {
        vec![FederatedCredential {
            issuer: ISSUER.into(),
            subject: SUBJECT.into(),
        }]
    }

    fn token(issuer: &str, subject: &str, exp: u64) -> String {
        federated_token(issuer, subject, UNIX_EPOCH + Duration::from_secs(exp))
    }

    fn with_claims(edit: impl FnOnce(&mut Value)) -> String {
        let mut claims =
            json!({"iss": ISSUER, "sub": SUBJECT, "aud": TOKEN_EXCHANGE_AUDIENCE, "exp": NOW + 60});
        edit(&mut claims);
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn code(result: Result<(), EntraError>) -> Option<(u16, &'static str, u32)> {
        result.err().map(|e| (e.status, e.error, e.code))
    }

    #[test]
    fn a_matching_unexpired_token_is_accepted_and_may_be_reused() {
        let t = token(ISSUER, SUBJECT, NOW + 600);
        assert_eq!(code(verify(&t, &records(), NOW)), None);
        assert_eq!(code(verify(&t, &records(), NOW)), None, "no jti replay rule");
        assert_eq!(
            code(verify(&with_claims(|_| {}), &records(), NOW)),
            None,
            "string aud"
        );
    }

    #[test]
    fn rules_and_their_codes() {
        let expired = verify(&token(ISSUER, SUBJECT, NOW), &records(), NOW).expect_err("expired");
        assert_eq!(
            (expired.status, expired.error, expired.code),
            (401, "invalid_client", 700024)
        );
        assert!(
            expired.message.starts_with(
                "Client assertion is not within its valid time range. Current time: 2027-01-15T08:00:00.0000000Z, \
                 assertion valid from 2027-01-15T07:00:00.0000000Z, expiry time of assertion 2027-01-15T08:00:00.0000000Z."
            ),
            "{}",
            expired.message
        );
        let not_yet = with_claims(|c| c["nbf"] = json!(NOW + 1));
        assert_eq!(
            code(verify(&not_yet, &records(), NOW)),
            Some((401, "invalid_client", 700024))
        );
        let no_exp = with_claims(|c| c.as_object_mut().map(|o| o.remove("exp")).map(drop).unwrap_or(()));
        assert_eq!(
            code(verify(&no_exp, &records(), NOW)),
            Some((401, "invalid_client", 700024))
        );

        let unknown = verify(
            &token(ISSUER, "system:serviceaccount:other:sa", NOW + 60),
            &records(),
            NOW,
        )
        .expect_err("unknown subject");
        assert_eq!(
            (unknown.status, unknown.error, unknown.code),
            (400, "invalid_request", 70021)
        );
        assert!(
            unknown.message.starts_with(
                "No matching federated identity record found for presented assertion. Assertion Issuer: \
                 'https://oidc.prod-aks.azure.com/tenant/issuer/'. Assertion Subject: \
                 'system:serviceaccount:other:sa'. Assertion Audience: 'api://AzureADTokenExchange'."
            ),
            "{}",
            unknown.message
        );
        let other_issuer = token("https://token.actions.githubusercontent.com", SUBJECT, NOW + 60);
        assert_eq!(
            code(verify(&other_issuer, &records(), NOW)),
            Some((400, "invalid_request", 70021))
        );
        // Matching is case-sensitive, as in Entra.
        let upper = token(&ISSUER.to_uppercase(), SUBJECT, NOW + 60);
        assert_eq!(
            code(verify(&upper, &records(), NOW)),
            Some((400, "invalid_request", 70021))
        );
        assert_eq!(
            code(verify(&token(ISSUER, SUBJECT, NOW + 60), &[], NOW)),
            Some((400, "invalid_request", 70021))
        );

        let audience = with_claims(|c| c["aud"] = json!("api://other"));
        assert_eq!(
            code(verify(&audience, &records(), NOW)),
            Some((400, "invalid_request", 700212))
        );

        assert_eq!(
            code(verify("not-a-jwt", &records(), NOW)),
            Some((401, "invalid_client", 50027))
        );
    }

    #[test]
    fn federated_tokens_are_told_from_certificate_assertions_by_their_issuer() {
        assert!(is_federated(&token(ISSUER, SUBJECT, NOW), "app"));
        assert!(!is_federated(&token("app", "app", NOW), "app"));
        assert!(!is_federated("not-a-jwt", "app"));
    }
}
