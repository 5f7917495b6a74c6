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
    // Folded first: an `error` of only control characters is no error code.
    let error: String = fold_whitespace(obj.get("error")?.as_str()?)
        .chars()
        .take(100)
        .collect();
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
        error,
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

/// Property tests: no body panics the error parser, every field it keeps is bounded and
/// printable, well-formed error bodies keep their values, and the claims parameter either
/// refuses a non-object or keeps the caller's claims and adds CAE's. 10,000 cases each; CI fixes
/// the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
pub(crate) mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::json;

    /// Runs `test` on 10,000 inputs drawn from `strategy` (this crate's parser properties).
    pub(crate) fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
        TestRunner::new(Config {
            cases: 10_000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Any JSON value a server could put in a field, weighted towards text.
    pub(crate) fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            1 => any::<u64>().prop_map(Value::from),
            1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            1 => any::<u64>().prop_map(|n| Value::from(n.to_string())),
            3 => ".{0,40}".prop_map(Value::from),
            1 => "AADSTS[0-9]{0,9}[:\r\n\t ]{0,3}.{0,20}".prop_map(Value::from),
            1 => (1usize..600).prop_map(|n| Value::from("word\r\n ".repeat(n))),
            1 => proptest::collection::vec(prop_oneof![any::<u64>().prop_map(Value::from), Just(json!("7"))], 0..4)
                .prop_map(Value::from),
            1 => Just(json!({"a": [1]})),
        ]
    }

    /// An error-shaped body: each Entra field absent or any value.
    fn error_body() -> impl Strategy<Value = Vec<u8>> {
        let field = || proptest::option::of(any_value());
        (field(), field(), field(), field(), field()).prop_map(
            |(error, description, codes, correlation, trace)| {
                let mut map = Map::new();
                for (key, value) in [
                    ("error", error),
                    ("error_description", description),
                    ("error_codes", codes),
                    ("correlation_id", correlation),
                    ("trace_id", trace),
                ] {
                    if let Some(v) = value {
                        map.insert(key.into(), v);
                    }
                }
                serde_json::to_vec(&map).unwrap_or_default()
            },
        )
    }

    fn check_error(status: u16, body: &[u8]) -> Result<Option<EntraErrorResponse>, TestCaseError> {
        let Some(e) = parse_error(status, body) else {
            return Ok(None);
        };
        let printable = |s: &str| !s.chars().any(char::is_control);
        prop_assert!(!e.error().is_empty() && e.error().chars().count() <= 100);
        prop_assert!(printable(e.error()));
        if let Some(d) = e.description() {
            prop_assert!(!d.is_empty() && d.chars().count() <= MAX_DESCRIPTION + 1);
            prop_assert!(printable(d));
        }
        for id in [e.correlation_id(), e.trace_id()].into_iter().flatten() {
            prop_assert!(!id.is_empty() && id.chars().count() <= 100 && printable(id));
        }
        let shown = e.to_string();
        prop_assert!(shown.chars().count() <= MAX_DESCRIPTION + 300, "{}", shown.len());
        prop_assert!(printable(&shown));
        if let Some(code) = e.aadsts_code() {
            prop_assert!(code.starts_with("AADSTS") && code.len() > 6);
        }
        let _ = e.hint();
        Ok(Some(e))
    }

    #[test]
    fn arbitrary_bodies_never_panic() {
        run(
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..256)),
            |(status, body)| check_error(status, &body).map(drop),
        );
    }

    #[test]
    fn error_shaped_bodies_keep_every_field_bounded_and_printable() {
        run((any::<u16>(), error_body()), |(status, body)| {
            check_error(status, &body).map(drop)
        });
    }

    /// Found by `error_shaped_bodies_keep_every_field_bounded_and_printable`: an `error` of only
    /// control characters was kept as an empty error code (shown as ``` `` ```).
    #[test]
    fn an_error_code_of_control_characters_is_no_error() {
        for body in [
            r#"{"error":"\u0000"}"#,
            r#"{"error":" \u0007\u001b ","error_description":"d"}"#,
        ] {
            assert_eq!(parse_error(400, body.as_bytes()), None, "{body}");
        }
        let kept = parse_error(400, br#"{"error":"invalid\u0000_grant"}"#).map(|e| e.error().to_owned());
        assert_eq!(kept.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn well_formed_errors_keep_their_values() {
        run(
            (
                "[a-z_]{1,40}",
                proptest::collection::vec("[A-Za-z0-9.:'()-]{1,12}", 1..8),
                proptest::collection::vec(any::<u64>(), 0..4),
                "[0-9a-f-]{1,36}",
            ),
            |(error, words, codes, correlation)| {
                let body = json!({
                    "error": error,
                    "error_description": words.join("\r\n "),
                    "error_codes": codes,
                    "correlation_id": correlation,
                });
                let e = check_error(400, &serde_json::to_vec(&body).unwrap_or_default())?
                    .ok_or_else(|| TestCaseError::fail("a well-formed error was not parsed"))?;
                prop_assert_eq!(e.status(), 400);
                prop_assert_eq!(e.error(), error.as_str());
                let description = words.join(" ");
                prop_assert_eq!(e.description(), Some(description.as_str()));
                prop_assert_eq!(e.error_codes(), codes.as_slice());
                prop_assert_eq!(e.correlation_id(), Some(correlation.as_str()));
                prop_assert!(e.summary().contains(correlation.as_str()));
                Ok(())
            },
        );
    }

    #[test]
    fn claims_are_refused_or_kept_with_cae_added() {
        // No floats: serde_json may change a float's last digit when it writes the claims back,
        // which is harmless (claims challenges hold strings and objects) but not equality.
        let member = || any_value().prop_filter("not a float", |v| !v.is_f64());
        let claims = prop_oneof![
            ".{0,60}",
            proptest::collection::btree_map("[a-z_]{1,12}", member(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()).to_string()),
            member().prop_map(|v| json!({"access_token": v, "id_token": {"x": 1}}).to_string()),
        ];
        run((proptest::option::of(claims), any::<bool>()), |(claims, cae)| {
            let given = claims
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(serde_json::from_str::<Value>);
            let result = claims_parameter(claims.as_deref(), cae);
            match (given, result) {
                (Some(Ok(Value::Object(mut given))), Ok(Some(sent))) => {
                    let sent: Value =
                        serde_json::from_str(&sent).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    if cae {
                        let access = given.entry("access_token").or_insert_with(|| json!({}));
                        if !access.is_object() {
                            *access = json!({});
                        }
                        access["xms_cc"] = json!({"values": ["CP1"]});
                    }
                    prop_assert_eq!(sent, Value::Object(given));
                }
                (None, Ok(sent)) if cae => {
                    prop_assert_eq!(
                        sent,
                        Some(json!({"access_token": {"xms_cc": {"values": ["CP1"]}}}).to_string())
                    );
                }
                (None, Ok(None)) => {}
                (Some(_), Err(message)) => prop_assert!(message.len() < 200),
                (given, result) => {
                    return Err(TestCaseError::fail(format!("{given:?} -> {result:?}")));
                }
            }
            Ok(())
        });
    }
}
