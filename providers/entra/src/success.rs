//! Parsing a successful token response into a [`TokenResponse`] without stray token copies.
//!
//! The body is deserialized into a typed view whose token fields borrow from the (wiped)
//! response buffer; only a token with JSON escapes is copied, into a string wiped on drop. The
//! one copy kept is the [`Secret`] inside the returned token. (serde_json decodes an escaped
//! string in its own scratch buffer, which it frees unwiped; Entra's tokens have no escapes.)

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use credchain_core::{AccessToken, Secret};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use zeroize::Zeroize as _;

/// Lifetimes at or above this get a `refresh_on` at half the lifetime when the response has no
/// `refresh_in` (azure-identity's rule, reference §3.3).
pub const HALF_LIFE_REFRESH_THRESHOLD: Duration = Duration::from_secs(7200);

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

/// Why a success response could not be used. The message never contains token values.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UnexpectedResponse(pub(crate) String);

/// Parses a successful token response, computing `expires_on` and `refresh_on` from
/// `request_time`.
pub(crate) fn parse_success(
    body: &[u8],
    request_time: SystemTime,
) -> Result<TokenResponse, UnexpectedResponse> {
    let wire: Wire<'_> = serde_json::from_slice(body).map_err(|e| {
        UnexpectedResponse(match e.classify() {
            serde_json::error::Category::Data => "the body is not a JSON object".to_owned(),
            _ => format!("the body is not JSON ({} bytes)", body.len()),
        })
    })?;
    let fields = || {
        if wire.fields.is_empty() {
            "none".to_owned()
        } else {
            let mut names = wire.fields.clone();
            names.sort();
            names.join(", ")
        }
    };
    let Some(access_token) = wire
        .access_token
        .as_ref()
        .map(Text::as_str)
        .filter(|t| !t.trim().is_empty())
    else {
        return Err(UnexpectedResponse(format!(
            "it has no `access_token` (fields: {})",
            fields()
        )));
    };
    // The numbers come from the network: a time that does not fit in `SystemTime` is an
    // unusable response, not a panic.
    let out_of_range = |field: &str| UnexpectedResponse(format!("its `{field}` is out of range"));
    let (expires_on, lifetime) = match (wire.expires_on, wire.expires_in) {
        (Some(on), expires_in) => {
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
            // Present but unusable (negative, fractional-negative, text, `null`): say so, not
            // that the field is missing.
            let present = ["expires_in", "expires_on"]
                .into_iter()
                .find(|name| wire.fields.iter().any(|f| f == name));
            return Err(UnexpectedResponse(match present {
                Some(name) => format!("its `{name}` is not a usable number of seconds"),
                None => format!(
                    "it has neither `expires_in` nor `expires_on` (fields: {})",
                    fields()
                ),
            }));
        }
    };
    let refresh_in = wire
        .refresh_in
        .map(Duration::from_secs)
        .or_else(|| (lifetime >= HALF_LIFE_REFRESH_THRESHOLD).then(|| lifetime / 2));
    let token_type = wire
        .token_type
        .as_ref()
        .map(|t| t.as_str().trim())
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
    let refresh_token = wire
        .refresh_token
        .as_ref()
        .map(Text::as_str)
        .filter(|t| !t.trim().is_empty())
        .map(Secret::new);
    Ok(TokenResponse { token, refresh_token })
}

/// A string from the body: borrowed when it had no escapes, else an owned copy wiped on drop.
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for Text<'_> {
    fn drop(&mut self) {
        if let Cow::Owned(s) = &mut self.0 {
            s.zeroize();
        }
    }
}

/// One field's value as received: text, a number of seconds, or anything else (ignored).
enum Field<'a> {
    Text(Text<'a>),
    Number(Option<u64>),
    Other,
}

impl Field<'_> {
    /// Seconds given as a JSON number or a numeric string (older endpoints and ADFS).
    fn seconds(&self) -> Option<u64> {
        match self {
            Field::Number(n) => *n,
            Field::Text(t) => t.as_str().trim().parse().ok(),
            Field::Other => None,
        }
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Text(Text(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Text(Text(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field::Text(Text(Cow::Owned(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Field::Number(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Field::Number(u64::try_from(v).ok()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // `as` saturates: a huge lifetime becomes `u64::MAX`, reported as out of range.
                Ok(Field::Number((v >= 0.0).then_some(v as u64)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

/// The fields of a token response this client reads, and the names of all fields (for messages).
#[derive(Default)]
struct Wire<'a> {
    access_token: Option<Text<'a>>,
    refresh_token: Option<Text<'a>>,
    token_type: Option<Text<'a>>,
    expires_in: Option<u64>,
    expires_on: Option<u64>,
    refresh_in: Option<u64>,
    fields: Vec<String>,
}

impl<'de> Deserialize<'de> for Wire<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WireVisitor;
        impl<'de> Visitor<'de> for WireVisitor {
            type Value = Wire<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut wire = Wire::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if wire.fields.len() < 20 {
                        wire.fields
                            .push(key.chars().filter(|c| !c.is_control()).take(40).collect());
                    }
                    let text = |field: Field<'de>| match field {
                        Field::Text(t) => Some(t),
                        _ => None,
                    };
                    match &*key {
                        "access_token" => wire.access_token = text(map.next_value()?),
                        "refresh_token" => wire.refresh_token = text(map.next_value()?),
                        "token_type" => wire.token_type = text(map.next_value()?),
                        "expires_in" => wire.expires_in = map.next_value::<Field<'de>>()?.seconds(),
                        "expires_on" => wire.expires_on = map.next_value::<Field<'de>>()?.seconds(),
                        "refresh_in" => wire.refresh_in = map.next_value::<Field<'de>>()?.seconds(),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(wire)
            }
        }
        deserializer.deserialize_map(WireVisitor)
    }
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
    fn an_unusable_expiry_is_named_not_called_missing() {
        for (body, field) in [
            (r#"{"access_token":"AT","expires_in":-3600}"#, "expires_in"),
            (r#"{"access_token":"AT","expires_in":"soon"}"#, "expires_in"),
            (r#"{"access_token":"AT","expires_on":-1}"#, "expires_on"),
            (
                r#"{"access_token":"AT","expires_in":null,"expires_on":-1}"#,
                "expires_in",
            ),
        ] {
            let err = parse_success(body.as_bytes(), at(T0)).expect_err(body);
            assert_eq!(
                err.0,
                format!("its `{field}` is not a usable number of seconds"),
                "{body}"
            );
        }
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
    fn tokens_are_borrowed_from_the_body_or_held_in_wiping_copies() {
        // No escapes: the token is borrowed from the (wiped) body, not copied.
        let body = br#"{"access_token":"AT-plain","expires_in":60}"#;
        let wire: Wire<'_> = serde_json::from_slice(body).unwrap_or_default();
        assert!(matches!(
            wire.access_token.as_ref().map(|t| &t.0),
            Some(Cow::Borrowed("AT-plain"))
        ));
        // Escapes need decoding: an owned copy, which `Text` wipes on drop.
        let body = br#"{"access_token":"AT\/escaped","expires_in":60}"#;
        let wire: Wire<'_> = serde_json::from_slice(body).unwrap_or_default();
        assert!(matches!(wire.access_token.as_ref().map(|t| &t.0), Some(Cow::Owned(s)) if s == "AT/escaped"));
        let r = parse_success(body, at(T0)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.token.secret(), "AT/escaped");
        // Non-string tokens and odd values are ignored, not errors.
        let body = br#"{"access_token":{"a":[1,2]},"expires_in":true}"#;
        let err = parse_success(body, at(T0)).expect_err("no token");
        assert_eq!(
            err.0,
            "it has no `access_token` (fields: access_token, expires_in)"
        );
    }
}

/// Property tests: no body panics the success parser, errors stay short and never hold a token,
/// and well-formed responses give the token, expiry and refresh time azure-identity would.
/// 10,000 cases each; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use crate::parse::prop::{any_value, run};
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    const T0: u64 = 1_767_225_600;

    fn request_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0)
    }

    /// Parses `body`; an error must be short and hold none of `secrets`.
    fn check(body: &[u8], secrets: &[&str]) -> Result<Option<TokenResponse>, TestCaseError> {
        match parse_success(body, request_time()) {
            Ok(response) => {
                let token = &response.token;
                prop_assert!(!token.secret().trim().is_empty());
                if let Some(refresh) = token.refresh_on() {
                    prop_assert!(refresh < token.expires_on());
                }
                let debug = format!("{response:?}");
                for secret in secrets {
                    prop_assert!(!debug.contains(secret), "{}", debug);
                }
                Ok(Some(response))
            }
            Err(UnexpectedResponse(message)) => {
                // 20 field names of at most 40 characters, and the sentence around them.
                prop_assert!(message.chars().count() <= 20 * 42 + 100, "{}", message.len());
                prop_assert!(!message.chars().any(char::is_control), "{:?}", message);
                for secret in secrets {
                    prop_assert!(!message.contains(secret), "{}", message);
                }
                Ok(None)
            }
        }
    }

    /// An unknown field, its name sometimes long or odd.
    fn extra() -> impl Strategy<Value = (String, Value)> {
        let name = prop_oneof![4 => "[a-z_]{1,6}", 1 => ".{0,50}"];
        (name, prop_oneof![3 => Just(Value::from(1)), 1 => any_value()])
    }

    /// A response body: the token fields absent or any value, plus unknown fields.
    fn body() -> impl Strategy<Value = (Vec<u8>, String, String)> {
        let field = || proptest::option::of(any_value());
        (
            "eyJ[A-Za-z0-9_-]{8,30}\\.[A-Za-z0-9_-]{8,30}",
            "rt[A-Za-z0-9._-]{8,30}",
            (any::<bool>(), any::<bool>()),
            (field(), field(), field(), field()),
            prop_oneof![
                9 => proptest::collection::vec(extra(), 0..3),
                1 => proptest::collection::vec(extra(), 19..23),
            ],
        )
            .prop_map(
                |(access, refresh, (with_access, with_refresh), (inn, on, refresh_in, kind), extra)| {
                    let mut map = Map::new();
                    for (key, value) in extra {
                        map.insert(key, value);
                    }
                    if with_access {
                        map.insert("access_token".into(), json!(access));
                    }
                    if with_refresh {
                        map.insert("refresh_token".into(), json!(refresh));
                    }
                    for (key, value) in [
                        ("expires_in", inn),
                        ("expires_on", on),
                        ("refresh_in", refresh_in),
                        ("token_type", kind),
                    ] {
                        if let Some(v) = value {
                            map.insert(key.into(), v);
                        }
                    }
                    (serde_json::to_vec(&map).unwrap_or_default(), access, refresh)
                },
            )
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        run(proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
            check(&bytes, &[]).map(drop)
        });
    }

    #[test]
    fn token_bodies_never_panic_or_show_a_token() {
        run(body(), |(bytes, access, refresh)| {
            check(&bytes, &[&access, &refresh]).map(drop)
        });
    }

    #[test]
    fn well_formed_responses_give_azure_identitys_times() {
        let seconds = prop_oneof![0u64..100_000, 0u64..10_000_000_000];
        run(
            (
                "[A-Za-z0-9._-]{1,40}",
                proptest::option::of(seconds.clone()),
                proptest::option::of(seconds.clone()),
                proptest::option::of(seconds),
                any::<bool>(),
            ),
            |(access, expires_in, expires_on, refresh_in, as_strings)| {
                let number = |n: u64| {
                    if as_strings {
                        json!(n.to_string())
                    } else {
                        json!(n)
                    }
                };
                let mut map = Map::new();
                map.insert("access_token".into(), json!(access));
                for (key, value) in [
                    ("expires_in", expires_in),
                    ("expires_on", expires_on),
                    ("refresh_in", refresh_in),
                ] {
                    if let Some(n) = value {
                        map.insert(key.into(), number(n));
                    }
                }
                let body = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
                let response = check(&body, &[])?;
                let (expires, lifetime) = match (expires_on, expires_in) {
                    (Some(on), inn) => {
                        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(on);
                        let lifetime = inn.map_or_else(
                            || at.duration_since(request_time()).unwrap_or_default(),
                            Duration::from_secs,
                        );
                        (at, lifetime)
                    }
                    (None, Some(inn)) => (
                        request_time() + Duration::from_secs(inn),
                        Duration::from_secs(inn),
                    ),
                    (None, None) => {
                        prop_assert!(response.is_none());
                        return Ok(());
                    }
                };
                let response = response.ok_or_else(|| TestCaseError::fail("a valid response was refused"))?;
                prop_assert_eq!(response.token.secret(), access.as_str());
                prop_assert_eq!(response.token.expires_on(), expires);
                let refresh_after = refresh_in
                    .map(Duration::from_secs)
                    .or_else(|| (lifetime >= HALF_LIFE_REFRESH_THRESHOLD).then(|| lifetime / 2));
                let expected = refresh_after.map(|r| request_time() + r).filter(|r| *r < expires);
                prop_assert_eq!(response.token.refresh_on(), expected);
                prop_assert!(response.refresh_token.is_none());
                Ok(())
            },
        );
    }
}
