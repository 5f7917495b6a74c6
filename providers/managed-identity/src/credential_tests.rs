//! The credential's flow against an in-process HTTP client: retries, the probe, the Arc
//! challenge, error mapping. (End-to-end tests over loopback HTTP are in `tests/suite`.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use credchain_core::fs::MemoryFileSystem;
use credchain_core::http::{HttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse, Method};
use credchain_core::{Env, ErrorKind, FakeClock, ProviderContext, TokenCredential, TokenRequestOptions};

use crate::retry::Timer;
use crate::{FakeTimer, ManagedIdentityCredential, ManagedIdentityCredentialBuilder, ProbeReport};

const SCOPE: &str = "https://management.azure.com/.default";
const NOW: u64 = 1_800_000_000;

/// One request as the fake client saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers from a script; once it runs out, repeats the last answer.
#[derive(Debug, Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<HttpResponse, HttpErrorKind>>>,
    seen: Mutex<Vec<Seen>>,
    /// Each request takes this long on this timer's clock.
    latency: Option<(FakeTimer, Duration)>,
}

impl Scripted {
    fn new(answers: Vec<Result<HttpResponse, HttpErrorKind>>) -> Arc<Self> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into()),
            ..Scripted::default()
        })
    }

    /// Like [`new`](Self::new), but each request advances `timer` by `latency`.
    fn slow(
        answers: Vec<Result<HttpResponse, HttpErrorKind>>,
        timer: &FakeTimer,
        latency: Duration,
    ) -> Arc<Self> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into()),
            latency: Some((timer.clone(), latency)),
            ..Scripted::default()
        })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

fn copy(r: &Result<HttpResponse, HttpErrorKind>) -> Result<HttpResponse, HttpErrorKind> {
    match r {
        Ok(resp) => {
            let mut out = HttpResponse::new(resp.status, resp.body.to_vec());
            out.headers = resp.headers.clone();
            Ok(out)
        }
        Err(kind) => Err(*kind),
    }
}

#[async_trait::async_trait]
impl HttpClient for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen {
                method: request.method,
                url: request.url.clone(),
                headers: request
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), v.to_string()))
                    .collect(),
                body: request.body.to_vec(),
                timeout: request.timeout,
            });
        if let Some((timer, latency)) = &self.latency {
            timer.sleep(*latency).await;
        }
        // Let concurrent callers run, so a shared probe is really shared.
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        let answer = {
            let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
            if answers.len() > 1 {
                answers.pop_front()
            } else {
                answers.front().map(copy)
            }
        };
        match answer {
            Some(Ok(response)) => Ok(response),
            Some(Err(kind)) => Err(HttpError::new(kind, "connection refused (os error 111)")),
            None => Err(HttpError::new(HttpErrorKind::Other, "no answer scripted")),
        }
    }
}

fn ok_token(token: &str) -> Result<HttpResponse, HttpErrorKind> {
    Ok(HttpResponse::new(
        200,
        format!(r#"{{"access_token":"{token}","expires_in":"3600","token_type":"Bearer"}}"#),
    ))
}

fn status(code: u16, body: &str) -> Result<HttpResponse, HttpErrorKind> {
    Ok(HttpResponse::new(code, body.to_owned()))
}

fn builder(
    env: &[(&str, &str)],
    http: &Arc<Scripted>,
    timer: &FakeTimer,
) -> ManagedIdentityCredentialBuilder {
    let context = ProviderContext::new()
        .with_env(Env::from_pairs(env.iter().copied()))
        .with_fs(MemoryFileSystem::new())
        .with_clock(FakeClock::at_unix(NOW))
        .with_http(http.clone());
    ManagedIdentityCredential::builder()
        .context(context)
        .timer(Arc::new(timer.clone()))
}

const APP_SERVICE: &[(&str, &str)] = &[
    ("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/MSI/token/"),
    ("IDENTITY_HEADER", "app-service-header-secret"),
];

#[tokio::test]
async fn retries_5xx_with_backoff_then_succeeds() {
    let http = Scripted::new(vec![status(503, ""), status(500, ""), ok_token("tok-1")]);
    let timer = FakeTimer::new();
    let credential = builder(APP_SERVICE, &http, &timer).build();
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(token.secret(), "tok-1");
    assert_eq!(token.expires_on(), UNIX_EPOCH + Duration::from_secs(NOW + 3600));
    assert_eq!(http.seen().len(), 3);
    assert_eq!(
        timer.sleeps(),
        [Duration::from_millis(800), Duration::from_millis(1600)]
    );
}

#[tokio::test]
async fn persistent_5xx_fails_with_the_endpoint_text_and_never_a_token() {
    let http = Scripted::new(vec![status(500, r#"{"error":{"message":"backend exploded"}}"#)]);
    let timer = FakeTimer::new();
    let credential = builder(APP_SERVICE, &http, &timer).build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("answered 500: backend exploded"), "{err}");
    assert!(!err.to_string().contains("app-service-header-secret"));
    assert_eq!(http.seen().len(), 6, "the first try and 5 retries");
}

#[tokio::test]
async fn imds_410_is_retried_for_over_70_seconds() {
    let http = Scripted::new(vec![status(410, "")]);
    let timer = FakeTimer::new();
    let credential = builder(&[], &http, &timer).build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(
        timer.total_slept() >= Duration::from_secs(70),
        "{:?}",
        timer.sleeps()
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let throttled = HttpResponse::new(429, "").with_header("Retry-After", "7");
    let http = Scripted::new(vec![Ok(throttled), ok_token("t")]);
    let timer = FakeTimer::new();
    let credential = builder(APP_SERVICE, &http, &timer).build();
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(timer.sleeps(), [Duration::from_secs(7)]);
}

#[tokio::test]
async fn retries_stop_before_the_callers_deadline() {
    let http = Scripted::new(vec![status(503, "busy")]);
    let timer = FakeTimer::new();
    let credential = builder(APP_SERVICE, &http, &timer).build();
    let options = TokenRequestOptions::new().with_deadline(timer.now() + Duration::from_secs(3));
    let err = credential.get_token(&[SCOPE], &options).await.unwrap_err();
    assert!(
        timer.total_slept() < Duration::from_secs(3),
        "{:?}",
        timer.sleeps()
    );
    assert!(err.message().contains("deadline"), "{err}");
    for seen in http.seen() {
        assert!(
            seen.timeout.is_some_and(|t| t <= Duration::from_secs(3)),
            "{seen:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_attempt_leaves_no_time_to_retry_and_the_deadline_holds() {
    // Each attempt takes 4.5 s of the caller's 5 s: the 0.8 s backoff after it would end past
    // the deadline, so the call stops at once instead of sleeping into it.
    let timer = FakeTimer::new();
    let http = Scripted::slow(vec![status(503, "busy")], &timer, Duration::from_millis(4500));
    let credential = builder(APP_SERVICE, &http, &timer).build();
    let deadline = timer.now() + Duration::from_secs(5);
    let options = TokenRequestOptions::new().with_deadline(deadline);
    let err = credential.get_token(&[SCOPE], &options).await.unwrap_err();
    assert!(
        timer.now() <= deadline,
        "slept past the deadline: {:?}",
        timer.sleeps()
    );
    assert_eq!(http.seen().len(), 1);
    assert!(err.message().contains("answered 503: busy"), "{err}");
    assert!(err.message().contains("deadline is too near"), "{err}");
}

#[tokio::test]
async fn probe_without_answer_is_unavailable_and_remembered() {
    let http = Scripted::new(vec![Err(HttpErrorKind::Connect)]);
    let timer = FakeTimer::new();
    let credential = builder(&[], &http, &timer).probe(true).build();
    assert_eq!(credential.describe().probe, ProbeReport::NotYet);
    for _ in 0..3 {
        let err = credential
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(
            err.message().contains("no response from the IMDS endpoint"),
            "{err}"
        );
    }
    let seen = http.seen();
    assert_eq!(seen.len(), 1, "one probe per credential, no retries");
    assert_eq!(seen[0].header("Metadata"), None);
    assert_eq!(seen[0].timeout, Some(Duration::from_secs(1)));
    assert!(timer.sleeps().is_empty());
    assert!(matches!(
        credential.describe().probe,
        ProbeReport::NoAnswer { .. }
    ));
}

#[tokio::test]
async fn probe_answered_then_real_requests_with_retries() {
    let http = Scripted::new(vec![
        status(
            400,
            r#"{"error":"invalid_request","error_description":"Required metadata header not specified"}"#,
        ),
        status(503, ""),
        ok_token("imds-token"),
    ]);
    let timer = FakeTimer::new();
    let credential = builder(&[], &http, &timer).probe(true).build();
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(token.secret(), "imds-token");
    let seen = http.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].header("Metadata"), None);
    assert_eq!(seen[1].header("Metadata"), Some("true"));
    assert_eq!(seen[1].method, Method::Get);
    assert!(matches!(
        credential.describe().probe,
        ProbeReport::Answered { status: 400, .. }
    ));
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(http.seen().len(), 4, "no second probe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_callers_share_one_probe() {
    let http = Scripted::new(vec![Err(HttpErrorKind::Timeout)]);
    let timer = FakeTimer::new();
    let credential = Arc::new(builder(&[], &http, &timer).probe(true).build());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let credential = credential.clone();
            tokio::spawn(async move { credential.get_token(&[SCOPE], &TokenRequestOptions::new()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.expect("joined").unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    }
    assert_eq!(http.seen().len(), 1);
}

#[tokio::test]
async fn a_probe_cut_short_by_the_deadline_is_not_remembered() {
    let http = Scripted::new(vec![Err(HttpErrorKind::Timeout), status(400, ""), ok_token("t")]);
    let timer = FakeTimer::new();
    let credential = builder(&[], &http, &timer).probe(true).build();
    let soon = TokenRequestOptions::new().with_deadline(timer.now() + Duration::from_millis(100));
    let err = credential.get_token(&[SCOPE], &soon).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(credential.describe().probe, ProbeReport::NotYet);
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("probed again, then a token");
}

#[tokio::test]
async fn non_json_2xx_is_unavailable_in_a_chain_and_a_failure_alone() {
    for (probe, kind) in [
        (true, ErrorKind::Unavailable),
        (false, ErrorKind::AuthenticationFailed),
    ] {
        let http = Scripted::new(vec![status(200, "<html>captive portal</html>")]);
        let timer = FakeTimer::new();
        let credential = builder(APP_SERVICE, &http, &timer).probe(probe).build();
        let err = credential
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "probe={probe}: {err}");
    }
}

#[tokio::test]
async fn imds_400_is_unavailable_and_not_retried() {
    let http = Scripted::new(vec![status(
        400,
        r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
    )]);
    let timer = FakeTimer::new();
    let credential = builder(&[], &http, &timer).build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(http.seen().len(), 1);
}

#[tokio::test]
async fn a_token_for_another_client_id_is_refused() {
    let body = r#"{"access_token":"wrong","expires_on":"1800003600","client_id":"other-app"}"#;
    let http = Scripted::new(vec![status(200, body)]);
    let timer = FakeTimer::new();
    let credential = builder(APP_SERVICE, &http, &timer).client_id("my-app").build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(
        err.message().contains("`other-app`, not the requested `my-app`"),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong"));
    // The same id in other letter case is the same identity.
    let body = r#"{"access_token":"right","expires_on":"1800003600","client_id":"MY-APP"}"#;
    let http = Scripted::new(vec![status(200, body)]);
    let credential = builder(APP_SERVICE, &http, &timer).client_id("my-app").build();
    assert_eq!(
        credential
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .expect("ok")
            .secret(),
        "right"
    );
    assert!(http.seen()[0].url.ends_with("&client_id=my-app"));
}

#[tokio::test]
async fn an_odd_echoed_client_id_is_quoted_on_one_bounded_line() {
    let echoed = format!("other\\nFAKE LOG LINE {}", "x".repeat(10_000));
    let body = format!(r#"{{"access_token":"wrong","expires_on":"1800003600","client_id":"{echoed}"}}"#);
    let http = Scripted::new(vec![status(200, &body)]);
    let timer = FakeTimer::new();
    let credential = builder(APP_SERVICE, &http, &timer).client_id("my-app").build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("`other FAKE LOG LINE x"), "{err}");
    assert!(!err.message().contains('\n'), "{err}");
    assert!(err.message().len() < 1000, "{} bytes", err.message().len());
}

const ARC: &[(&str, &str)] = &[
    (
        "IDENTITY_ENDPOINT",
        "http://localhost:40342/metadata/identity/oauth2/token",
    ),
    ("IMDS_ENDPOINT", "http://localhost:40342"),
];

#[cfg(not(windows))]
#[tokio::test]
async fn arc_challenge_reads_the_key_and_resends() {
    let key_path = "/var/opt/azcmagent/tokens/f00d.key";
    let challenge =
        HttpResponse::new(401, "").with_header("WWW-Authenticate", format!("Basic realm={key_path}"));
    let http = Scripted::new(vec![Ok(challenge), ok_token("arc-token")]);
    let timer = FakeTimer::new();
    let fs = MemoryFileSystem::new().with_file(key_path, "arc-key-secret\n");
    let context = ProviderContext::new()
        .with_env(Env::from_pairs(ARC.iter().copied()))
        .with_fs(fs)
        .with_http(http.clone());
    let credential = ManagedIdentityCredential::builder()
        .context(context)
        .timer(Arc::new(timer.clone()))
        .build();
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(token.secret(), "arc-token");
    let seen = http.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("Authorization"), None);
    assert_eq!(seen[1].header("Authorization"), Some("Basic arc-key-secret"));
    assert_eq!(seen[1].header("Metadata"), Some("true"));
    assert!(seen[1].url.contains("api-version=2020-06-01"), "{}", seen[1].url);
    assert!(timer.sleeps().is_empty());
}

#[tokio::test]
async fn arc_challenge_outside_the_token_directory_is_refused() {
    let challenge = HttpResponse::new(401, "").with_header("WWW-Authenticate", "Basic realm=/etc/shadow");
    let http = Scripted::new(vec![Ok(challenge), ok_token("never")]);
    let timer = FakeTimer::new();
    let credential = builder(ARC, &http, &timer).build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("refusing to read it"), "{err}");
    assert_eq!(http.seen().len(), 1);
}

#[tokio::test]
async fn cloud_shell_posts_the_resource_form() {
    let http = Scripted::new(vec![ok_token("shell")]);
    let timer = FakeTimer::new();
    let credential = builder(
        &[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")],
        &http,
        &timer,
    )
    .build();
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    let seen = &http.seen()[0];
    assert_eq!(seen.method, Method::Post);
    assert_eq!(seen.body, b"resource=https%3A%2F%2Fmanagement.azure.com");
}

#[tokio::test]
async fn configuration_errors() {
    let http = Scripted::new(vec![ok_token("t")]);
    let timer = FakeTimer::new();
    let cases: Vec<(ManagedIdentityCredential, Vec<&str>, ErrorKind, &str)> = vec![
        (
            builder(APP_SERVICE, &http, &timer).build(),
            vec![SCOPE, "b/.default"],
            ErrorKind::InvalidInput,
            "exactly one scope",
        ),
        (
            builder(APP_SERVICE, &http, &timer)
                .client_id("a")
                .object_id("b")
                .build(),
            vec![SCOPE],
            ErrorKind::InvalidInput,
            "at most one",
        ),
        (
            builder(
                &[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")],
                &http,
                &timer,
            )
            .client_id("a")
            .build(),
            vec![SCOPE],
            ErrorKind::InvalidInput,
            "Cloud Shell managed identity supports only the system-assigned identity",
        ),
        (
            builder(
                &[
                    ("IDENTITY_ENDPOINT", "https://x:2377/"),
                    ("IDENTITY_HEADER", "h"),
                    ("IDENTITY_SERVER_THUMBPRINT", "AB"),
                ],
                &http,
                &timer,
            )
            .build(),
            vec![SCOPE],
            ErrorKind::Unavailable,
            "only credchain's own HTTP client does",
        ),
        (
            builder(&[("MSI_ENDPOINT", "not a url")], &http, &timer).build(),
            vec![SCOPE],
            ErrorKind::InvalidInput,
            "`MSI_ENDPOINT`",
        ),
    ];
    for (credential, scopes, kind, text) in cases {
        let err = credential
            .get_token(&scopes, &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.message().contains(text), "{err}");
        assert!(credential.describe().problem.is_some() || scopes.len() > 1);
    }
    assert!(http.seen().is_empty(), "no request for a bad configuration");
}

#[tokio::test]
async fn no_answer_alone_is_unavailable_for_imds_and_a_failure_elsewhere() {
    let timer = FakeTimer::new();
    let http = Scripted::new(vec![Err(HttpErrorKind::Connect)]);
    let err = builder(&[], &http, &timer)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(http.seen().len(), 6, "used alone: full retries");
    let http = Scripted::new(vec![Err(HttpErrorKind::Connect)]);
    let err = builder(APP_SERVICE, &http, &timer)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    let http = Scripted::new(vec![status(400, ""), Err(HttpErrorKind::Timeout)]);
    let err = builder(&[], &http, &timer)
        .probe(true)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Timeout,
        "after a successful probe, IMDS not answering stops the chain: {err}"
    );
}

#[test]
fn secrets_are_not_in_debug_or_describe() {
    let http = Scripted::new(vec![]);
    let timer = FakeTimer::new();
    let credential = builder(APP_SERVICE, &http, &timer).client_id("cid").build();
    let shown = format!(
        "{credential:?} {:?} {}",
        credential.describe(),
        credential.describe()
    );
    assert!(!shown.contains("app-service-header-secret"), "{shown}");
    assert!(
        shown.contains("App Service (from IDENTITY_ENDPOINT, IDENTITY_HEADER)"),
        "{shown}"
    );
    assert!(shown.contains("user-assigned client_id cid"), "{shown}");
}

#[test]
fn the_default_client_loads_no_tls_roots_for_http_endpoints_only() {
    let described = |pairs: &[(&str, &str)]| {
        let env = Env::from_pairs(pairs.iter().copied());
        let source = crate::source::detect(&env, &MemoryFileSystem::default()).expect("a source");
        format!(
            "{:?}",
            super::credential::default_http(&source).expect("a client")
        )
    };
    // IMDS is plain http: no root store is read (issue 11: a laptop pays only for the probe).
    assert!(described(&[]).contains("http only"), "{}", described(&[]));
    let https = described(&[
        ("IDENTITY_ENDPOINT", "https://127.0.0.1:9/msi/token"),
        ("IDENTITY_HEADER", "h"),
    ]);
    assert!(!https.contains("http only"), "{https}");
}
