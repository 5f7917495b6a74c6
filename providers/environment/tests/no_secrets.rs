//! TRACE-level capture through every configuration: no secret in logs, errors or Debug.
//! Its own test binary, so no other test shares tracing's global callsite cache.

mod common;

use common::*;

use credchain_core::{TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{LogCapture, TestCertificate};

#[tokio::test]
async fn no_secret_in_trace_logs_errors_or_debug() {
    let (captured, _guard) = LogCapture::start();
    let tc = TestCertificate::generate("no-secrets");
    let entra = fake(&tc).await;
    let enc = temp_file("enc.pem", tc.encrypted_combined_pem(CERT_PW).as_bytes());
    let enc = enc.to_string_lossy().into_owned();
    let configs: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_SECRET", SECRET),
        ],
        vec![
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_SECRET", "wrong-secret-value"),
        ],
        vec![
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_CERTIFICATE_PATH", &enc),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", CERT_PW),
            ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "1"),
        ],
        vec![
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_CERTIFICATE_PATH", &enc),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "wrong-cert-password"),
        ],
        vec![
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_USERNAME", USER),
            ("AZURE_PASSWORD", PASSWORD),
        ],
        vec![
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_USERNAME", USER),
            ("AZURE_PASSWORD", "wrong-user-password"),
        ],
    ];
    let mut shown = Vec::new();
    let mut ok = 0;
    for pairs in &configs {
        let cred = credential(&entra, pairs);
        shown.push(format!("{cred:?}"));
        match cred
            .get_token(&[SCOPE], &TokenRequestOptions::default().with_enable_cae(true))
            .await
        {
            Ok(t) => {
                ok += 1;
                shown.push(format!("{t:?} {t}"));
            }
            Err(e) => shown.push(format!("{e} {e:?}")),
        }
    }
    assert_eq!(ok, 3, "{shown:#?}");
    let mut secrets: Vec<String> = [
        SECRET,
        "wrong-secret-value",
        CERT_PW,
        "wrong-cert-password",
        PASSWORD,
        "wrong-user-password",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    secrets.push(tc.key_pem().lines().nth(1).unwrap_or("missing").to_owned());
    secrets.extend(entra.issued_tokens());
    secrets.extend(
        entra
            .requests()
            .iter()
            .filter_map(|r| r.form_value("client_assertion").map(str::to_owned)),
    );
    let logs = captured.contents();
    assert!(
        logs.contains("requesting a token") && logs.contains("deprecated"),
        "{logs}"
    );
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a secret leaked into the logs");
        for text in &shown {
            assert!(!text.contains(s.as_str()), "a secret leaked into {text}");
        }
    }
}
