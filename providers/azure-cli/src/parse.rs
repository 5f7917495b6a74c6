//! Pure parsing of what `az account get-access-token --output json` prints. No I/O.
//!
//! The CLI prints one JSON object:
//!
//! ```json
//! {"accessToken": "eyJ0…", "expiresOn": "2026-11-26 07:51:39.000000", "expires_on": 1795679499,
//!  "subscription": "…", "tenant": "…", "tokenType": "Bearer"}
//! ```
//!
//! * `expires_on` (Azure CLI 2.54.0 and later) is the expiry in seconds since the Unix epoch, as a
//!   JSON integer or a string of digits. It is preferred because it is unambiguous.
//! * `expiresOn` (every version) is the expiry as a **local** wall-clock time without an offset,
//!   `YYYY-MM-DD HH:MM:SS.ffffff`. It is only used when `expires_on` is absent (or `null`), and is
//!   interpreted in the time zone the CLI ran in. Once a year, when clocks go back, one hour of
//!   wall-clock times happens twice and the string cannot say which; we then pick the *earlier*
//!   instant, so a cache refreshes an hour early rather than hand out an expired token. Times that
//!   fall in the hour skipped when clocks go forward also resolve to the earlier reading.
//! * `tokenType` sets the token type (default `Bearer`); every other field is ignored.
//!
//! Anything else is an [`UnexpectedOutput`]. Its `Display` never contains the token: it describes
//! the shape of the output, and quotes raw output only after [`sanitize`] has removed anything that
//! looks like a credential.

use std::fmt;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use credchain_core::Secret;
use credchain_process::bounded;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use regex_lite::Regex;
use serde::Deserialize;
use serde_json::Value;

/// Longest piece of raw output quoted in a message, in characters.
pub(crate) const PREVIEW_CHARS: usize = 200;

/// A token parsed from the CLI's output.
#[derive(Debug)]
pub(crate) struct CliToken {
    pub(crate) access_token: Secret,
    pub(crate) expires_on: SystemTime,
    pub(crate) token_type: Option<String>,
}

/// Why the CLI's standard output could not be turned into a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UnexpectedOutput {
    /// Nothing (or only whitespace) was printed.
    Empty,
    /// The bytes are not UTF-8.
    NotUtf8 { len: usize },
    /// Not JSON at all; `preview` is sanitized and bounded.
    NotJson { preview: String },
    /// Valid JSON, but not an object (`null`, an array, a string, …).
    NotAnObject { found: &'static str },
    /// An object without a usable `accessToken` (missing, not a string, duplicated).
    NoAccessToken { fields: Vec<String> },
    /// `accessToken` is empty or whitespace.
    BlankAccessToken,
    /// `expires_on` is present but not a non-negative whole number of seconds.
    BadExpiresOn { shown: String },
    /// `expiresOn` is present (and `expires_on` absent) but not `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    BadExpiresOnLocal { shown: String },
    /// Neither expiry field is present.
    NoExpiry,
}

impl fmt::Display for UnexpectedOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnexpectedOutput::Empty => f.write_str("it printed nothing"),
            UnexpectedOutput::NotUtf8 { len } => write!(f, "it printed {len} bytes that are not UTF-8"),
            UnexpectedOutput::NotJson { preview } => write!(f, "it is not JSON: `{preview}`"),
            UnexpectedOutput::NotAnObject { found } => {
                write!(f, "expected a JSON object but found {found}")
            }
            UnexpectedOutput::NoAccessToken { fields } if fields.is_empty() => {
                f.write_str("the JSON object has no `accessToken` string")
            }
            UnexpectedOutput::NoAccessToken { fields } => {
                write!(f, "the JSON object has no usable `accessToken` string (fields: ")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{field}`")?;
                }
                f.write_str(")")
            }
            UnexpectedOutput::BlankAccessToken => f.write_str("`accessToken` is empty"),
            UnexpectedOutput::BadExpiresOn { shown } => {
                write!(
                    f,
                    "`expires_on` is not a whole number of seconds since 1970: {shown}"
                )
            }
            UnexpectedOutput::BadExpiresOnLocal { shown } => write!(
                f,
                "`expiresOn` is not a local time like `2026-01-31 13:45:00.000000`: {shown}"
            ),
            UnexpectedOutput::NoExpiry => f.write_str("it has neither `expires_on` nor `expiresOn`"),
        }
    }
}

#[derive(Deserialize)]
struct RawToken {
    #[serde(rename = "accessToken")]
    access_token: String,
    #[serde(default)]
    expires_on: Value,
    #[serde(rename = "expiresOn", default)]
    expires_on_local: Value,
    #[serde(rename = "tokenType", default)]
    token_type: Value,
}

/// Parses the CLI's standard output. `local` gives the time zone the CLI ran in; it is called only
/// for the legacy `expiresOn` field, when `expires_on` is missing.
pub(crate) fn parse_token(
    stdout: &[u8],
    local: impl FnOnce() -> TimeZone,
) -> Result<CliToken, UnexpectedOutput> {
    let text = std::str::from_utf8(stdout).map_err(|_| UnexpectedOutput::NotUtf8 { len: stdout.len() })?;
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.is_empty() {
        return Err(UnexpectedOutput::Empty);
    }
    // Check the syntax first without copying anything out of the text.
    if serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_err() {
        return Err(UnexpectedOutput::NotJson {
            preview: preview(trimmed),
        });
    }
    let found = match trimmed.as_bytes().first() {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b'n') => Some("`null`"),
        Some(b't' | b'f') => Some("a boolean"),
        _ => Some("a number"),
    };
    if let Some(found) = found {
        return Err(UnexpectedOutput::NotAnObject { found });
    }
    let raw: RawToken = serde_json::from_str(trimmed).map_err(|_| UnexpectedOutput::NoAccessToken {
        fields: field_names(trimmed),
    })?;
    // Move the token into a `Secret` at once, so it is wiped on the error returns below too.
    let access_token = Secret::new(raw.access_token);
    if access_token.is_blank() {
        return Err(UnexpectedOutput::BlankAccessToken);
    }
    let expires_on = match (&raw.expires_on, &raw.expires_on_local) {
        (Value::Null, Value::Null) => return Err(UnexpectedOutput::NoExpiry),
        (Value::Null, local_time) => parse_local_expiry(local_time, &local())?,
        (epoch, _) => parse_epoch_expiry(epoch)?,
    };
    let token_type = match raw.token_type {
        Value::String(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
        _ => None,
    };
    Ok(CliToken {
        access_token,
        expires_on,
        token_type,
    })
}

fn parse_epoch_expiry(value: &Value) -> Result<SystemTime, UnexpectedOutput> {
    let secs = match value {
        Value::Number(n) => n
            .as_u64()
            // A fraction is truncated, as azure-identity does.
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e18)
                    .map(|f| f as u64)
            }),
        Value::String(s) if !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        _ => None,
    };
    secs.and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .ok_or_else(|| UnexpectedOutput::BadExpiresOn {
            shown: show_value(value),
        })
}

fn parse_local_expiry(value: &Value, local: &TimeZone) -> Result<SystemTime, UnexpectedOutput> {
    let bad = || UnexpectedOutput::BadExpiresOnLocal {
        shown: show_value(value),
    };
    let Value::String(text) = value else {
        return Err(bad());
    };
    let civil = DateTime::strptime("%Y-%m-%d %H:%M:%S%.f", text.trim()).map_err(|_| bad())?;
    // `earlier()` resolves both a repeated hour (fold) and a skipped hour (gap) to the earlier
    // instant; see the module docs.
    let instant = local.to_ambiguous_timestamp(civil).earlier().map_err(|_| bad())?;
    let secs = u64::try_from(instant.as_second()).map_err(|_| bad())?;
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or_else(bad)
}

/// A value for an error message: numbers as written, strings quoted and bounded, others by kind.
fn show_value(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("`{}`", preview(s)),
        Value::Bool(b) => format!("`{b}`"),
        Value::Null => "`null`".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// The top-level field names of a JSON object (never the values), for a shape error.
fn field_names(text: &str) -> Vec<String> {
    let Ok(map) = serde_json::from_str::<std::collections::BTreeMap<String, serde::de::IgnoredAny>>(text)
    else {
        return Vec::new();
    };
    map.keys().take(12).map(|k| preview(k)).collect()
}

static SECRET_FIELD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // `"accessToken": "…"`, `'refresh_token':'…'`, `client_secret=…` and friends; the value runs
    // to its closing quote or, when unterminated, to the end of the text.
    Regex::new(
        r#"(?i)(["']?(?:access_?token|refresh_?token|id_?token|client_?secret|client_?assertion|assertion|password|secret)["']?\s*[:=]\s*)(?:"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)|[^\s,;&}]+)"#,
    )
    .ok()
});

static JWT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // Three base64url segments, the first a JSON header (`eyJ` is base64 of `{"`).
    Regex::new(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").ok()
});

static BEARER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}").ok());

/// Removes anything that looks like a credential from text the CLI printed: values of fields named
/// like tokens, secrets or passwords (JSON with or without spaces, single quotes, `key=value`),
/// JWT-shaped strings and `Bearer …` values. Control characters are escaped so the result is safe to
/// print on a terminal.
pub(crate) fn sanitize(text: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(text);
    if let Some(re) = SECRET_FIELD.as_ref() {
        out = std::borrow::Cow::Owned(re.replace_all(&out, "${1}****").into_owned());
    }
    if let Some(re) = JWT.as_ref() {
        out = std::borrow::Cow::Owned(re.replace_all(&out, "****").into_owned());
    }
    if let Some(re) = BEARER.as_ref() {
        out = std::borrow::Cow::Owned(re.replace_all(&out, "${1}****").into_owned());
    }
    // A regex that failed to compile would leave secrets in place: refuse to show anything then.
    if SECRET_FIELD.is_none() || JWT.is_none() || BEARER.is_none() {
        return "(output hidden)".to_owned();
    }
    out.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() && c != '\n' {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `text` sanitized, on one line, and cut to [`PREVIEW_CHARS`] characters.
pub(crate) fn preview(text: &str) -> String {
    bounded(&sanitize(text).replace('\n', " "), PREVIEW_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "secret value";

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn new_york() -> TimeZone {
        // POSIX rules, so the test does not depend on the machine's tz database.
        TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").expect("valid POSIX TZ")
    }

    fn unix(t: SystemTime) -> u64 {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    #[test]
    fn the_time_zone_is_resolved_only_for_a_local_expiry() {
        let asked = std::cell::Cell::new(0);
        let zone = || {
            asked.set(asked.get() + 1);
            TimeZone::UTC
        };
        parse_token(
            br#"{"accessToken":"t","expires_on":1700000000,"expiresOn":"x"}"#,
            zone,
        )
        .expect("ok");
        assert_eq!(asked.get(), 0, "expires_on present: no zone lookup");
        parse_token(
            br#"{"accessToken":"t","expiresOn":"2023-10-31 21:59:10.000000"}"#,
            zone,
        )
        .expect("ok");
        assert_eq!(asked.get(), 1);
    }

    fn ok(stdout: &str, tz: &TimeZone) -> (String, u64, Option<String>) {
        let t = parse_token(stdout.as_bytes(), || tz.clone()).unwrap_or_else(|e| panic!("{stdout}: {e}"));
        (
            t.access_token.expose().to_owned(),
            unix(t.expires_on),
            t.token_type,
        )
    }

    #[test]
    fn reference_vectors_that_parse() {
        let table = [
            (
                r#"{"accessToken":"tok","expiresOn":"2023-10-31 21:59:10.000000","expires_on":1698789550,"subscription":"s","tenant":"t","tokenType":"Bearer"}"#,
                1698789550,
            ),
            (
                r#"{"accessToken":"tok","expiresOn":"2023-10-31 21:59:10.000000"}"#,
                1698789550,
            ),
            (
                r#"{"accessToken":"tok","expiresOn":"2023-10-31 21:59:10.123456"}"#,
                1698789550,
            ),
            (r#"{"accessToken":"tok","expires_on":"1698789550"}"#, 1698789550),
            (r#"{"accessToken":"tok","expires_on":1698789550.9}"#, 1698789550),
            // `expires_on` wins over a different `expiresOn`.
            (
                r#"{"accessToken":"tok","expiresOn":"2019-04-18 03:25:55.000000","expires_on":1602015811}"#,
                1602015811,
            ),
            // `null` counts as absent, so the local time is used.
            (
                r#"{"accessToken":"tok","expires_on":null,"expiresOn":"2023-10-31 21:59:10.000000"}"#,
                1698789550,
            ),
            // Without a fraction (azure-identity rejects this; the CLI never writes it, but it is unambiguous).
            (
                r#"{"accessToken":"tok","expiresOn":"2023-10-31 21:59:10"}"#,
                1698789550,
            ),
        ];
        for (stdout, expected) in table {
            let (token, expires, _) = ok(stdout, &utc());
            assert_eq!(token, "tok", "{stdout}");
            assert_eq!(expires, expected, "{stdout}");
        }
    }

    #[test]
    fn local_time_uses_the_given_zone() {
        let stdout = r#"{"accessToken":"tok","expiresOn":"2023-10-31 21:59:10.000000"}"#;
        assert_eq!(ok(stdout, &new_york()).1, 1698803950);
    }

    #[test]
    fn repeated_hour_resolves_to_the_earlier_instant() {
        // 2023-11-05 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
        let stdout = r#"{"accessToken":"tok","expiresOn":"2023-11-05 01:30:00.000000"}"#;
        assert_eq!(ok(stdout, &new_york()).1, 1699162200);
        // 2023-03-12 02:30 does not exist in New York (clocks jump from 02:00 EST to 03:00 EDT).
        // Read with the EDT offset it is 06:30Z; with the EST offset 07:30Z. The earlier wins.
        let gap = r#"{"accessToken":"tok","expiresOn":"2023-03-12 02:30:00.000000"}"#;
        assert_eq!(ok(gap, &new_york()).1, 1678602600);
    }

    #[test]
    fn the_real_sample_parses() {
        let sample = include_str!("../tests/data/ok_scope.stdout");
        let (token, expires, token_type) = ok(sample, &utc());
        assert!(token.starts_with("eyJ0eXAi"));
        assert_eq!(expires, 1795679499);
        assert_eq!(token_type.as_deref(), Some("Bearer"));
    }

    #[test]
    fn token_type_and_unknown_fields() {
        let (_, _, tt) = ok(
            r#"{"accessToken":"tok","expires_on":5,"tokenType":"pop","extra":{"a":[1,2]}}"#,
            &utc(),
        );
        assert_eq!(tt.as_deref(), Some("pop"));
        let (_, _, tt) = ok(r#"{"accessToken":"tok","expires_on":5,"tokenType":7}"#, &utc());
        assert_eq!(tt, None);
    }

    #[test]
    fn leading_bom_and_whitespace_are_tolerated() {
        assert_eq!(
            ok(
                "\u{feff}\r\n {\"accessToken\":\"tok\",\"expires_on\":1}\r\n",
                &utc()
            )
            .1,
            1
        );
    }

    #[test]
    fn rejected_outputs_say_why() {
        let table: &[(&[u8], UnexpectedOutput)] = &[
            (b"", UnexpectedOutput::Empty),
            (b" \n\t", UnexpectedOutput::Empty),
            (b"\xff\xfe{}", UnexpectedOutput::NotUtf8 { len: 4 }),
            (b"null", UnexpectedOutput::NotAnObject { found: "`null`" }),
            (b"[]", UnexpectedOutput::NotAnObject { found: "an array" }),
            (b"\"str\"", UnexpectedOutput::NotAnObject { found: "a string" }),
            (b"42", UnexpectedOutput::NotAnObject { found: "a number" }),
            (b"true", UnexpectedOutput::NotAnObject { found: "a boolean" }),
            (b"{}", UnexpectedOutput::NoAccessToken { fields: vec![] }),
            (
                br#"{"expires_on":1698789550}"#,
                UnexpectedOutput::NoAccessToken {
                    fields: vec!["expires_on".into()],
                },
            ),
            (
                br#"{"accessToken":5,"expires_on":1}"#,
                UnexpectedOutput::NoAccessToken {
                    fields: vec!["accessToken".into(), "expires_on".into()],
                },
            ),
            (
                br#"{"accessToken":"","expires_on":1}"#,
                UnexpectedOutput::BlankAccessToken,
            ),
            (br#"{"accessToken":"tok"}"#, UnexpectedOutput::NoExpiry),
            (
                br#"{"accessToken":"tok","expires_on":"1698789550.9"}"#,
                UnexpectedOutput::BadExpiresOn {
                    shown: "`1698789550.9`".into(),
                },
            ),
            (
                br#"{"accessToken":"tok","expires_on":"abc"}"#,
                UnexpectedOutput::BadExpiresOn {
                    shown: "`abc`".into(),
                },
            ),
            (
                br#"{"accessToken":"tok","expires_on":-5}"#,
                UnexpectedOutput::BadExpiresOn { shown: "`-5`".into() },
            ),
            (
                br#"{"accessToken":"tok","expires_on":true}"#,
                UnexpectedOutput::BadExpiresOn {
                    shown: "`true`".into(),
                },
            ),
            (
                br#"{"accessToken":"tok","expiresOn":"2023-10-31T21:59:10.000000+00:00"}"#,
                UnexpectedOutput::BadExpiresOnLocal {
                    shown: "`2023-10-31T21:59:10.000000+00:00`".into(),
                },
            ),
            (
                br#"{"accessToken":"tok","expiresOn":17}"#,
                UnexpectedOutput::BadExpiresOnLocal { shown: "`17`".into() },
            ),
        ];
        for (stdout, expected) in table {
            let err = parse_token(stdout, utc).expect_err(&String::from_utf8_lossy(stdout));
            assert_eq!(&err, expected, "{}", String::from_utf8_lossy(stdout));
        }
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        // Out of `SystemTime`'s range or not a u64: a clean error, never a panic.
        for stdout in [
            r#"{"accessToken":"tok","expires_on":18446744073709551615}"#,
            r#"{"accessToken":"tok","expires_on":1e300}"#,
            r#"{"accessToken":"tok","expires_on":"99999999999999999999999"}"#,
        ] {
            assert!(
                matches!(
                    parse_token(stdout.as_bytes(), utc),
                    Err(UnexpectedOutput::BadExpiresOn { .. })
                ),
                "{stdout}"
            );
        }
        // Past the last instant jiff represents (9999-12-30 22:00 UTC): refused, not a panic.
        assert!(matches!(
            parse_token(
                br#"{"accessToken":"tok","expiresOn":"9999-12-31 23:59:59.999999"}"#,
                utc
            ),
            Err(UnexpectedOutput::BadExpiresOnLocal { .. })
        ));
        let (_, expires, _) = ok(
            r#"{"accessToken":"tok","expiresOn":"9999-12-30 21:59:59.000000"}"#,
            &utc(),
        );
        assert_eq!(expires, 253402207199);
    }

    #[test]
    fn azure_identity_error_outputs_never_show_the_secret() {
        let outputs = [
            r#"{"accessToken": "secret value"#,
            r#"{"accessToken": "secret value""#,
            r#"{"accessToken": "secret value and some other nonsense""#,
            r#"{"accessToken": "secret value", some invalid json, "accessToken": "secret value"}"#,
            r#"{"accessToken": "secret value"}"#,
            r#"{"accessToken": "secret value", "subscription": "some-guid", "tenant": "some-guid", "tokenType": "Bearer"}"#,
            r#"{"accessToken":"secret value"}"#,
            r#"{"accessToken":"secret value","accessToken":"secret value","expires_on":1}"#,
            r#"{'accessToken': 'secret value'}"#,
            "no secrets or json here",
            "{}",
        ];
        for out in outputs {
            let err = parse_token(out.as_bytes(), utc).expect_err(out);
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains(SECRET), "{out} -> {shown}");
            }
        }
    }

    #[test]
    fn sanitize_redacts_compact_and_spaced_json() {
        let table = [
            (r#"{"accessToken": "secret value"#, r#"{"accessToken": ****"#),
            (
                r#"{"accessToken": "secret value", "subscription": "x"}"#,
                r#"{"accessToken": ****, "subscription": "x"}"#,
            ),
            (r#"{"accessToken":"secret"}"#, r#"{"accessToken":****}"#),
            (
                r#"{"refresh_token":"a\"b","x":1}"#,
                r#"{"refresh_token":****,"x":1}"#,
            ),
            ("client_secret=abc&x=1", "client_secret=****&x=1"),
            ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer ****"),
            ("token eyJhbGciOi.eyJzdWIiOi.c2ln here", "token **** here"),
            ("colour \u{1b}[31mred", "colour \\u{1b}[31mred"),
            ("plain text, nothing secret", "plain text, nothing secret"),
        ];
        for (input, expected) in table {
            assert_eq!(sanitize(input), expected, "{input}");
        }
    }

    #[test]
    fn preview_is_bounded_and_single_line() {
        let long = "x\n".repeat(1000);
        let p = preview(&long);
        assert!(!p.contains('\n'));
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }
}

/// Property tests: no output of `az` panics the parser, every error stays short and never holds
/// the token, and well-formed outputs parse to the token and instant they carry. 10,000 cases
/// each; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
pub(crate) mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{Map, json};

    /// The longest an error may get: 12 field names of at most `PREVIEW_CHARS` characters each,
    /// with their punctuation.
    const MAX_MESSAGE_CHARS: usize = 12 * (PREVIEW_CHARS + 5) + 100;

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

    /// Parses `stdout` and checks the error (if any) is bounded, printable and free of `secret`.
    fn check(stdout: &[u8], secret: Option<&str>) -> Result<Option<CliToken>, TestCaseError> {
        match parse_token(stdout, || TimeZone::UTC) {
            Ok(token) => Ok(Some(token)),
            Err(e) => {
                for shown in [e.to_string(), format!("{e:?}")] {
                    prop_assert!(shown.chars().count() <= MAX_MESSAGE_CHARS, "{}", shown);
                    if let Some(secret) = secret {
                        prop_assert!(!shown.contains(secret), "{}", shown);
                    }
                }
                let shown = e.to_string();
                prop_assert!(!shown.chars().any(|c| c.is_control()), "{}", shown);
                Ok(None)
            }
        }
    }

    fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            any::<u64>().prop_map(|n| Value::from(n.to_string())),
            ".{0,30}".prop_map(Value::from),
            "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,9})?".prop_map(Value::from),
            Just(json!([1, "a"])),
            Just(json!({"a": {}})),
        ]
    }

    /// A token az could print and whether it is recognisable anywhere (JWT-shaped) or only under
    /// its field name.
    fn secret() -> impl Strategy<Value = (String, bool)> {
        prop_oneof![
            "eyJ[A-Za-z0-9_-]{4,20}\\.[A-Za-z0-9_-]{4,30}\\.[A-Za-z0-9_-]{4,30}".prop_map(|s| (s, true)),
            "tok[A-Za-z0-9._~+/=-]{8,30}".prop_map(|s| (s, false)),
        ]
    }

    /// A JSON object az might print, holding a secret (or something else) under `accessToken`,
    /// other fields with any values, then possibly cut short or with a byte damaged. Also returns
    /// the secret when it must stay hidden: always, unless a damaged byte may have broken its
    /// field name and it is not JWT-shaped (then nothing marks it as a token).
    fn output() -> impl Strategy<Value = (Vec<u8>, String, bool)> {
        let field = || proptest::option::of(any_value());
        (
            secret(),
            0u8..4,
            (field(), field(), field(), field()),
            "[a-zA-Z_]{1,12}",
            0u8..3,
            any::<usize>(),
            any::<u8>(),
        )
            .prop_map(
                |((secret, jwt), shape, (on, on_local, kind, extra), extra_key, damage, at, byte)| {
                    let mut map = Map::new();
                    if let Some(extra) = extra {
                        map.insert(extra_key, extra);
                    }
                    match shape {
                        0 => {}
                        1 => {
                            map.insert("accessToken".into(), json!([secret.clone()]));
                        }
                        _ => {
                            map.insert("accessToken".into(), Value::from(secret.clone()));
                        }
                    }
                    for (key, value) in [("expires_on", on), ("expiresOn", on_local), ("tokenType", kind)] {
                        if let Some(v) = value {
                            map.insert(key.into(), v);
                        }
                    }
                    let pretty = shape == 3;
                    let mut bytes = if pretty {
                        serde_json::to_vec_pretty(&map)
                    } else {
                        serde_json::to_vec(&map)
                    }
                    .unwrap_or_default();
                    let at = at % (bytes.len() + 1);
                    match damage {
                        0 => {}
                        1 => bytes.truncate(at),
                        _ => {
                            if let Some(b) = bytes.get_mut(at) {
                                *b = byte;
                            }
                        }
                    }
                    (bytes, secret, jwt || damage < 2)
                },
            )
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        run(proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
            check(&bytes, None).map(drop)
        });
    }

    #[test]
    fn arbitrary_text_never_panics() {
        run(".{0,300}", |text| check(text.as_bytes(), None).map(drop));
    }

    #[test]
    fn objects_cut_or_damaged_never_panic_or_show_the_token() {
        run(output(), |(bytes, secret, hidden)| {
            if let Some(token) = check(&bytes, hidden.then_some(secret.as_str()))? {
                prop_assert!(!token.access_token.is_blank());
            }
            Ok(())
        });
    }

    #[test]
    fn valid_outputs_parse_to_their_token_and_expiry() {
        // Up to 9999-12-30, the last day jiff represents in every zone.
        let expiry = 0i64..253_402_128_000;
        let form = 0u8..3;
        run(
            (any::<String>(), expiry, form, "[A-Za-z]{1,8}"),
            |(raw, seconds, form, kind)| {
                let secret = format!("t{raw}");
                let value = match form {
                    0 => ("expires_on", json!(seconds)),
                    1 => ("expires_on", json!(seconds.to_string())),
                    _ => {
                        let instant = jiff::Timestamp::from_second(seconds)
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        let local = TimeZone::UTC
                            .to_datetime(instant)
                            .strftime("%Y-%m-%d %H:%M:%S.%6f")
                            .to_string();
                        ("expiresOn", json!(local))
                    }
                };
                let stdout = json!({"accessToken": secret, value.0: value.1, "tokenType": kind});
                let stdout = serde_json::to_vec_pretty(&stdout).unwrap_or_default();
                let token =
                    check(&stdout, None)?.ok_or_else(|| TestCaseError::fail("a valid output was refused"))?;
                prop_assert_eq!(token.access_token.expose(), secret.as_str());
                let expected = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs());
                prop_assert_eq!(token.expires_on, expected);
                prop_assert_eq!(token.token_type.as_deref(), Some(kind.as_str()));
                Ok(())
            },
        );
    }

    #[test]
    fn previews_are_bounded_single_line_and_printable() {
        run(any::<String>(), |text| {
            let p = preview(&text);
            prop_assert!(p.chars().count() <= PREVIEW_CHARS + 1, "{}", p);
            prop_assert!(!p.chars().any(char::is_control), "{:?}", p);
            Ok(())
        });
    }

    #[test]
    fn sanitize_hides_a_named_secret_wherever_it_sits() {
        let key = prop_oneof![
            Just("\"accessToken\": "),
            Just("'refresh_token':"),
            Just("client_secret="),
            Just("\"password\" : "),
        ];
        run(
            (".{0,40}", key, "[A-Za-z0-9._~+/=-]{6,30}", "[ ,;}&\n].{0,40}"),
            |(before, key, secret, after)| {
                let quoted = if key.starts_with('"') || key.starts_with('\'') {
                    let q = &key[..1];
                    format!("{q}{secret}{q}")
                } else {
                    secret.clone()
                };
                let text = format!("{before}{key}{quoted}{after}");
                let clean = sanitize(&text);
                prop_assert!(!clean.contains(&secret), "{:?} -> {:?}", text, clean);
                Ok(())
            },
        );
    }
}
