//! From an endpoint's answer to credchain's error kinds (the crate docs hold the table).

use credchain_core::{Error, ErrorKind};

use crate::credential::NAME;

use crate::source::SourceKind;

/// Service Fabric's endpoint certificate is pinned by credchain's own HTTP client only.
pub(crate) const SERVICE_FABRIC_NEEDS_OWN_CLIENT: &str = "Service Fabric managed identity needs its endpoint's \
     certificate pinned to `IDENTITY_SERVER_THUMBPRINT`, which only credchain's own HTTP client does; remove the \
     custom HTTP client (ProviderContext::with_http) for this credential";

/// The longest endpoint error text quoted in a message.
const MAX_QUOTED: usize = 400;

/// The error for a non-2xx answer that was not (or no longer) retried. `secrets` (the header
/// secret, the Arc key) are replaced by `***` should the endpoint echo them.
pub(crate) fn from_status(
    name: &str,
    kind: SourceKind,
    status: u16,
    body: &[u8],
    user_assigned: bool,
    secrets: &[&str],
) -> Error {
    let text = endpoint_text(body, secrets);
    if kind == SourceKind::Imds && status == 400 {
        let what = if user_assigned {
            "the requested user-assigned identity is not assigned to this resource"
        } else {
            "no identity has been assigned to this resource"
        };
        return Error::unavailable(
            name,
            format!(
                "IMDS answered 400: {what} ({text}); assign a managed identity to the VM or scale set, or check the configured id"
            ),
        );
    }
    if kind == SourceKind::Imds && status == 403 && text.to_ascii_lowercase().contains("unreachable") {
        return Error::unavailable(
            name,
            format!("IMDS is not reachable from this network (403: {text}); this is not an Azure VM"),
        );
    }
    let hint = match status {
        401 | 403 => "; check that the identity is enabled for this resource",
        404 | 410 | 429 | 500..=599 => "; the endpoint kept failing after retries, try again later",
        _ => "",
    };
    Error::authentication_failed(
        name,
        format!("the {kind} managed identity endpoint answered {status}: {text}{hint}"),
    )
}

/// An error of `error`'s kind with another message.
pub(crate) fn with_message(error: &Error, message: String) -> Error {
    match error.kind() {
        ErrorKind::Unavailable => Error::unavailable(NAME, message),
        ErrorKind::InvalidInput => Error::invalid_input(NAME, message),
        ErrorKind::Timeout => Error::timeout(NAME, message),
        ErrorKind::Transient => Error::transient(NAME, message),
        _ => Error::authentication_failed(NAME, message),
    }
}

/// The endpoint's own words: `error_description`, `message` or `error` of a JSON body, else the
/// body as text; `secrets` (as sent and URL-encoded) replaced by `***`, control characters
/// replaced and at most 400 characters.
pub(crate) fn endpoint_text(body: &[u8], secrets: &[&str]) -> String {
    // An error status with a token in the body (a misbehaving endpoint or proxy): never quote it.
    let raw = String::from_utf8_lossy(body);
    if raw.contains("access_token") || raw.contains("eyJ") {
        return "(the body holds a token or JWT; not shown)".to_owned();
    }
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| {
            let field = |v: &serde_json::Value| -> Option<String> {
                ["error_description", "message", "Message", "error"]
                    .iter()
                    .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_owned))
            };
            field(&json).or_else(|| json.get("error").and_then(field))
        });
    let mut text = from_json.unwrap_or_else(|| raw.into_owned());
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        text = text.replace(secret, "***").replace(&encoded, "***");
    }
    let mut shown: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_QUOTED)
        .collect();
    if text.trim().chars().count() > MAX_QUOTED {
        shown.push('…');
    }
    if shown.is_empty() {
        shown.push_str("(no body)");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imds_400_is_unavailable() {
        let body = br#"{"error":"invalid_request","error_description":"Identity not found"}"#;
        let err = from_status("MI", SourceKind::Imds, 400, body, false, &[]);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("no identity has been assigned"), "{err}");
        assert!(err.message().contains("Identity not found"), "{err}");
    }

    #[test]
    fn docker_desktop_403_is_unavailable() {
        let body = b"connecting to 169.254.169.254:80: connecting to 169.254.169.254:80: dial tcp 169.254.169.254:80: connectex: A socket operation was attempted to an unreachable network.";
        assert_eq!(
            from_status("MI", SourceKind::Imds, 403, body, false, &[]).kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(
            from_status("MI", SourceKind::Imds, 403, b"forbidden", false, &[]).kind(),
            ErrorKind::AuthenticationFailed
        );
    }

    #[test]
    fn everything_else_fails_with_the_endpoint_text() {
        let err = from_status(
            "MI",
            SourceKind::AppService,
            500,
            br#"{"message":"boom"}"#,
            false,
            &[],
        );
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
        assert!(
            err.message()
                .contains("App Service managed identity endpoint answered 500: boom"),
            "{err}"
        );
        let err = from_status("MI", SourceKind::AppService, 400, b"", false, &[]);
        assert!(err.message().contains("(no body)"), "{err}");
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    }

    #[test]
    fn a_token_in_an_error_body_is_never_quoted() {
        let body = br#"{"access_token":"tok","expires_in":1}"#;
        assert_eq!(
            endpoint_text(body, &[]),
            "(the body holds a token or JWT; not shown)"
        );
        assert!(!endpoint_text(b"bad: eyJhbGciOi.x.y", &[]).contains("eyJ"));
    }

    #[test]
    fn echoed_secrets_are_replaced() {
        let body = br#"{"message":"bad header a+b/c= (a%2Bb%2Fc%3D)"}"#;
        assert_eq!(endpoint_text(body, &["a+b/c="]), "bad header *** (***)");
    }

    #[test]
    fn text_is_bounded_and_single_line() {
        let long = "x\n".repeat(1000);
        let shown = endpoint_text(long.as_bytes(), &[]);
        assert!(!shown.contains('\n'));
        assert!(shown.chars().count() <= MAX_QUOTED + 1);
        assert_eq!(endpoint_text(br#"{"error":{"message":"nested"}}"#, &[]), "nested");
    }
}

/// Property tests: whatever an endpoint answers, the quoted text is short, printable, never
/// empty and holds neither the request's secrets nor a token. 10,000 cases; CI fixes the seed
/// with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::json;

    #[test]
    fn endpoint_text_is_bounded_printable_and_secret_free() {
        let secret = "[A-Za-z0-9+/=&%._-]{8,24}";
        let body = (secret, ".{0,30}", ".{0,30}", 0u8..5, any::<bool>()).prop_map(
            |(secret, before, after, shape, encoded)| {
                let echo = if encoded {
                    form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
                } else {
                    secret.clone()
                };
                let text = format!("{before}{echo}{after}");
                let body = match shape {
                    0 => text,
                    1 => json!({"error_description": text}).to_string(),
                    2 => json!({"error": {"message": text}}).to_string(),
                    3 => format!("{text}{}", " x".repeat(300)),
                    _ => json!({"error": "e", "access_token": text}).to_string(),
                };
                (body.into_bytes(), secret)
            },
        );
        TestRunner::new(Config {
            cases: 10_000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&body, |(body, secret)| {
            let shown = endpoint_text(&body, &[&secret]);
            prop_assert!(!shown.is_empty() && shown.chars().count() <= MAX_QUOTED + 1);
            prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
            prop_assert!(
                !shown.contains(&secret),
                "{:?} -> {}",
                String::from_utf8_lossy(&body),
                shown
            );
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
}
