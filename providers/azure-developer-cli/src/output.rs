//! Reading the token azd prints on stdout. Pure.
//!
//! `azd auth token --output json` prints `contracts.AuthTokenResult` (azure-dev
//! `cli/azd/pkg/contracts/auth_token.go`) indented with two spaces:
//!
//! ```text
//! {
//!   "token": "<access token>",
//!   "expiresOn": "2026-11-27T16:00:00Z"
//! }
//! ```
//!
//! `expiresOn` is Go's `time.RFC3339` layout: a UTC time ends in `Z`, a local one carries its
//! offset (`2026-11-27T08:00:00-08:00`). Either way it names one instant, which is what is
//! returned; the reader's own time zone plays no part. (Python azure-identity's `parse_token`
//! reads it with `strptime(…, "%Y-%m-%dT%H:%M:%SZ").timestamp()`, i.e. as *local* time, and is off
//! by the UTC offset.)

use std::fmt;
use std::time::SystemTime;

use credchain_core::Secret;
use serde::de::{self, Deserializer, Visitor};
use zeroize::Zeroizing;

/// The token azd printed.
pub(crate) struct Printed {
    pub(crate) token: Secret,
    pub(crate) expires_on: SystemTime,
}

/// Why stdout is not a token. Never holds any of the output itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadOutput {
    NotUtf8,
    NotJson,
    NotAnObject,
    Missing(&'static str),
    NotAString(&'static str, &'static str),
    EmptyToken,
    BadTime,
}

impl fmt::Display for BadOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadOutput::NotUtf8 => f.write_str("stdout is not UTF-8"),
            BadOutput::NotJson => f.write_str("stdout is not JSON"),
            BadOutput::NotAnObject => f.write_str("stdout is not a JSON object with `token` and `expiresOn`"),
            BadOutput::Missing(field) => write!(f, "`{field}` is missing"),
            BadOutput::NotAString(field, was) => write!(f, "`{field}` is {was}, not a string"),
            BadOutput::EmptyToken => f.write_str("`token` is empty"),
            BadOutput::BadTime => f.write_str("`expiresOn` is not an RFC 3339 time with an offset"),
        }
    }
}

/// Parses azd's stdout. Other fields are ignored.
pub(crate) fn parse(stdout: &[u8]) -> Result<Printed, BadOutput> {
    let text = std::str::from_utf8(stdout).map_err(|_| BadOutput::NotUtf8)?;
    // serde would also read a struct from an array (`["token", "time"]`): only an object is azd's.
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<de::IgnoredAny>(text) {
            Ok(_) => BadOutput::NotAnObject,
            Err(_) => BadOutput::NotJson,
        });
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => BadOutput::NotAnObject,
        _ => BadOutput::NotJson,
    })?;
    let token = string_field("token", raw.token)?;
    if token.trim().is_empty() {
        return Err(BadOutput::EmptyToken);
    }
    let expires = string_field("expiresOn", raw.expires_on)?;
    let expires_on = parse_time(&expires).ok_or(BadOutput::BadTime)?;
    Ok(Printed {
        token: Secret::new(token.as_str()),
        expires_on,
    })
}

/// An RFC 3339 time (with `Z` or an offset) as the instant it names.
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    let instant: jiff::Timestamp = text.trim().parse().ok()?;
    let since_epoch = instant.duration_since(jiff::Timestamp::UNIX_EPOCH);
    match std::time::Duration::try_from(since_epoch) {
        Ok(after) => SystemTime::UNIX_EPOCH.checked_add(after),
        Err(_) => SystemTime::UNIX_EPOCH.checked_sub(std::time::Duration::try_from(-since_epoch).ok()?),
    }
}

fn string_field(name: &'static str, field: Option<Field>) -> Result<Zeroizing<String>, BadOutput> {
    match field {
        None => Err(BadOutput::Missing(name)),
        Some(Field::Text(s)) => Ok(s),
        Some(Field::Other(was)) => Err(BadOutput::NotAString(name, was)),
    }
}

#[derive(serde::Deserialize)]
struct Raw {
    #[serde(default)]
    token: Option<Field>,
    #[serde(default, rename = "expiresOn")]
    expires_on: Option<Field>,
}

/// A field's value: a string (wiped on drop) or the kind of value it was instead. Written by
/// hand so a non-string never makes serde put the value in an error message.
enum Field {
    Text(Zeroizing<String>),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::Text(Zeroizing::new(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Field, E> {
        Ok(Field::Text(Zeroizing::new(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field, E> {
        Ok(Field::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Other("null"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an array"))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn reads_azds_indented_output() {
        // 2026-11-27T16:00:00Z
        let out = b"{\n  \"token\": \"tok.en\",\n  \"expiresOn\": \"2026-11-27T16:00:00Z\"\n}\n";
        let p = parse(out).expect("token");
        assert_eq!(p.token.expose(), "tok.en");
        assert_eq!(p.expires_on, at(1_795_795_200));
    }

    #[test]
    fn an_offset_names_the_same_instant() {
        for text in [
            "2026-11-27T16:00:00Z",
            "2026-11-27T08:00:00-08:00",
            "2026-11-28T01:00:00+09:00",
            " 2026-11-27T16:00:00+00:00 ",
        ] {
            assert_eq!(parse_time(text), Some(at(1_795_795_200)), "{text}");
        }
        for bad in ["", "2026-11-27T16:00:00", "2026-11-27", "tomorrow", "1795795200"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn says_what_is_wrong_without_echoing_values() {
        let table: [(&[u8], BadOutput); 9] = [
            (b"\xff", BadOutput::NotUtf8),
            (b"not json", BadOutput::NotJson),
            (b"", BadOutput::NotJson),
            (b"null", BadOutput::NotAnObject),
            (b"[\"secret\"]", BadOutput::NotAnObject),
            (
                b"{\"expiresOn\": \"2026-11-27T16:00:00Z\"}",
                BadOutput::Missing("token"),
            ),
            (b"{\"token\": \"secret\"}", BadOutput::Missing("expiresOn")),
            (
                b"{\"token\": \"secret\", \"expiresOn\": 1795795200}",
                BadOutput::NotAString("expiresOn", "a number"),
            ),
            (
                b"{\"token\": \" \", \"expiresOn\": \"2026-11-27T16:00:00Z\"}",
                BadOutput::EmptyToken,
            ),
        ];
        for (input, expected) in table {
            let got = parse(input).err();
            assert_eq!(got, Some(expected), "{}", String::from_utf8_lossy(input));
            assert!(!expected.to_string().contains("secret"));
        }
        let bad_time = parse(b"{\"token\": \"secret\", \"expiresOn\": \"secret\"}").err();
        assert_eq!(bad_time, Some(BadOutput::BadTime));
    }
}
