//! Testing an application's Azure sign-in without Azure: credchain's fakes
//! (`credchain::testing`, feature `testing`) for the chain logic, and the fake Entra token
//! endpoint (`credchain-fake-entra`) for the real HTTP path.
//!
//! ```text
//! cargo run --example testing_with_fakes --features testing
//! ```
//!
//! In your crate these would be `#[tokio::test]`s; here `main` runs them and checks results.

use std::sync::Arc;

use credchain::testing::{FnCredential, ScriptedCredential, StaticCredential};
use credchain::{
    AccessToken, ChainedCredential, Env, EnvironmentCredential, Error, ErrorKind, TokenCredential,
    TokenRequestOptions,
};
use credchain_fake_entra::{FakeEntra, decode_jwt};

const SCOPE: &str = "https://management.azure.com/.default";

/// The application code under test: builds the header for an ARM request.
async fn authorization_header(credential: &dyn TokenCredential) -> Result<String, Error> {
    let token = credential
        .get_token(&[SCOPE], &TokenRequestOptions::new())
        .await?;
    Ok(format!("{} {}", token.token_type(), token.secret()))
}

/// The chain falls through an unavailable provider, and the app sees the second one's token.
async fn falls_through_unavailable_providers() -> Result<(), Error> {
    let chain = ChainedCredential::builder()
        .provider(StaticCredential::unavailable(
            "EnvironmentCredential",
            "`AZURE_CLIENT_ID` is not set",
        ))
        .provider(StaticCredential::new("AzureCliCredential", "cli-token"))
        .build()?;
    assert_eq!(authorization_header(&chain).await?, "Bearer cli-token");
    Ok(())
}

/// A refused sign-in reaches the app with every attempt listed.
async fn reports_failures_with_every_attempt() -> Result<(), Error> {
    let chain = ChainedCredential::builder()
        .provider(StaticCredential::unavailable(
            "EnvironmentCredential",
            "nothing set",
        ))
        .provider(StaticCredential::failing(
            "WorkloadIdentity",
            Error::authentication_failed("WorkloadIdentity", "AADSTS700024: client assertion expired"),
        ))
        .build()?;
    let err = authorization_header(&chain)
        .await
        .expect_err("the chain must fail");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    let tried: Vec<_> = err.attempts().iter().map(|a| a.provider()).collect();
    assert_eq!(tried, ["EnvironmentCredential", "WorkloadIdentity"]);
    assert!(err.to_string().contains("AADSTS700024"));
    Ok(())
}

/// Concurrent callers share one token fetch; a scripted provider counts the calls.
async fn concurrent_callers_share_one_fetch() -> Result<(), Error> {
    let scripted = ScriptedCredential::new("Scripted")
        .with_delay(std::time::Duration::from_millis(50))
        .always_ok("shared-token");
    let chain = Arc::new(ChainedCredential::builder().provider(scripted.clone()).build()?);
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let chain = chain.clone();
            tokio::spawn(async move { authorization_header(&*chain).await })
        })
        .collect();
    for caller in callers {
        let header = caller
            .await
            .map_err(|e| Error::transient("test", e.to_string()))??;
        assert_eq!(header, "Bearer shared-token");
    }
    assert_eq!(scripted.calls(), 1);
    Ok(())
}

/// A computed fake sees exactly what the app asked for.
async fn the_app_asks_for_the_right_scope() -> Result<(), Error> {
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let recorder = seen.clone();
    let provider = FnCredential::new("Recorder", move |request| {
        recorder.lock().push(request.scopes.clone());
        async {
            Ok(AccessToken::new(
                "t",
                std::time::SystemTime::now() + std::time::Duration::from_secs(600),
            ))
        }
    });
    authorization_header(&provider).await?;
    assert_eq!(*seen.lock(), [vec![SCOPE.to_owned()]]);
    Ok(())
}

/// The real environment provider, real HTTPS, against the fake Entra: no Azure needed.
async fn end_to_end_against_the_fake_entra() -> Result<(), Box<dyn std::error::Error>> {
    let entra = FakeEntra::builder()
        .client_secret("tenant-1", "app-1", "s3cret")
        .start()
        .await?;
    let env = Env::from_pairs([
        ("AZURE_TENANT_ID", "tenant-1".to_owned()),
        ("AZURE_CLIENT_ID", "app-1".to_owned()),
        ("AZURE_CLIENT_SECRET", "s3cret".to_owned()),
        ("AZURE_AUTHORITY_HOST", entra.authority()),
        ("SSL_CERT_FILE", entra.ca_pem_path().display().to_string()),
    ]);
    let chain = ChainedCredential::builder()
        .provider(EnvironmentCredential::builder().env(env).build())
        .build()?;
    let header = authorization_header(&chain).await?;
    let token = entra.issued_tokens().pop().ok_or("no token was issued")?;
    assert_eq!(header, format!("Bearer {token}"));
    let claims = decode_jwt(&token).ok_or("not a JWT")?.claims;
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(entra.requests()[0].form_value("client_id"), Some("app-1"));
    // A second call is a cache hit: still one request.
    authorization_header(&chain).await?;
    assert_eq!(entra.token_request_count(), 1);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    falls_through_unavailable_providers().await?;
    reports_failures_with_every_attempt().await?;
    concurrent_callers_share_one_fetch().await?;
    the_app_asks_for_the_right_scope().await?;
    end_to_end_against_the_fake_entra().await?;
    println!("all 5 checks passed");
    Ok(())
}
