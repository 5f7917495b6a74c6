//! Property tests: no stdout, stderr or exit status from `az` makes `get_token` panic, a token
//! comes back exactly when the output is a usable one, and the access token never reaches an
//! error's `Display` or `Debug`.
//!
//! The parsers are private, so each case runs a fake `az` (a shell script replaying generated
//! bytes); the case counts are kept small because every case spawns a process.
#![cfg(unix)]

use crate::common;

use std::time::{Duration, SystemTime};

use common::{FakeAz, TOOLS_PATH};
use credchain_azure_cli::{AzureCliCredential, NAME};
use credchain_core::{Env, ErrorKind, TokenCredential, TokenRequestOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const ARM: &str = "https://management.azure.com/.default";

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
    .run(&strategy, test)
    .unwrap_or_else(|e| panic!("{e}"));
}

/// An access token and whether the credential must keep it out of every message wherever it
/// appears in az's output: JWTs (what Entra issues) are recognisable anywhere. Other tokens are
/// only recognisable under their field name.
#[derive(Clone, Debug)]
struct Token {
    value: String,
    recognisable: bool,
}

fn token() -> impl Strategy<Value = Token> {
    prop_oneof![
        3 => "eyJ[A-Za-z0-9_-]{4,20}\\.[A-Za-z0-9_-]{4,40}\\.[A-Za-z0-9_-]{4,40}"
            .prop_map(|value| Token { value, recognisable: true }),
        2 => "tok[A-Za-z0-9._~+/=-]{8,40}".prop_map(|value| Token { value, recognisable: false }),
        1 => any::<String>().prop_map(|value| Token { value, recognisable: false }),
        1 => "[ \t]{0,3}".prop_map(|value| Token { value, recognisable: false }),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        Just(json!([1, "a"])),
        Just(json!({"a": {}})),
    ]
}

/// `expires_on`: usable epoch seconds (as a number or a string), or anything else.
fn expires_on() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => (1u64..10_000_000_000).prop_map(|s| Some(Value::from(s))),
        1 => (1u64..10_000_000_000).prop_map(|s| Some(Value::from(s.to_string()))),
        1 => Just(None),
        2 => any_json().prop_map(Some),
        1 => Just(Some(Value::from(u64::MAX))),
        1 => Just(Some(Value::from("99999999999999999999"))),
    ]
}

/// `expiresOn`: local times, valid or not.
fn expires_on_local() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        2 => "(19|20|99)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|2[0-8]) [0-2][0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{6}"
            .prop_map(|s| Some(Value::from(s))),
        1 => "[0-9 :.-]{0,30}".prop_map(|s| Some(Value::from(s))),
        1 => any_json().prop_map(Some),
    ]
}

/// Damage to the printed JSON.
#[derive(Clone, Debug)]
enum Damage {
    None,
    Truncate(usize),
    Set(usize, u8),
    Wrap(&'static str, &'static str),
}

#[derive(Clone, Debug)]
struct Output {
    token: Token,
    token_field: bool,
    expires_on: Option<Value>,
    expires_on_local: Option<Value>,
    token_type: Option<Value>,
    extra: Vec<(String, Value)>,
    damage: Damage,
}

impl Output {
    fn json(&self) -> String {
        let mut map = Map::new();
        if self.token_field {
            map.insert("accessToken".into(), Value::from(self.token.value.clone()));
        }
        if let Some(v) = &self.expires_on {
            map.insert("expires_on".into(), v.clone());
        }
        if let Some(v) = &self.expires_on_local {
            map.insert("expiresOn".into(), v.clone());
        }
        if let Some(v) = &self.token_type {
            map.insert("tokenType".into(), v.clone());
        }
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        // az's layout: pretty-printed with two spaces.
        serde_json::to_string_pretty(&Value::Object(map)).unwrap_or_default()
    }

    fn stdout(&self) -> Vec<u8> {
        let mut bytes = self.json().into_bytes();
        match self.damage {
            Damage::None => {}
            Damage::Truncate(n) => bytes.truncate(n % (bytes.len() + 1)),
            Damage::Set(i, b) => {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            Damage::Wrap(before, after) => {
                bytes.splice(0..0, before.bytes());
                bytes.extend_from_slice(after.as_bytes());
            }
        }
        bytes
    }

    /// Epoch seconds when the output must give a token (exit status 0 assumed).
    fn usable_expiry(&self) -> Option<u64> {
        if !matches!(self.damage, Damage::None) || !self.token_field || self.token.value.trim().is_empty() {
            return None;
        }
        let secs = match &self.expires_on {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        // Far-future values may not fit a `SystemTime` and are refused; these all do.
        secs.filter(|s| *s < 10_000_000_000)
    }
}

fn output() -> impl Strategy<Value = Output> {
    let damage = prop_oneof![
        6 => Just(Damage::None),
        1 => any::<usize>().prop_map(Damage::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        1 => prop_oneof![
            Just(("\u{feff}", "\n")),
            Just(("[", "]")),
            Just(("", "{}")),
            Just(("null", "")),
            Just(("WARNING: x\n", "")),
        ]
        .prop_map(|(b, a)| Damage::Wrap(b, a)),
    ];
    (
        token(),
        prop::bool::weighted(0.9),
        expires_on(),
        expires_on_local(),
        prop::option::of(prop_oneof![Just(Value::from("Bearer")), any_json()]),
        prop::collection::vec(("x_[a-z]{1,8}", any_json()), 0..3),
        damage,
    )
        .prop_map(
            |(token, token_field, expires_on, expires_on_local, token_type, extra, damage)| Output {
                token,
                token_field,
                expires_on,
                expires_on_local,
                token_type,
                extra,
                damage,
            },
        )
}

/// What az prints on stderr: its real kinds of message, noise, and sometimes the token itself in
/// a recognisable form.
fn stderr(token: &Token) -> impl Strategy<Value = Vec<u8>> + use<> {
    let jwt = if token.recognisable {
        token.value.clone()
    } else {
        String::new()
    };
    prop_oneof![
        Just(String::new()),
        Just("WARNING: A new version of Azure CLI is available.\n".to_owned()),
        Just("ERROR: Please run 'az login' to setup account.\n".to_owned()),
        Just(
            "ERROR: AADSTS700082: The refresh token has expired due to inactivity. \
             Please run 'az login'.\nTrace ID: 1\n"
                .to_owned()
        ),
        Just("'az' is not recognized as an internal or external command\n".to_owned()),
        Just(format!(
            "ERROR: The command failed with an unexpected error. Here is the traceback:\n\
             Traceback (most recent call last):\n  File \"x.py\"\nValueError: {jwt}\n"
        )),
        Just(format!("ERROR: request failed: Authorization: Bearer {jwt}\n")),
        Just(format!("ERROR: {jwt}\n")),
        "(ERROR|WARNING|[a-z]{0,5}):? \\PC{0,80}\n",
    ]
    .prop_map(String::into_bytes)
}

fn status() -> impl Strategy<Value = i32> {
    prop_oneof![5 => Just(0), 2 => Just(1), 1 => Just(2), 1 => Just(127), 1 => Just(255)]
}

fn case() -> impl Strategy<Value = (Output, Vec<u8>, i32)> {
    (output(), status()).prop_flat_map(|(out, rc)| {
        let err = stderr(&out.token);
        (Just(out), err, Just(rc))
    })
}

/// Runs a fake az that prints `stdout` and `stderr` and exits with `rc`.
fn get_token(
    rt: &tokio::runtime::Runtime,
    stdout: &[u8],
    stderr: &[u8],
    rc: i32,
) -> Result<credchain_core::AccessToken, credchain_core::Error> {
    let fake = FakeAz::new("cat \"$d/out\"\ncat \"$d/err\" >&2\nexit \"$(cat \"$d/rc\")\"");
    std::fs::write(fake.dir().join("out"), stdout).expect("write stdout");
    std::fs::write(fake.dir().join("err"), stderr).expect("write stderr");
    std::fs::write(fake.dir().join("rc"), rc.to_string()).expect("write rc");
    let credential = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(Env::from_pairs([("PATH", TOOLS_PATH), ("TZ", "UTC")]))
        .build()
        .expect("valid options");
    rt.block_on(credential.get_token(&[ARM], &TokenRequestOptions::new()))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn any_az_output_gives_the_token_or_an_error_that_hides_it() {
    let rt = rt();
    run(128, case(), |(out, stderr, rc)| {
        let stdout = out.stdout();
        match get_token(&rt, &stdout, &stderr, rc) {
            Ok(token) => {
                prop_assert_eq!(rc, 0, "a failed run gave a token");
                if matches!(out.damage, Damage::None) {
                    prop_assert_eq!(token.secret(), out.token.value.as_str());
                }
                if let Some(secs) = out.usable_expiry() {
                    prop_assert_eq!(
                        token.expires_on(),
                        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
                    );
                }
            }
            Err(err) => {
                prop_assert!(
                    rc != 0 || out.usable_expiry().is_none(),
                    "usable output was refused: {err}\n{}",
                    String::from_utf8_lossy(&stdout)
                );
                prop_assert_eq!(err.provider(), NAME);
                prop_assert!(!err.message().is_empty());
                // Lowercase start, except for a name ("Azure CLI not found …").
                prop_assert!(
                    !err.message().starts_with(char::is_uppercase) || err.message().starts_with("Azure CLI"),
                    "{err}"
                );
                if rc == 127 {
                    prop_assert_eq!(err.kind(), ErrorKind::Unavailable, "{}", err);
                }
                if rc == 0 {
                    prop_assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{}", err);
                    prop_assert!(err.message().contains("unexpected output"), "{err}");
                }
                // The token never shows: a JWT nowhere, any other token not when az printed
                // it under its field name.
                let printed_under_field = String::from_utf8_lossy(&stdout).contains(&format!(
                    "\"accessToken\": {}",
                    Value::from(out.token.value.clone())
                ));
                let hidden =
                    out.token.value.chars().count() >= 8 && (out.token.recognisable || printed_under_field);
                if hidden {
                    for text in [err.to_string(), format!("{err:?}")] {
                        prop_assert!(!text.contains(&out.token.value), "token leaked: {text}");
                    }
                }
            }
        }
        Ok(())
    });
}

#[test]
fn arbitrary_bytes_from_az_never_panic() {
    let rt = rt();
    let bytes = || {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..2048),
            "\\PC{0,300}".prop_map(String::into_bytes),
        ]
    };
    run(32, (bytes(), bytes(), status()), |(stdout, stderr, rc)| {
        let err = get_token(&rt, &stdout, &stderr, rc).expect_err("no token in random bytes");
        prop_assert_eq!(err.provider(), NAME);
        prop_assert!(!err.message().is_empty());
        // Messages stay short however much az printed.
        prop_assert!(err.message().chars().count() <= 2_000, "{err}");
        Ok(())
    });
}
