//! One full flow of every grant, successes and failures, with TRACE logging captured: no secret
//! may appear in the logs, in any error's Display or Debug, or in Debug of the client, grants
//! and certificates.

mod common;

use common::*;
use credchain_core::{Env, Secret, TokenRequestOptions};
use credchain_entra::{AssertionFn, ClientCertificate, Grant};
use credchain_fake_entra::{FakeEntra, FakeProxy, LogCapture, TestCertificate};

#[tokio::test]
async fn no_secret_reaches_logs_errors_or_debug_output() {
    let (captured, _guard) = LogCapture::start();
    let tc = TestCertificate::generate("no-secrets");
    let cert_pw = Secret::new("cert-password-value");
    let proxy = FakeProxy::start().await.expect("proxy");
    let entra = FakeEntra::builder()
        .tenant(TENANT)
        .tenant("organizations")
        .client_secret(TENANT, APP, SECRET)
        .client_certificate(TENANT, "cert-app", tc.cert_pem())
        .refresh_token(PUBLIC_APP, REFRESH)
        .user(PUBLIC_APP, USER, PASSWORD)
        .start()
        .await
        .expect("fake");
    let proxy_url = proxy
        .url()
        .replace("http://", "http://proxyuser:proxy-pass-word@");
    let client = builder_for(&entra)
        .env(Env::from_pairs([("HTTPS_PROXY", proxy_url)]))
        .build()
        .expect("client");

    let secret = Secret::new(SECRET);
    let wrong_secret = Secret::new("wrong-client-secret-value");
    let refresh = Secret::new(REFRESH);
    let bad_refresh = Secret::new("bad-refresh-token-value");
    let password = Secret::new(PASSWORD);
    let wrong_password = Secret::new("wrong-password-value");
    let certificate = ClientCertificate::load(
        tc.encrypted_combined_pem(cert_pw.expose()).as_bytes(),
        Some(&cert_pw),
    )
    .expect("cert");
    let pfx_wrong = ClientCertificate::load(&tc.pkcs12(cert_pw.expose()), Some(&Secret::new("nope-nope")))
        .expect_err("wrong password");

    // A caller-supplied assertion (as a workload identity provider sends), valid and not.
    let audience = entra.token_url(TENANT);
    let federated = AssertionFn(|| {
        certificate
            .sign_assertion("cert-app", &audience, std::time::SystemTime::now(), false)
            .map_err(|e| credchain_core::Error::authentication_failed("Source", e))
    });
    let forged = Secret::new("eyJhbGciOiJSUzI1NiJ9.eyJmb3JnZWQiOnRydWV9.forged-signature-value");
    let grants = [
        (
            "t",
            Grant::ClientSecret {
                client_id: APP,
                secret: &secret,
            },
        ),
        (
            "t",
            Grant::ClientSecret {
                client_id: APP,
                secret: &wrong_secret,
            },
        ),
        (
            "t",
            Grant::ClientCertificate {
                client_id: "cert-app",
                certificate: &certificate,
                send_certificate_chain: true,
            },
        ),
        (
            "t",
            Grant::ClientAssertion {
                client_id: "cert-app",
                assertion: &federated,
            },
        ),
        (
            "t",
            Grant::ClientAssertion {
                client_id: "cert-app",
                assertion: &forged,
            },
        ),
        (
            "o",
            Grant::RefreshToken {
                client_id: PUBLIC_APP,
                refresh_token: &refresh,
            },
        ),
        (
            "o",
            Grant::RefreshToken {
                client_id: PUBLIC_APP,
                refresh_token: &bad_refresh,
            },
        ),
        (
            "o",
            Grant::Password {
                client_id: PUBLIC_APP,
                username: USER,
                password: &password,
            },
        ),
        (
            "o",
            Grant::Password {
                client_id: PUBLIC_APP,
                username: USER,
                password: &wrong_password,
            },
        ),
    ];
    let mut shown = vec![
        format!("{client:?}"),
        format!("{certificate:?}"),
        format!("{pfx_wrong} {pfx_wrong:?}"),
    ];
    let mut refresh_tokens = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for (tenant, grant) in &grants {
        let tenant = if *tenant == "t" { TENANT } else { "organizations" };
        shown.push(format!("{grant:?}"));
        let options = TokenRequestOptions::default().with_enable_cae(true);
        match client.request_token("P", tenant, grant, &[SCOPE], &options).await {
            Ok(r) => {
                ok += 1;
                shown.push(format!("{r:?} {:?}", r.token));
                if let Some(rt) = r.refresh_token {
                    refresh_tokens.push(rt.expose().to_owned());
                }
            }
            Err(e) => {
                failed += 1;
                shown.push(format!("{e} {e:?} {}", e.message()));
            }
        }
    }
    // Transient failures too: 500s carry an Entra body.
    entra.fail_next(10, 500, None);
    let g = Grant::ClientSecret {
        client_id: APP,
        secret: &secret,
    };
    let e = builder_for(&entra).max_retries(1).build().expect("client");
    let err = e
        .request_token("P", TENANT, &g, &[SCOPE], &TokenRequestOptions::default())
        .await;
    shown.push(format!("{err:?}"));
    assert!(err.is_err());
    assert_eq!((ok, failed), (5, 4), "{shown:#?}");
    assert!(
        proxy.connect_count() >= 1,
        "the proxy (with credentials) was used"
    );

    // Every secret the flows used or received.
    let assertions: Vec<String> = entra
        .requests()
        .iter()
        .filter_map(|r| r.form_value("client_assertion").map(str::to_owned))
        .collect();
    assert!(!assertions.is_empty());
    let mut secrets: Vec<String> = vec![
        SECRET.into(),
        "wrong-client-secret-value".into(),
        REFRESH.into(),
        "bad-refresh-token-value".into(),
        PASSWORD.into(),
        "wrong-password-value".into(),
        "cert-password-value".into(),
        "proxy-pass-word".into(),
        tc.key_pem().lines().nth(1).unwrap_or("missing").to_owned(),
    ];
    secrets.extend(entra.issued_tokens());
    secrets.extend(refresh_tokens);
    secrets.extend(assertions);
    assert!(entra.issued_tokens().len() >= 5);

    let logs = captured.contents();
    assert!(logs.contains("requesting a token"), "TRACE capture works: {logs}");
    assert!(logs.contains("deprecated"), "password grant warns: {logs}");
    for s in &secrets {
        // Also the signature part alone for JWTs, which is what a careless log would cut out.
        let needles = [s.as_str(), s.rsplit('.').next().unwrap_or(s)];
        for needle in needles.iter().filter(|n| n.len() >= 8) {
            assert!(!logs.contains(needle), "a secret leaked into the logs");
            for text in &shown {
                assert!(!text.contains(needle), "a secret leaked into {text}");
            }
        }
    }
}
