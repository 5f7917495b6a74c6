//! EnvironmentCredential against the fake Microsoft Entra endpoint.

use crate::common;

use common::*;

use credchain_core::{Env, ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_environment::EnvironmentCredential;
use credchain_fake_entra::{FakeEntra, TestCertificate, decode_jwt};

#[tokio::test]
async fn secret_certificate_and_user_configurations_get_tokens() {
    let tc = TestCertificate::generate("env-cert");
    let entra = fake(&tc).await;
    let pem = temp_file("cert.pem", tc.combined_pem().as_bytes());
    let enc = temp_file("enc.pem", tc.encrypted_combined_pem(CERT_PW).as_bytes());
    let pfx = temp_file("cert.pfx", &tc.pkcs12(CERT_PW));
    let (pem, enc, pfx) = (
        pem.to_string_lossy(),
        enc.to_string_lossy(),
        pfx.to_string_lossy(),
    );
    // (variables, selected kind, tenant, x5c expected)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str, bool);
    let cases: Vec<Case<'_>> = vec![
        (
            vec![
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_CLIENT_SECRET", SECRET),
            ],
            "client_secret",
            TENANT,
            false,
        ),
        (
            vec![
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_CLIENT_CERTIFICATE_PATH", &pem),
            ],
            "client_certificate",
            TENANT,
            false,
        ),
        (
            vec![
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_CLIENT_CERTIFICATE_PATH", &enc),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", CERT_PW),
            ],
            "client_certificate",
            TENANT,
            false,
        ),
        (
            vec![
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_CLIENT_CERTIFICATE_PATH", &pfx),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", CERT_PW),
                ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "True"),
            ],
            "client_certificate",
            TENANT,
            true,
        ),
        (
            vec![
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_USERNAME", USER),
                ("AZURE_PASSWORD", PASSWORD),
            ],
            "username_password",
            "organizations",
            false,
        ),
    ];
    for (pairs, kind, tenant, chain) in cases {
        let cred = credential(&entra, &pairs);
        assert_eq!(cred.kind(), Some(kind), "{cred:?}");
        assert_eq!(cred.home_tenant(), Some(tenant));
        let token = cred
            .get_token(&[SCOPE], &TokenRequestOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            entra.issued_tokens().last().map(String::as_str),
            Some(token.secret())
        );
        let req = entra.requests().pop().expect("recorded");
        assert_eq!(req.tenant(), Some(tenant));
        if let Some(assertion) = req.form_value("client_assertion") {
            let header = decode_jwt(assertion).expect("jwt").header;
            assert_eq!(header.get("x5c").is_some(), chain, "x5c only with the chain flag");
        } else {
            assert!(!chain);
        }
    }
}

#[tokio::test]
async fn requested_tenant_is_used_below_the_middleware() {
    let tc = TestCertificate::generate("x");
    let entra = FakeEntra::builder()
        .client_secret(TENANT, APP, SECRET)
        .client_secret("other-tenant", APP, SECRET)
        .client_certificate(TENANT, APP, tc.cert_pem())
        .start()
        .await
        .expect("fake");
    let cred = credential(
        &entra,
        &[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_SECRET", SECRET),
        ],
    );
    let o = TokenRequestOptions::default().with_tenant_id("other-tenant");
    cred.get_token(&[SCOPE], &o).await.expect("token");
    assert_eq!(
        entra
            .requests()
            .pop()
            .and_then(|r| r.tenant().map(str::to_owned))
            .as_deref(),
        Some("other-tenant")
    );
}

#[tokio::test]
async fn refusals_carry_entra_codes() {
    let tc = TestCertificate::generate("x");
    let entra = fake(&tc).await;
    let cred = credential(
        &entra,
        &[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_SECRET", "wrong-secret-value"),
        ],
    );
    let err = cred
        .get_token(&[SCOPE], &TokenRequestOptions::default())
        .await
        .expect_err("wrong secret");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert_eq!(err.provider(), "EnvironmentCredential");
    assert!(err.message().contains("AADSTS7000215"), "{err}");
    assert!(!err.to_string().contains("wrong-secret-value"));

    let unknown = "00000000-0000-0000-0000-00000000dead";
    let cred = credential(
        &entra,
        &[
            ("AZURE_TENANT_ID", unknown),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_SECRET", SECRET),
        ],
    );
    let err = cred
        .get_token(&[SCOPE], &TokenRequestOptions::default())
        .await
        .expect_err("unknown tenant");
    assert!(err.message().contains("AADSTS90002"), "{err}");
}

#[tokio::test]
async fn configuration_errors_stop_the_chain_and_name_the_problem() {
    let tc = TestCertificate::generate("x");
    let other = TestCertificate::generate("y");
    let entra = fake(&tc).await;
    let enc = temp_file("enc.pem", tc.encrypted_combined_pem(CERT_PW).as_bytes());
    let mismatch = temp_file(
        "mismatch.pem",
        format!("{}{}", tc.key_pem(), other.cert_pem()).as_bytes(),
    );
    // An encrypted key asking for 2,000,000,000 PBKDF2 iterations (issue 14.13): refused
    // before deriving, where it used to burn CPU for hours.
    const COSTLY_KEY: &str = "MH0wWQYJKoZIhvcNAQUNMEwwKwYJKoZIhvcNAQUMMB4ECAcHBwcHBwcHAgR3NZQAMAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBAJCQkJCQkJCQkJCQkJCQkJBCBVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVQ==";
    let costly = temp_file(
        "costly.pem",
        format!(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{COSTLY_KEY}\n-----END ENCRYPTED PRIVATE KEY-----\n{}",
            tc.cert_pem()
        )
        .as_bytes(),
    );
    let (enc, mismatch, costly) = (
        enc.to_string_lossy().into_owned(),
        mismatch.to_string_lossy().into_owned(),
        costly.to_string_lossy().into_owned(),
    );
    let base = [("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_ID", APP)];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("AZURE_CLIENT_CERTIFICATE_PATH", "/nonexistent/credchain/cert.pem")],
            "cannot read the certificate file `/nonexistent/credchain/cert.pem` named by `AZURE_CLIENT_CERTIFICATE_PATH`",
        ),
        (
            vec![
                ("AZURE_CLIENT_CERTIFICATE_PATH", &enc),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "wrong-cert-password"),
            ],
            "check `AZURE_CLIENT_CERTIFICATE_PASSWORD`",
        ),
        (
            vec![("AZURE_CLIENT_CERTIFICATE_PATH", &enc)],
            "encrypted but no password",
        ),
        (
            vec![("AZURE_CLIENT_CERTIFICATE_PATH", &mismatch)],
            "does not match the certificate",
        ),
        (
            vec![
                ("AZURE_CLIENT_CERTIFICATE_PATH", &costly),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "wrong-cert-password"),
            ],
            "asks for 2000000000 key-derivation iterations",
        ),
        (
            vec![
                ("AZURE_CLIENT_CERTIFICATE_PATH", &enc),
                ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "perhaps"),
            ],
            "`AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` must be",
        ),
    ];
    for (extra, expected) in cases {
        let mut pairs = base.to_vec();
        pairs.extend(extra);
        let cred = credential(&entra, &pairs);
        let err = cred
            .get_token(&[SCOPE], &TokenRequestOptions::default())
            .await
            .expect_err(expected);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.message().contains(expected), "{err}");
        assert!(!err.to_string().contains("wrong-cert-password") && !err.to_string().contains(CERT_PW));
    }
    let cred = credential(
        &entra,
        &[
            ("AZURE_TENANT_ID", "bad tenant"),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_SECRET", SECRET),
        ],
    );
    let err = cred
        .get_token(&[SCOPE], &TokenRequestOptions::default())
        .await
        .expect_err("bad tenant");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message()
            .starts_with("`AZURE_TENANT_ID` is not a valid tenant ID"),
        "{err}"
    );
    // The default client reads AZURE_AUTHORITY_HOST: a bad one stops the chain only when configured.
    // Issue 14.14: it is invalid configuration (nothing is sent), so the kind is InvalidInput,
    // like the message, which names the variable and says it is invalid (it was
    // AuthenticationFailed, "the provider tried and was refused").
    let env = Env::from_pairs([
        ("AZURE_AUTHORITY_HOST", "http://insecure"),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", APP),
        ("AZURE_CLIENT_SECRET", SECRET),
    ]);
    let err = EnvironmentCredential::builder()
        .env(env)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::default())
        .await
        .expect_err("http");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().starts_with("`AZURE_AUTHORITY_HOST` is invalid: "),
        "{err}"
    );
    assert!(!err.message().contains("failed"), "{err}");
    let env = Env::from_pairs([("AZURE_AUTHORITY_HOST", "http://insecure")]);
    let err = EnvironmentCredential::builder()
        .env(env)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::default())
        .await
        .expect_err("unconfigured");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(
        entra.token_request_count(),
        0,
        "nothing was sent for broken configurations"
    );
}

#[tokio::test]
async fn incomplete_configurations_are_unavailable() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![],
            "no service principal or user is configured in the environment; set `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and `AZURE_CLIENT_SECRET`",
        ),
        (
            vec![("AZURE_CLIENT_ID", APP), ("AZURE_TENANT_ID", TENANT)],
            "set `AZURE_CLIENT_SECRET` (or `AZURE_CLIENT_CERTIFICATE_PATH`, or `AZURE_USERNAME` and `AZURE_PASSWORD`)",
        ),
        (
            vec![
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_SECRET", "  "),
            ],
            "`AZURE_CLIENT_SECRET` is set but empty",
        ),
        (
            vec![("AZURE_CLIENT_ID", APP), ("AZURE_USERNAME", USER)],
            "set `AZURE_PASSWORD`",
        ),
    ];
    for (pairs, expected) in cases {
        let env = Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let cred = EnvironmentCredential::builder().env(env).build();
        assert_eq!(cred.kind(), None);
        let err = cred
            .get_token(&[SCOPE], &TokenRequestOptions::default())
            .await
            .expect_err(expected);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.message().contains(expected), "{err}");
    }
}

/// Intended difference: an `AZURE_AUTHORITY_HOST` of `name:port` without a scheme is taken as
/// `https://name:port`. azure-identity 1.27's `normalize_authority` (`_internal/utils.py`)
/// runs `urlparse`, which on Python 3.9+ reads `localhost` in `localhost:8443` as the scheme, and
/// then refuses it as "not a TLS protected (https) URL".
#[tokio::test]
async fn a_host_and_port_authority_without_a_scheme_means_https() {
    let tc = TestCertificate::generate("x");
    let entra = fake(&tc).await;
    let port = entra
        .authority()
        .rsplit(':')
        .next()
        .map(str::to_owned)
        .expect("port");
    let host = format!("localhost:{port}");
    let ca = entra.ca_pem_path().to_string_lossy().into_owned();
    let env = Env::from_pairs([
        ("AZURE_AUTHORITY_HOST", host.as_str()),
        ("SSL_CERT_FILE", ca.as_str()),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", APP),
        ("AZURE_CLIENT_SECRET", SECRET),
    ]);
    EnvironmentCredential::builder()
        .env(env)
        .build()
        .get_token(&[SCOPE], &TokenRequestOptions::default())
        .await
        .expect("token from https://localhost:PORT");
    assert_eq!(entra.token_request_count(), 1);
}
