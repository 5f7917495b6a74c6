//! The chain probe's three cases over real sockets: refused, a listener that never answers, and
//! an HTTP error (IMDS is there). The silent case waits on an injected 200 ms timeout.

use std::time::Duration;

use credchain_core::fs::MemoryFileSystem;
use credchain_core::{ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeManagedIdentity, MiSource, SilentListener, refused_url};
use credchain_managed_identity::{FakeTimer, ProbeReport};

use crate::common::{SCOPE, builder, builder_with};

fn imds_at(base: &str) -> Vec<(String, String)> {
    vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(), base.to_owned())]
}

#[tokio::test]
async fn refused_port_is_unavailable_at_once_and_remembered() {
    let timer = FakeTimer::new();
    let credential = builder_with(
        imds_at(&refused_url().expect("port")),
        MemoryFileSystem::new(),
        &timer,
    )
    .probe(true)
    .build();
    for _ in 0..2 {
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
    assert!(
        matches!(credential.describe().probe, ProbeReport::NoAnswer { .. }),
        "{}",
        credential.describe()
    );
    assert!(timer.sleeps().is_empty(), "no retries after a failed probe");
}

#[tokio::test]
async fn silent_listener_times_out_into_unavailable() {
    let silent = SilentListener::start().await.expect("listener");
    let timer = FakeTimer::new();
    let credential = builder_with(imds_at(silent.base_url()), MemoryFileSystem::new(), &timer)
        .probe(true)
        .probe_timeout(Duration::from_millis(200))
        .build();
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let ProbeReport::NoAnswer { elapsed, .. } = credential.describe().probe else {
        panic!("{}", credential.describe());
    };
    assert!(elapsed >= Duration::from_millis(200));
    // Remembered: the second call does not wait again.
    let err = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn an_http_error_means_imds_is_there() {
    let fake = FakeManagedIdentity::builder(MiSource::Imds)
        .start()
        .await
        .expect("fake");
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer).probe(true).build();
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.issued_tokens(), [token.secret()]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("metadata"), None, "the probe omits Metadata");
    assert!(matches!(
        credential.describe().probe,
        ProbeReport::Answered { status: 400, .. }
    ));
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.requests().len(), 3, "probed once");
}

#[tokio::test]
async fn alone_there_is_no_probe() {
    let fake = FakeManagedIdentity::builder(MiSource::Imds)
        .start()
        .await
        .expect("fake");
    let timer = FakeTimer::new();
    let credential = builder(&fake, &timer).build();
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(credential.describe().probe, ProbeReport::Off);
}
