//! Property tests: no environment, builder id, scope or endpoint answer (status, headers, body)
//! makes the credential panic, and no answer leaks the header secret or a token into an error.
//! Answers come from an in-process `HttpClient`, so nothing leaves the process.

use std::sync::{Arc, Mutex, PoisonError};

use credchain_core::fs::MemoryFileSystem;
use credchain_core::http::{HttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse};
use credchain_core::{Env, ProviderContext, TokenCredential, TokenRequestOptions};
use credchain_managed_identity::{FakeTimer, ManagedIdentityCredential, SourceKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

const HEADER_SECRET: &str = "header-secret-value-9f1";

/// One scripted answer: an HTTP response, or no answer of some kind.
#[derive(Debug, Clone)]
enum Answer {
    Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Nothing(u8),
}

#[derive(Debug)]
struct Replay(Mutex<Vec<Answer>>);

#[async_trait::async_trait]
impl HttpClient for Replay {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let next = {
            let mut answers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if answers.is_empty() {
                None
            } else {
                Some(answers.remove(0))
            }
        };
        match next {
            Some(Answer::Response {
                status,
                headers,
                body,
            }) => {
                let mut response = HttpResponse::new(status, body);
                response.headers = headers;
                Ok(response)
            }
            Some(Answer::Nothing(n)) => {
                let kind = [
                    HttpErrorKind::Connect,
                    HttpErrorKind::Timeout,
                    HttpErrorKind::Other,
                ][usize::from(n % 3)];
                Err(HttpError::new(kind, "scripted: no answer"))
            }
            None => Err(HttpError::new(HttpErrorKind::Connect, "script ended")),
        }
    }
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let token_json = (
        prop_oneof![Just("\"tok-secret\"".to_owned()), Just("null".to_owned()), Just("5".to_owned())],
        prop_oneof![
            Just("\"1800000000\"".to_owned()),
            Just("1800000000".to_owned()),
            Just("\"06/20/2019 02:57:58 +00:00\"".to_owned()),
            Just("\"99/99/9999 99:99:99 +99:99\"".to_owned()),
            Just("-1".to_owned()),
            Just("1e300".to_owned()),
            Just("18446744073709551615".to_owned()),
            "\"[0-9/: +-]{0,30}\"",
        ],
        prop_oneof![Just("client_id"), Just("clientid"), Just("x")],
    )
        .prop_map(|(token, expiry, id_field)| {
            format!(r#"{{"access_token":{token},"expires_on":{expiry},"expires_in":{expiry},"token_type":"Bearer","{id_field}":"c"}}"#)
                .into_bytes()
        });
    prop_oneof![
        3 => token_json,
        1 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => Just(format!(r#"{{"error":"x","error_description":"echo {HEADER_SECRET}"}}"#).into_bytes()),
        1 => Just(b"a socket operation was attempted to an unreachable network".to_vec()),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    let header = prop_oneof![
        (
            Just("Retry-After".to_owned()),
            prop_oneof![Just("0".to_owned()), Just("99999999999".to_owned()), ".{0,12}"]
        ),
        (Just("retry-after-ms".to_owned()), "[0-9]{0,25}"),
        (
            Just("WWW-Authenticate".to_owned()),
            prop_oneof![
                Just("Basic realm=/var/opt/azcmagent/tokens/a.key".to_owned()),
                Just("Basic realm=/var/opt/azcmagent/tokens/../../etc/x.key".to_owned()),
                "Basic realm=.{0,40}",
                ".{0,40}",
            ]
        ),
    ];
    prop_oneof![
        4 => (prop_oneof![Just(200u16), Just(400), Just(401), Just(403), Just(404), Just(410), Just(429), Just(500), 100u16..600], proptest::collection::vec(header, 0..3), body())
            .prop_map(|(status, headers, body)| Answer::Response { status, headers, body }),
        1 => any::<u8>().prop_map(Answer::Nothing),
    ]
}

fn env_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(String::new())),
        2 => Just(Some("http://127.0.0.1:1/token".to_owned())),
        1 => ".{0,40}".prop_map(Some),
    ]
}

#[test]
fn no_environment_or_answer_panics_or_leaks() {
    let names = [
        "IDENTITY_ENDPOINT",
        "IDENTITY_SERVER_THUMBPRINT",
        "IMDS_ENDPOINT",
        "MSI_ENDPOINT",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    ];
    let strategy = (
        proptest::collection::vec(env_value(), names.len()),
        any::<(bool, bool)>(),
        proptest::option::of(prop_oneof![Just(0u8), Just(1), Just(2)]),
        prop_oneof![
            Just(vec!["https://vault.azure.net/.default".to_owned()]),
            proptest::collection::vec(".{0,20}", 0..3)
        ],
        proptest::collection::vec(answer(), 0..8),
        any::<bool>(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(11),
        ..Config::default()
    });
    runner
        .run(
            &strategy,
            |(values, (header, secret), id, scopes, answers, probe)| {
                let mut pairs: Vec<(String, String)> = names
                    .iter()
                    .zip(values)
                    .filter_map(|(name, value)| value.map(|v| (name.to_string(), v)))
                    .collect();
                if header {
                    pairs.push(("IDENTITY_HEADER".into(), HEADER_SECRET.into()));
                }
                if secret {
                    pairs.push(("MSI_SECRET".into(), HEADER_SECRET.into()));
                }
                let fs =
                    MemoryFileSystem::new().with_file("/var/opt/azcmagent/tokens/a.key", "arc-key-secret");
                let context = ProviderContext::new()
                    .with_env(Env::from_pairs(pairs))
                    .with_fs(fs)
                    .with_http(Arc::new(Replay(Mutex::new(answers))));
                let mut builder = ManagedIdentityCredential::builder()
                    .context(context)
                    .timer(Arc::new(FakeTimer::new()))
                    .probe(probe);
                builder = match id {
                    Some(0) => builder.client_id("c"),
                    Some(1) => builder.object_id("o"),
                    Some(_) => builder.resource_id("/subscriptions/x"),
                    None => builder,
                };
                let credential = builder.build();
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let result = runtime.block_on(credential.get_token(&scopes, &TokenRequestOptions::new()));
                let shown = match &result {
                    Ok(token) => format!("{token:?} {token}"),
                    Err(e) => format!("{e} {e:?}"),
                };
                let shown = format!("{shown} {credential:?} {}", credential.describe());
                // The header secret is only known as a secret to the sources that send it.
                let sends_secret = matches!(
                    credential.describe().source,
                    Some(SourceKind::AppService | SourceKind::AzureMl | SourceKind::ServiceFabric)
                );
                let secrets = [HEADER_SECRET, "tok-secret", "arc-key-secret"];
                for secret in secrets
                    .into_iter()
                    .filter(|s| sends_secret || *s != HEADER_SECRET)
                {
                    prop_assert!(!shown.contains(secret), "{secret} in {shown}");
                }
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}
