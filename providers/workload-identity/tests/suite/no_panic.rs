//! Property tests: no token-file contents, variable values or Entra answer make
//! `WorkloadIdentityCredential` panic, and the federated token never reaches an error, even
//! when the server echoes it back. HTTP is answered in-process through the context's
//! `HttpClient` seam, so nothing leaves the machine.

use std::sync::{Arc, Mutex};

use credchain_core::fs::MemoryFileSystem;
use credchain_core::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
use credchain_core::{Env, ErrorKind, ProviderContext, TokenCredential, TokenRequestOptions};
use credchain_entra::EntraClient;
use credchain_workload_identity::{NAME, WorkloadIdentityCredential};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PATH: &str = "/var/run/secrets/azure/tokens/azure-identity-token";
const SCOPE: &str = "https://vault.azure.net/.default";

/// What the fake server answers.
#[derive(Debug, Clone)]
enum Answer {
    /// An Entra-shaped error with this code whose description echoes the assertion.
    Echo { status: u16, code: u64 },
    /// Any status and any body.
    Raw { status: u16, body: Vec<u8> },
}

#[derive(Debug)]
struct Scripted {
    answer: Answer,
    seen: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl HttpClient for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let form = String::from_utf8_lossy(&request.body).into_owned();
        self.seen.lock().expect("lock").push(form.clone());
        Ok(match &self.answer {
            Answer::Echo { status, code } => {
                let description = format!("AADSTS{code}: refused; you sent {form}");
                let body = serde_json::json!({
                    "error": "invalid_client",
                    "error_description": description,
                    "error_codes": [code],
                });
                HttpResponse::new(*status, body.to_string().into_bytes())
            }
            Answer::Raw { status, body } => HttpResponse::new(*status, body.clone()),
        })
    }
}

#[derive(Debug, Clone)]
struct Case {
    tenant: String,
    client_id: String,
    file: Vec<u8>,
    answer: Answer,
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => "[ \t]{1,3}",
        4 => "[A-Za-z0-9.-]{1,40}",
        2 => any::<String>(),
    ]
}

/// A JWT-shaped token with a random `exp` (possibly absurd), or random text, or random bytes.
fn file() -> impl Strategy<Value = Vec<u8>> {
    use base64::Engine as _;
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    prop_oneof![
        4 => (any::<i64>(), "[A-Za-z0-9]{16,32}").prop_map(move |(exp, marker)| {
            format!("eyJhbGciOiJSUzI1NiJ9.{}.{marker}", b64(format!(r#"{{"exp":{exp},"sub":"x"}}"#))).into_bytes()
        }),
        2 => "[A-Za-z0-9_-]{16,64}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        2 => (prop_oneof![Just(400u16), Just(401)], prop_oneof![Just(700024u64), Just(70021), Just(700212), Just(50027)])
            .prop_map(|(status, code)| Answer::Echo { status, code }),
        1 => (100u16..600, proptest::collection::vec(any::<u8>(), 0..256))
            .prop_map(|(status, body)| Answer::Raw { status, body }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (value(), value(), file(), answer()).prop_map(|(tenant, client_id, file, answer)| Case {
        tenant,
        client_id,
        file,
        answer,
    })
}

#[test]
fn any_file_variables_and_answer_give_an_error_or_a_token_without_panicking_or_leaking() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let echoed = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&case(), |case| {
            let http = Arc::new(Scripted {
                answer: case.answer.clone(),
                seen: Mutex::default(),
            });
            let context = ProviderContext::new()
                .with_env(Env::from_pairs([
                    ("AZURE_TENANT_ID", case.tenant.as_str()),
                    ("AZURE_CLIENT_ID", case.client_id.as_str()),
                    ("AZURE_FEDERATED_TOKEN_FILE", PATH),
                ]))
                .with_fs(MemoryFileSystem::new().with_file(PATH, &case.file))
                .with_http(http.clone());
            let client = EntraClient::builder()
                .context(&context)
                .max_retries(0)
                .build()
                .expect("client");
            let credential = WorkloadIdentityCredential::builder()
                .context(context)
                .client(client)
                .build_for_chain();
            let result = rt.block_on(credential.get_token(&[SCOPE], &TokenRequestOptions::default()));
            let requests = http.seen.lock().expect("lock").len();
            prop_assert!(requests <= 2, "at most one retry: {requests}");
            let Err(err) = result else {
                // Only a 2xx with a usable token body succeeds; the raw bodies hardly ever are.
                return Ok(());
            };
            prop_assert_eq!(err.provider(), NAME);
            if !credential.is_configured() {
                prop_assert!(matches!(
                    err.kind(),
                    ErrorKind::Unavailable | ErrorKind::AuthenticationFailed
                ));
                prop_assert_eq!(requests, 0);
            }
            if requests > 0 && matches!(case.answer, Answer::Echo { .. }) {
                echoed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            // The token never shows, in any error text (echoed or not).
            let text = String::from_utf8_lossy(&case.file);
            let token = text.trim();
            if token.len() >= 16 {
                let shown = format!("{err} {err:?}");
                prop_assert!(!shown.contains(token), "the token reached an error: {shown}");
                if let Some((_, tail)) = token.rsplit_once('.') {
                    prop_assert!(tail.len() < 16 || !shown.contains(tail), "{shown}");
                }
            }
            Ok(())
        })
        .expect("no panic, no leak");
    // The leak check above means something only if servers did echo tokens back.
    assert!(echoed.into_inner() > 0, "no case reached the echoing server");
}
