//! TRACE-level capture through every source, successes and failures: no header secret, Arc key
//! or token in logs, errors or Debug. Its own test binary, so no other test shares tracing's
//! global callsite cache (see `LogCapture`).

#[path = "suite/common.rs"]
#[allow(dead_code)] // the suite uses the rest
mod common;

use common::*;

use credchain_core::fs::MemoryFileSystem;
use credchain_core::{TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeManagedIdentity, LogCapture, MiSource};
use credchain_managed_identity::FakeTimer;

#[tokio::test]
async fn no_secret_in_trace_logs_errors_or_debug() {
    let (captured, _guard) = LogCapture::start();
    let timer = FakeTimer::new();
    let mut secrets = Vec::new();
    let mut shown = Vec::new();
    let mut echoed_errors = 0;
    for source in [
        MiSource::Imds,
        MiSource::AppService,
        MiSource::AzureArc,
        MiSource::AzureMl,
        MiSource::CloudShell,
        MiSource::ServiceFabric,
    ] {
        let fake = FakeManagedIdentity::builder(source).start().await.expect("fake");
        secrets.extend(
            fake.env()
                .into_iter()
                .filter(|(k, _)| k.contains("HEADER") || k.contains("SECRET"))
                .map(|(_, v)| v),
        );
        secrets.push(fake.arc_key().to_owned());
        let fs = MemoryFileSystem::new().with_file(fake.arc_key_path(), fake.arc_key());
        let credential = builder_with(fake.env(), fs, &timer).probe(true).build();
        shown.push(format!(
            "{credential:?} {:?} {}",
            credential.describe(),
            credential.describe()
        ));
        let token = credential
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .expect("token");
        shown.push(format!("{token:?} {token}"));
        // A failing endpoint that echoes the secret header back in its error text.
        let echo = fake
            .env()
            .iter()
            .find(|(k, _)| k.contains("HEADER") || k.contains("SECRET"))
            .map(|(_, v)| v.clone());
        let echoed = format!("{{\"message\":\"bad header {}\"}}", echo.unwrap_or_default());
        fake.reply_next(403, &echoed, &[]);
        let fresh = builder_with(
            fake.env(),
            MemoryFileSystem::new().with_file(fake.arc_key_path(), fake.arc_key()),
            &timer,
        )
        .build();
        let err = fresh
            .get_token(&[SCOPE], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        echoed_errors += usize::from(err.message().contains("bad header ***"));
        shown.push(format!("{err} {err:?}"));
        secrets.extend(fake.issued_tokens());
    }
    assert_eq!(
        echoed_errors, 3,
        "App Service, Azure ML and Service Fabric echoed their secret: {shown:#?}"
    );
    let logs = captured.contents();
    assert!(
        logs.contains("managed identity source detected"),
        "capture works: {logs}"
    );
    let everything = format!("{logs}\n{}", shown.join("\n"));
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !everything.contains(secret.as_str()),
            "`{secret}` leaked:\n{everything}"
        );
    }
}
