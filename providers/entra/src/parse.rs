//! Pure parsing of token-endpoint responses: successes, Entra error bodies and claims.

use std::fmt;
use std::time::{Duration, SystemTime};

use credchain_core::{AccessToken, Secret};
use serde_json::{Map, Value};

/// Lifetimes at or above this get a `refresh_on` at half the lifetime when the response has no
/// `refresh_in` (azure-identity's rule, reference §3.3).
pub const HALF_LIFE_REFRESH_THRESHOLD: Duration = Duration::from_secs(7200);

/// The longest error description kept in a message.
const MAX_DESCRIPTION: usize = 2000;

/// A token and what came with it from Microsoft Entra ID.
///
/// `Debug` never shows the access or refresh token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token, with `expires_on` and `refresh_on` set.
    pub token: AccessToken,
    /// A refresh token, when the grant returns one (refresh-token and password grants). Entra
    /// rotates refresh tokens: use this one from now on.
    pub refresh_token: Option<Secret>,
}

impl TokenResponse {
    /// A response holding `token` and, optionally, a refresh token.
    pub fn new(token: AccessToken, refresh_token: Option<Secret>) -> Self {
        TokenResponse { token, refresh_token }
    }
}

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

/// Why a success response could not be used. The message never contains token values.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UnexpectedResponse(pub(crate) String);

/// Parses a successful token response, computing `expires_on` and `refresh_on` from
/// `request_time`.
pub(crate) fn parse_success(
    body: &[u8],
    request_time: SystemTime,
) -> Result<TokenResponse, UnexpectedResponse> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| UnexpectedResponse(format!("the body is not JSON ({} bytes)", body.len())))?;
    let Some(obj) = value.as_object() else {
        return Err(UnexpectedResponse("the body is not a JSON object".into()));
    };
    let fields = || field_list(obj);
    let access_token = match obj.get("access_token").and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() => t,
        _ => {
            return Err(UnexpectedResponse(format!(
                "it has no `access_token` (fields: {})",
                fields()
            )));
        }
    };
    let expires_in = seconds(obj.get("expires_in"));
    let expires_on_field = seconds(obj.get("expires_on"));
    // The numbers come from the network: a time that does not fit in `SystemTime` is an
    // unusable response, not a panic.
    let out_of_range = |field: &str| UnexpectedResponse(format!("its `{field}` is out of range"));
    let (expires_on, lifetime) = match (expires_on_field, expires_in) {
        (Some(on), _) => {
            let at = SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(on))
                .ok_or_else(|| out_of_range("expires_on"))?;
            let lifetime = expires_in
                .map(Duration::from_secs)
                .unwrap_or_else(|| at.duration_since(request_time).unwrap_or_default());
            (at, lifetime)
        }
        (None, Some(secs)) => (
            request_time
                .checked_add(Duration::from_secs(secs))
                .ok_or_else(|| out_of_range("expires_in"))?,
            Duration::from_secs(secs),
        ),
        (None, None) => {
            return Err(UnexpectedResponse(format!(
                "it has neither `expires_in` nor `expires_on` (fields: {})",
                fields()
            )));
        }
    };
    let refresh_in = seconds(obj.get("refresh_in"))
        .map(Duration::from_secs)
        .or_else(|| (lifetime >= HALF_LIFE_REFRESH_THRESHOLD).then(|| lifetime / 2));
    let token_type = obj
        .get("token_type")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("Bearer");
    let mut token = AccessToken::new(access_token, expires_on);
    if token_type != "Bearer" {
        token = token.with_token_type(token_type);
    }
    if let Some(refresh_on) = refresh_in.and_then(|r| request_time.checked_add(r))
        && refresh_on < expires_on
    {
        token = token.with_refresh_on(refresh_on);
    }
    let refresh_token = obj
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .map(Secret::new);
    Ok(TokenResponse { token, refresh_token })
}

/// A number of seconds given as a JSON number or a numeric string (older endpoints and ADFS).
fn seconds(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The field names of a response, never their values.
fn field_list(obj: &Map<String, Value>) -> String {
    let mut names: Vec<String> = obj
        .keys()
        .take(20)
        .map(|k| k.chars().filter(|c| !c.is_control()).take(40).collect())
        .collect();
    names.sort();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
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

    const T0: u64 = 1_767_225_600;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn lifetimes_and_refresh_on() {
        // (body, expires_on, refresh_on)
        let table: [(&str, u64, Option<u64>); 7] = [
            (
                r#"{"access_token":"AT","expires_in":3600,"token_type":"Bearer"}"#,
                T0 + 3600,
                None,
            ),
            (
                r#"{"access_token":"AT","expires_in":7200}"#,
                T0 + 7200,
                Some(T0 + 3600),
            ),
            (r#"{"access_token":"AT","expires_in":7199}"#, T0 + 7199, None),
            (
                r#"{"access_token":"AT","expires_in":86400,"refresh_in":600}"#,
                T0 + 86400,
                Some(T0 + 600),
            ),
            (
                r#"{"access_token":"AT","expires_in":"3600","refresh_in":"60"}"#,
                T0 + 3600,
                Some(T0 + 60),
            ),
            (
                &*format!(r#"{{"access_token":"AT","expires_on":{}}}"#, T0 + 10_000),
                T0 + 10_000,
                Some(T0 + 5000),
            ),
            (
                &*format!(
                    r#"{{"access_token":"AT","expires_on":"{}","expires_in":100}}"#,
                    T0 + 100
                ),
                T0 + 100,
                None,
            ),
        ];
        for (body, exp, refresh) in table {
            let r = parse_success(body.as_bytes(), at(T0)).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            assert_eq!(r.token.expires_on(), at(exp), "{body}");
            assert_eq!(r.token.refresh_on(), refresh.map(at), "{body}");
            assert_eq!(r.token.secret(), "AT");
            assert_eq!(r.token.token_type(), "Bearer");
            assert!(r.refresh_token.is_none());
        }
    }

    #[test]
    fn refresh_token_and_token_type() {
        let body = br#"{"access_token":"AT","expires_in":60,"token_type":"pop","refresh_token":"RT2"}"#;
        let r = parse_success(body, at(T0)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.token.token_type(), "pop");
        assert_eq!(r.refresh_token.as_ref().map(Secret::expose), Some("RT2"));
    }

    #[test]
    fn unexpected_responses_never_echo_tokens() {
        let cases: [&[u8]; 6] = [
            br#"{"access_token":"AT-SECRET","token_type":"Bearer","refresh_token":"RT-SECRET"}"#,
            br#"{"token_type":"Bearer","refresh_token":"RT-SECRET","expires_in":5}"#,
            br#"{"access_token":"","expires_in":5}"#,
            b"AT-SECRET not json",
            b"[\"AT-SECRET\"]",
            b"",
        ];
        for body in cases {
            let err = parse_success(body, at(T0)).expect_err("must fail");
            assert!(!err.0.contains("SECRET"), "{}", err.0);
        }
        let err = parse_success(cases[0], at(T0)).expect_err("must fail");
        assert_eq!(
            err.0,
            "it has neither `expires_in` nor `expires_on` (fields: access_token, refresh_token, token_type)"
        );
    }

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
    fn out_of_range_times_are_errors_not_panics() {
        let max = u64::MAX;
        for (body, field) in [
            (
                format!(r#"{{"access_token":"AT","expires_in":{max}}}"#),
                "expires_in",
            ),
            (
                format!(r#"{{"access_token":"AT","expires_on":"{max}"}}"#),
                "expires_on",
            ),
            (
                r#"{"access_token":"AT","expires_in":1e300}"#.to_owned(),
                "expires_in",
            ),
        ] {
            let err = parse_success(body.as_bytes(), at(T0)).expect_err(&body);
            assert_eq!(err.0, format!("its `{field}` is out of range"), "{body}");
        }
        // A huge `refresh_in` is ignored, as one past `expires_on` is.
        let body = format!(r#"{{"access_token":"AT","expires_in":60,"refresh_in":{max}}}"#);
        let r = parse_success(body.as_bytes(), at(T0)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.token.expires_on(), at(T0 + 60));
        assert_eq!(r.token.refresh_on(), None);
    }

    #[test]
    fn long_descriptions_are_capped() {
        let long = "x".repeat(10_000);
        let body = format!(r#"{{"error":"e","error_description":"{long}"}}"#);
        let e = parse_error(400, body.as_bytes()).unwrap_or_else(|| panic!("not parsed"));
        assert!(e.description().map_or(0, str::len) <= MAX_DESCRIPTION + 4);
    }
}
