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
        && offset_seconds.abs() < 24 * 3600;
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
