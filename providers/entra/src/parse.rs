//! Pure parsing of Entra error bodies, and the claims parameter.

use std::fmt;

use serde_json::{Map, Value};

/// The longest error description kept in a message.
const MAX_DESCRIPTION: usize = 2000;

/// An error response from Microsoft Entra ID, attached as the [`source`](std::error::Error::source)
/// of the [`Error`](credchain_core::Error) that `request_token` returns, so callers can react
/// to specific codes:
///
/// ```
/// # fn check(err: &credchain_core::Error) -> bool {
/// use credchain_entra::EntraErrorResponse;
/// let entra = std::error::Error::source(err).and_then(|s| s.downcast_ref::<EntraErrorResponse>());
/// entra.is_some_and(|e| e.error() == "invalid_grant")
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EntraErrorResponse {
    status: u16,
    error: String,
    description: Option<String>,
    error_codes: Vec<u64>,
    correlation_id: Option<String>,
    trace_id: Option<String>,
}

impl EntraErrorResponse {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The OAuth error, such as `invalid_client` or `invalid_grant`.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// The description, which starts with the `AADSTS` code, with line breaks folded to spaces.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The numeric `AADSTS` codes (`error_codes`).
    pub fn error_codes(&self) -> &[u64] {
        &self.error_codes
    }

    /// The first code as `AADSTS<n>`, from `error_codes` or else the description's prefix.
    pub fn aadsts_code(&self) -> Option<String> {
        if let Some(code) = self.error_codes.first() {
            return Some(format!("AADSTS{code}"));
        }
        let d = self.description.as_deref()?;
        let digits: String = d
            .strip_prefix("AADSTS")?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
    }

    /// The correlation ID to quote to Microsoft support.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    /// The trace ID.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// A one-line summary: the description (or the error) and the correlation ID when the
    /// description does not already hold it.
    pub(crate) fn summary(&self) -> String {
        let mut s = match &self.description {
            Some(d) => d.clone(),
            None => format!("`{}`", self.error),
        };
        if let Some(id) = &self.correlation_id
            && !s.contains(id.as_str())
        {
            s.push_str(&format!(" (correlation ID: {id})"));
        }
        s
    }

    /// The same response with `clean` applied to every text field, so a secret the server
    /// echoed cannot reach callers through the error's source.
    pub(crate) fn scrubbed(self, clean: impl Fn(&str) -> String) -> Self {
        EntraErrorResponse {
            error: clean(&self.error),
            description: self.description.as_deref().map(&clean),
            correlation_id: self.correlation_id.as_deref().map(&clean),
            trace_id: self.trace_id.as_deref().map(&clean),
            ..self
        }
    }

    /// What to check for well-known codes.
    pub(crate) fn hint(&self) -> Option<&'static str> {
        let code = self.aadsts_code()?;
        Some(match code.as_str() {
            "AADSTS7000215" => {
                "check that the client secret is the secret's value (not its ID) and has not expired"
            }
            "AADSTS7000222" => "the client secret has expired; create a new one",
            "AADSTS700016" => "check the client (application) ID and that the app exists in this tenant",
            "AADSTS90002" => "check the tenant ID and that the authority host is the right cloud",
            "AADSTS50126" => "check the username and password",
            "AADSTS700027" | "AADSTS700024" | "AADSTS700023" => {
                "check that this certificate is registered for the application and the clock is correct"
            }
            "AADSTS70000" | "AADSTS70008" | "AADSTS700082" | "AADSTS50173" => {
                "the refresh token is no longer valid; sign in again"
            }
            "AADSTS50076" | "AADSTS50079" => {
                "multi-factor authentication is required, which this grant cannot do; use another sign-in method"
            }
            _ => return None,
        })
    }
}

impl fmt::Debug for EntraErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraErrorResponse")
            .field("status", &self.status)
            .field("error", &self.error)
            .field("error_codes", &self.error_codes)
            .field("correlation_id", &self.correlation_id)
            .field("trace_id", &self.trace_id)
            .finish()
    }
}

impl fmt::Display for EntraErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} `{}`: {}", self.status, self.error, self.summary())
    }
}

impl std::error::Error for EntraErrorResponse {}

/// Parses an Entra error body (`{"error": …, "error_description": …}`); `None` when the body is
/// not one.
pub(crate) fn parse_error(status: u16, body: &[u8]) -> Option<EntraErrorResponse> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    let error = obj.get("error")?.as_str()?.trim();
    if error.is_empty() {
        return None;
    }
    let description = obj
        .get("error_description")
        .and_then(Value::as_str)
        .map(fold_whitespace)
        .filter(|d| !d.is_empty());
    let error_codes = obj
        .get("error_codes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(|s| fold_whitespace(s).chars().take(100).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    Some(EntraErrorResponse {
        status,
        error: fold_whitespace(error).chars().take(100).collect(),
        description,
        error_codes,
        correlation_id: text("correlation_id"),
        trace_id: text("trace_id"),
    })
}

/// Folds runs of whitespace (Entra uses `\r\n` inside descriptions) into single spaces, drops
/// control characters and caps the length.
fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_DESCRIPTION));
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| !c.is_control()));
        if out.len() > MAX_DESCRIPTION {
            let cut = out
                .char_indices()
                .nth(MAX_DESCRIPTION)
                .map_or(out.len(), |(i, _)| i);
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

/// The `claims` form value: the caller's claims challenge, with `xms_cc: ["CP1"]` merged into
/// `access_token` when CAE is on (reference §3.4). `Ok(None)` when there is nothing to send.
///
/// # Errors
///
/// A message when the caller's claims are not a JSON object.
pub(crate) fn claims_parameter(claims: Option<&str>, enable_cae: bool) -> Result<Option<String>, String> {
    let claims = claims.map(str::trim).filter(|c| !c.is_empty());
    if !enable_cae {
        return match claims {
            None => Ok(None),
            Some(c) => match serde_json::from_str::<Value>(c) {
                Ok(Value::Object(_)) => Ok(Some(c.to_owned())),
                _ => Err(
                    "the claims challenge is not a JSON object; pass the decoded `claims` value \
                          from the `WWW-Authenticate` header"
                        .into(),
                ),
            },
        };
    }
    let mut root = match claims {
        None => Map::new(),
        Some(c) => match serde_json::from_str::<Value>(c) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(
                    "the claims challenge is not a JSON object; pass the decoded `claims` value \
                            from the `WWW-Authenticate` header"
                        .into(),
                );
            }
        },
    };
    let access = root
        .entry("access_token")
        .or_insert_with(|| Value::Object(Map::new()));
    if !access.is_object() {
        *access = Value::Object(Map::new());
    }
    if let Value::Object(access) = access {
        access.insert("xms_cc".into(), serde_json::json!({ "values": ["CP1"] }));
    }
    Ok(Some(Value::Object(root).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_error_shapes() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[7000215],"timestamp":"2026-01-01 00:00:00Z","trace_id":"t-1","correlation_id":"c-1"}"#;
        let e = parse_error(401, body).unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(e.error(), "invalid_client");
        assert_eq!(e.aadsts_code().as_deref(), Some("AADSTS7000215"));
        assert_eq!(e.correlation_id(), Some("c-1"));
        assert_eq!(e.trace_id(), Some("t-1"));
        assert_eq!(
            e.summary(),
            "AADSTS7000215: Invalid client secret provided. Trace ID: t-1 Correlation ID: c-1 Timestamp: 2026-01-01 00:00:00Z"
        );
        assert!(e.hint().is_some());

        let e = parse_error(400, br#"{"error":"invalid_grant","error_description":"AADSTS70000: bad grant","correlation_id":"c-2"}"#)
            .unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(e.aadsts_code().as_deref(), Some("AADSTS70000"));
        assert_eq!(e.summary(), "AADSTS70000: bad grant (correlation ID: c-2)");

        let e = parse_error(400, br#"{"error":"weird"}"#).unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(e.aadsts_code(), None);
        assert_eq!(e.summary(), "`weird`");

        for body in [
            &b"<html>"[..],
            b"{}",
            br#"{"error":""}"#,
            br#"{"error":5}"#,
            b"null",
        ] {
            assert!(parse_error(500, body).is_none());
        }
    }

    #[test]
    fn claims_merge() {
        assert_eq!(claims_parameter(None, false), Ok(None));
        assert_eq!(claims_parameter(Some("  "), false), Ok(None));
        assert_eq!(
            claims_parameter(None, true).ok().flatten().as_deref(),
            Some(r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#)
        );
        let merged = claims_parameter(
            Some(r#"{"access_token":{"acrs":{"essential":true,"values":["p1"]}}}"#),
            true,
        )
        .ok()
        .flatten()
        .unwrap_or_default();
        let v: Value = serde_json::from_str(&merged).unwrap_or_default();
        assert_eq!(v["access_token"]["acrs"]["values"][0], "p1");
        assert_eq!(v["access_token"]["xms_cc"]["values"][0], "CP1");
        let raw = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
        assert_eq!(claims_parameter(Some(raw), false), Ok(Some(raw.to_owned())));
        assert!(claims_parameter(Some("not json"), true).is_err());
        assert!(claims_parameter(Some("[1]"), false).is_err());
    }

    #[test]
    fn long_descriptions_are_capped() {
        let long = "x".repeat(10_000);
        let body = format!(r#"{{"error":"e","error_description":"{long}"}}"#);
        let e = parse_error(400, body.as_bytes()).unwrap_or_else(|| panic!("not parsed"));
        assert!(e.description().map_or(0, str::len) <= MAX_DESCRIPTION + 4);
    }
}
