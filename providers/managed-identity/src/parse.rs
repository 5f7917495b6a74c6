//! Token responses of every source: `access_token`, `expires_in` or `expires_on` (a number or a
//! string; App Service's older date form too), `token_type`, and the echoed `client_id`. Pure.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use credchain_core::{AccessToken, Secret};
use serde::Deserialize;
use serde_json::Value;

/// The largest token response parsed (real ones are 2-4 KiB).
pub(crate) const MAX_RESPONSE: usize = 64 * 1024;
/// Tokens living at least this long are refreshed at half their lifetime (Python
/// `_internal/managed_identity_client.py`).
const REFRESH_HALF_LIFE_FROM: Duration = Duration::from_secs(2 * 3600);

/// A parsed token and the identity it was issued for, when the service says.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) token: AccessToken,
    /// The `client_id` field, which App Service and IMDS echo.
    pub(crate) client_id: Option<String>,
}

/// Why a 2xx body is not a token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not a JSON object (e.g. an HTML page from something that is not the identity endpoint).
    NotJson,
    /// JSON without a usable field; names it.
    Field(&'static str),
    /// Larger than [`MAX_RESPONSE`].
    TooLarge,
}

impl ParseError {
    /// A sentence for an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            ParseError::NotJson => "the response is not a JSON token response".to_owned(),
            ParseError::Field(name) => format!("the response has no valid `{name}`"),
            ParseError::TooLarge => format!("the response is larger than {} KiB", MAX_RESPONSE / 1024),
        }
    }
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    access_token: Option<Cow<'a, str>>,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    expires_on: Option<Value>,
    #[serde(borrow, default)]
    token_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    client_id: Option<Cow<'a, str>>,
}

/// Parses a 2xx body received at `now`.
pub(crate) fn token(body: &[u8], now: SystemTime) -> Result<Parsed, ParseError> {
    if body.len() > MAX_RESPONSE {
        return Err(ParseError::TooLarge);
    }
    let raw: Raw<'_> = serde_json::from_slice(body).map_err(|_| ParseError::NotJson)?;
    let secret = match raw.access_token {
        Some(value) if !value.trim().is_empty() => Secret::new(value.into_owned()),
        _ => return Err(ParseError::Field("access_token")),
    };
    let expires_on = match (&raw.expires_on, &raw.expires_in) {
        (Some(on), _) => expires_on(on).ok_or(ParseError::Field("expires_on"))?,
        (None, Some(seconds)) => seconds_of(seconds)
            .and_then(|s| now.checked_add(Duration::from_secs(s)))
            .ok_or(ParseError::Field("expires_in"))?,
        (None, None) => return Err(ParseError::Field("expires_in")),
    };
    let mut token = AccessToken::new(secret, expires_on);
    if let Ok(lifetime) = expires_on.duration_since(now)
        && lifetime >= REFRESH_HALF_LIFE_FROM
    {
        token = token.with_refresh_on(now + lifetime / 2);
    }
    if let Some(kind) = raw.token_type.filter(|t| is_token_type(t)) {
        token = token.with_token_type(kind.as_ref());
    }
    Ok(Parsed {
        token,
        client_id: raw.client_id.map(Cow::into_owned),
    })
}

/// A plausible `token_type` (`Bearer`, `PoP`): a short word.
fn is_token_type(value: &str) -> bool {
    !value.is_empty() && value.len() <= 32 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whole seconds from a JSON number or a string of digits.
fn seconds_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.is_finite())
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// `expires_on`: epoch seconds (number or string), or App Service's `MM/DD/YYYY HH:MM:SS +HH:MM`.
fn expires_on(value: &Value) -> Option<SystemTime> {
    if let Some(seconds) = seconds_of(value) {
        return UNIX_EPOCH.checked_add(Duration::from_secs(seconds));
    }
    let text = value.as_str()?.trim();
    let seconds = app_service_date(text)?;
    UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(seconds).ok()?))
}

/// Epoch seconds of `06/20/2019 02:57:58 +00:00` (App Service 2017-09-01's form, which Python's
/// `_internal/managed_identity_client.py` also parses with `%m/%d/%Y %H:%M:%S %z`).
fn app_service_date(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once(' ')?;
    let (time, offset) = rest.split_once(' ').unwrap_or((rest, "+00:00"));
    let mut d = date.split('/').map(|p| p.parse::<i64>().ok());
    let (month, day, year) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
    // Bounded before any arithmetic: a huge offset must not overflow.
    let (oh, om) = (
        oh.parse::<i64>().ok().filter(|h| (0..24).contains(h))?,
        om.parse::<i64>().ok().filter(|m| (0..60).contains(m))?,
    );
    let offset_seconds = sign * (oh * 3600 + om * 60);
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second)
        && offset_seconds.unsigned_abs() < 24 * 3600;
    if !valid {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn parse(body: &str) -> Result<Parsed, ParseError> {
        token(body.as_bytes(), at(NOW))
    }

    #[test]
    fn expires_on_as_number_and_string() {
        let p = parse(r#"{"access_token":"t","expires_on":1700003600,"token_type":"Bearer"}"#).expect("ok");
        assert_eq!(p.token.expires_on(), at(NOW + 3600));
        assert_eq!(p.token.secret(), "t");
        let p = parse(r#"{"access_token":"t","expires_on":"1700003600","expires_in":"99"}"#).expect("ok");
        assert_eq!(p.token.expires_on(), at(NOW + 3600));
    }

    #[test]
    fn expires_in_as_number_and_string() {
        let p = parse(r#"{"access_token":"t","expires_in":"3599"}"#).expect("ok");
        assert_eq!(p.token.expires_on(), at(NOW + 3599));
        let p = parse(r#"{"access_token":"t","expires_in":60}"#).expect("ok");
        assert_eq!(p.token.expires_on(), at(NOW + 60));
    }

    #[test]
    fn app_service_date_form() {
        let p = parse(r#"{"access_token":"t","expires_on":"06/20/2019 02:57:58 +00:00"}"#).expect("ok");
        assert_eq!(p.token.expires_on(), at(1_560_999_478));
        let p = parse(r#"{"access_token":"t","expires_on":"06/20/2019 04:57:58 +02:00"}"#).expect("ok");
        assert_eq!(p.token.expires_on(), at(1_560_999_478));
        assert_eq!(
            parse(r#"{"access_token":"t","expires_on":"13/20/2019 02:57:58 +00:00"}"#).unwrap_err(),
            ParseError::Field("expires_on")
        );
    }

    #[test]
    fn absurd_app_service_offsets_are_refused_without_overflow() {
        for offset in [
            "+9999999999999999:00",
            "-00:9999999999999999",
            "+24:00",
            "+-5:00",
            "+05:60",
        ] {
            let body = format!(r#"{{"access_token":"t","expires_on":"06/20/2019 02:57:58 {offset}"}}"#);
            assert_eq!(
                parse(&body).unwrap_err(),
                ParseError::Field("expires_on"),
                "{offset}"
            );
        }
    }

    #[test]
    fn refresh_at_half_life_only_for_long_tokens() {
        let long = parse(r#"{"access_token":"t","expires_in":86400}"#).expect("ok");
        assert_eq!(long.token.refresh_on(), Some(at(NOW + 43_200)));
        let short = parse(r#"{"access_token":"t","expires_in":7199}"#).expect("ok");
        assert_eq!(short.token.refresh_on(), None);
        let two_hours = parse(r#"{"access_token":"t","expires_in":7200}"#).expect("ok");
        assert_eq!(two_hours.token.refresh_on(), Some(at(NOW + 3600)));
    }

    #[test]
    fn token_type_and_client_id() {
        let p =
            parse(r#"{"access_token":"t","expires_in":60,"token_type":"PoP","client_id":"c"}"#).expect("ok");
        assert_eq!(p.token.token_type(), "PoP");
        assert_eq!(p.client_id.as_deref(), Some("c"));
        let p = parse(r#"{"access_token":"t","expires_in":60,"token_type":"Bearer\nX: y"}"#).expect("ok");
        assert_eq!(p.token.token_type(), "Bearer", "an odd token_type is ignored");
    }

    #[test]
    fn bad_bodies() {
        assert_eq!(parse("<html>").unwrap_err(), ParseError::NotJson);
        assert_eq!(parse("[1]").unwrap_err(), ParseError::NotJson);
        assert_eq!(
            parse(r#"{"expires_in":60}"#).unwrap_err(),
            ParseError::Field("access_token")
        );
        assert_eq!(
            parse(r#"{"access_token":" ","expires_in":60}"#).unwrap_err(),
            ParseError::Field("access_token")
        );
        assert_eq!(
            parse(r#"{"access_token":"t"}"#).unwrap_err(),
            ParseError::Field("expires_in")
        );
        assert_eq!(
            parse(r#"{"access_token":"t","expires_in":-5}"#).unwrap_err(),
            ParseError::Field("expires_in")
        );
        assert_eq!(
            parse(r#"{"access_token":"t","expires_on":"99999999999999999999999"}"#).unwrap_err(),
            ParseError::Field("expires_on")
        );
        let huge = format!(
            r#"{{"access_token":"{}","expires_in":60}}"#,
            "a".repeat(MAX_RESPONSE)
        );
        assert_eq!(parse(&huge).unwrap_err(), ParseError::TooLarge);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}

/// Property tests: no body panics the parser, errors stay short and never hold the token, and
/// well-formed responses (epoch seconds, `expires_in`, App Service dates) parse to the right
/// instant. 10,000 cases each; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{Map, json};

    const NOW: u64 = 1_700_000_000;
    /// 9999-12-31 23:59:59 UTC, the last instant an App Service date can name.
    const MAX_DATE: u64 = 253_402_300_799;

    fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
        TestRunner::new(Config {
            cases: 10_000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&strategy, test)
        .unwrap_or_else(|e| panic!("{e}"));
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    /// `MM/DD/YYYY HH:MM:SS ±HH:MM` for `epoch` shown at `offset_minutes` east of UTC, computed
    /// with Howard Hinnant's `civil_from_days` (the inverse of what the parser uses).
    fn app_service(epoch: i64, offset_minutes: i64) -> String {
        let local = epoch + offset_minutes * 60;
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let off = offset_minutes.abs();
        format!(
            "{month:02}/{day:02}/{year:04} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            off / 60,
            off % 60
        )
    }

    /// Date-like strings with any numbers in every slot, including ones that overflow.
    fn date_like() -> impl Strategy<Value = String> {
        let num = prop_oneof![
            0i64..100,
            any::<i64>(),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(3_000_000_000_000_000),
        ];
        (
            proptest::collection::vec(num, 8),
            prop_oneof![Just("+"), Just("-"), Just("")],
            "[ /:0-9+-]{0,4}",
        )
            .prop_map(|(n, sign, tail)| {
                format!(
                    "{}/{}/{} {}:{}:{} {sign}{}:{}{tail}",
                    n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]
                )
            })
    }

    fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            any::<u64>().prop_map(|n| Value::from(n.to_string())),
            ".{0,40}".prop_map(Value::from),
            date_like().prop_map(Value::from),
            Just(json!(["1", 2])),
            Just(json!({"a": 1})),
        ]
    }

    /// A token body: each field absent or any value; the token a marked string.
    fn body() -> impl Strategy<Value = (Vec<u8>, String)> {
        let field = || proptest::option::of(any_value());
        (
            "tok[A-Za-z0-9._-]{4,30}",
            proptest::option::of(prop_oneof![Just(true), Just(false)]),
            field(),
            field(),
            field(),
            field(),
        )
            .prop_map(|(secret, token, expires_in, expires_on, token_type, client_id)| {
                let mut map = Map::new();
                match token {
                    Some(true) => {
                        map.insert("access_token".into(), Value::from(secret.clone()));
                    }
                    Some(false) => {
                        map.insert("access_token".into(), json!([secret.clone()]));
                    }
                    None => {}
                }
                for (key, value) in [
                    ("expires_in", expires_in),
                    ("expires_on", expires_on),
                    ("token_type", token_type),
                    ("client_id", client_id),
                ] {
                    if let Some(v) = value {
                        map.insert(key.into(), v);
                    }
                }
                (serde_json::to_vec(&map).unwrap_or_default(), secret)
            })
    }

    fn check(body: &[u8], secret: Option<&str>) -> Result<(), TestCaseError> {
        match token(body, now()) {
            Ok(parsed) => {
                prop_assert!(!parsed.token.secret().trim().is_empty());
                if let Some(secret) = secret {
                    prop_assert_eq!(parsed.token.secret(), secret);
                }
                if let Some(refresh) = parsed.token.refresh_on() {
                    prop_assert!(refresh <= parsed.token.expires_on());
                }
            }
            Err(e) => {
                let shown = format!("{} {e:?}", e.describe());
                prop_assert!(shown.len() <= 120, "{}", shown);
                if let Some(secret) = secret {
                    prop_assert!(!shown.contains(secret), "{}", shown);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        run(proptest::collection::vec(any::<u8>(), 0..512), |bytes| {
            check(&bytes, None)
        });
    }

    #[test]
    fn arbitrary_token_bodies_never_panic_or_leak() {
        run(body(), |(bytes, secret)| check(&bytes, Some(&secret)));
    }

    #[test]
    fn arbitrary_app_service_dates_never_panic() {
        run(date_like(), |date| {
            let body = json!({"access_token": "t", "expires_on": date});
            check(&serde_json::to_vec(&body).unwrap_or_default(), None)
        });
    }

    /// Found by `arbitrary_app_service_dates_never_panic`: an offset whose seconds overflow `i64`
    /// panicked (debug) or wrapped (release).
    #[test]
    fn offsets_that_overflow_are_refused() {
        for date in [
            "0/0/0 0:0:0 +2562047788015216:0",
            "06/20/2019 02:57:58 +00:153722867280912931",
            "06/20/2019 02:57:58 --2562047788015215:-8",
            "06/20/2019 02:57:58 +-9223372036854775808:00",
        ] {
            let body = json!({"access_token": "t", "expires_on": date});
            let result = token(&serde_json::to_vec(&body).unwrap_or_default(), now());
            assert_eq!(result.unwrap_err(), ParseError::Field("expires_on"), "{date}");
        }
    }

    #[test]
    fn bodies_over_the_cap_are_refused_whatever_they_hold() {
        // One buffer, cut at each drawn length: a valid body padded with spaces.
        let mut padded = br#"{"access_token":"t","expires_in":60}"#.to_vec();
        padded.resize(MAX_RESPONSE + 4096, b' ');
        assert!(
            token(&padded[..MAX_RESPONSE], now()).is_ok(),
            "at the cap it parses"
        );
        run(MAX_RESPONSE + 1..padded.len(), |len| {
            prop_assert_eq!(token(&padded[..len], now()).unwrap_err(), ParseError::TooLarge);
            Ok(())
        });
    }

    #[test]
    fn valid_expiries_parse_to_the_instant_they_name() {
        let form = prop_oneof![Just(0u8), Just(1), Just(2), Just(3)];
        run(
            (
                86_400..=MAX_DATE - 86_400,
                -(23 * 60 + 59)..=(23 * 60 + 59i64),
                form,
                "[A-Za-z0-9._-]{1,40}",
            ),
            |(epoch, offset, form, secret)| {
                let (key, value) = match form {
                    0 => ("expires_on", json!(epoch)),
                    1 => ("expires_on", json!(epoch.to_string())),
                    2 => ("expires_on", json!(app_service(epoch as i64, offset))),
                    _ => ("expires_in", json!(epoch)),
                };
                let body = json!({"access_token": secret, key: value, "token_type": "PoP"});
                let parsed = token(&serde_json::to_vec(&body).unwrap_or_default(), now())
                    .map_err(|e| TestCaseError::fail(format!("{body}: {e:?}")))?;
                let expected = if key == "expires_in" { NOW + epoch } else { epoch };
                prop_assert_eq!(
                    parsed.token.expires_on(),
                    UNIX_EPOCH + Duration::from_secs(expected)
                );
                prop_assert_eq!(parsed.token.secret(), secret.as_str());
                prop_assert_eq!(parsed.token.token_type(), "PoP");
                Ok(())
            },
        );
    }
}
