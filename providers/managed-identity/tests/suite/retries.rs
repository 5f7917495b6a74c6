//! Retries and error mapping against the fake's scripted answers.

use std::time::Duration;

use credchain_core::{ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeManagedIdentity, MiSource};
use credchain_managed_identity::FakeTimer;

use crate::common::{SCOPE, builder};

#[tokio::test]
async fn retry_after_then_a_token() {
    let fake = FakeManagedIdentity::builder(MiSource::AppService)
        .start()
        .await
        .expect("fake");
    fake.fail_next(2, 503, Some(1));
    let timer = FakeTimer::new();
    let token = builder(&fake, &timer)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.issued_tokens(), [token.secret()]);
    assert_eq!(timer.sleeps(), [Duration::from_secs(1), Duration::from_secs(1)]);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn persistent_5xx_is_a_failure_with_the_endpoints_text() {
    let fake = FakeManagedIdentity::builder(MiSource::Imds)
        .start()
        .await
        .expect("fake");
    fake.fail_next(10, 500, None);
    let timer = FakeTimer::new();
    let err = builder(&fake, &timer)
        .probe(true)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::AuthenticationFailed,
        "the chain must stop: {err}"
    );
    assert!(err.message().contains("answered 500: scripted 500"), "{err}");
    // The probe (answered 500: IMDS is there), then the first try and 5 retries.
    assert_eq!(fake.requests().len(), 7);
    assert!(fake.issued_tokens().is_empty());
}

#[tokio::test]
async fn docker_desktop_403_is_unavailable() {
    let fake = FakeManagedIdentity::builder(MiSource::Imds)
        .start()
        .await
        .expect("fake");
    let body = "connecting to 169.254.169.254:80: connectex: A socket operation was attempted to an unreachable network.";
    fake.reply_next(403, body, &[]);
    let timer = FakeTimer::new();
    let err = builder(&fake, &timer)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn no_system_identity_on_imds_is_unavailable() {
    let fake = FakeManagedIdentity::builder(MiSource::Imds)
        .no_system_assigned()
        .start()
        .await
        .expect("fake");
    let timer = FakeTimer::new();
    let err = builder(&fake, &timer)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("no identity has been assigned"), "{err}");
}

#[tokio::test]
async fn a_non_json_2xx_in_a_chain_is_unavailable() {
    let fake = FakeManagedIdentity::builder(MiSource::AppService)
        .start()
        .await
        .expect("fake");
    fake.reply_next(200, "<html>proxy login</html>", &[]);
    let timer = FakeTimer::new();
    let err = builder(&fake, &timer)
        .probe(true)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let fake = FakeManagedIdentity::builder(MiSource::AppService)
        .start()
        .await
        .expect("fake");
    fake.delay_next(1, Duration::from_secs(5));
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer)
        .request_timeout(Duration::from_millis(150))
        .build();
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(
        fake.issued_tokens().last().map(String::as_str),
        Some(token.secret())
    );
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(timer.sleeps(), [Duration::from_millis(800)]);
}

#[tokio::test]
async fn an_endpoint_that_never_answers_in_time_is_a_timeout() {
    let fake = FakeManagedIdentity::builder(MiSource::AppService)
        .start()
        .await
        .expect("fake");
    fake.delay_next(6, Duration::from_secs(5));
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer)
        .request_timeout(Duration::from_millis(50))
        .build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(fake.requests().len(), 6);
}
