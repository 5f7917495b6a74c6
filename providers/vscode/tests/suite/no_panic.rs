//! Property tests: no `settings.json` or `authRecord.json` content makes `build()`,
//! `get_token` or `describe()` panic, and every failure is a well-formed credchain error.
//!
//! Nothing is sent anywhere: the secret store is empty (so no refresh token is redeemed), or
//! the authority is a closed port on loopback.

use std::path::{Path, PathBuf};
use std::time::Duration;

use credchain_core::{Env, Error, ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_entra::EntraClient;
use credchain_vscode::{
    CREDENTIAL_NAME, KEYRING_SERVICE, MemorySecretStore, VSCODE_CLIENT_ID, VsCodeCredential,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const ARM: &str = "https://management.azure.com/.default";
const REFRESH_TOKEN: &str = "vscode-refresh-token-do-not-show";
const USERNAME: &str = "someone@example.com";

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
    .run(&strategy, test)
    .unwrap_or_else(|e| panic!("{e}"));
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A JSON value of any type, as text.
fn json_value() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("0".to_owned()),
        Just("-1.5e300".to_owned()),
        Just("1e999".to_owned()),
        Just("\"AzureCloud\"".to_owned()),
        Just("\"AzureChinaCloud\"".to_owned()),
        Just("\"AzureUSGovernment\"".to_owned()),
        Just("\"MyCustomCloud\"".to_owned()),
        Just("\"adfs\"".to_owned()),
        Just("\"  \"".to_owned()),
        Just("\"72f988bf-86f1-41af-91ab-2d7cd011db47\"".to_owned()),
        Just("\"contoso.onmicrosoft.com\"".to_owned()),
        any::<String>().prop_map(|s| serde_json::Value::String(s).to_string()),
        "\"[^\"\\\\]{0,20}\"",
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z.]{1,8}", inner), 0..4).prop_map(|kv| {
                let members: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
    .boxed()
}

/// `settings.json`-like text: objects with the two keys the credential reads and others, with
/// comments, trailing commas, a byte-order mark, truncation and stray characters.
fn settings_text() -> impl Strategy<Value = Vec<u8>> {
    let cloud = prop_oneof![
        Just("\"AzureCloud\"".to_owned()),
        Just("\"AzureChinaCloud\"".to_owned()),
        Just("\"AzureUSGovernment\"".to_owned()),
        Just("\" azurecloud \"".to_owned()),
    ];
    let tenant = prop_oneof![
        Just("\"72f988bf-86f1-41af-91ab-2d7cd011db47\"".to_owned()),
        Just("\"contoso.onmicrosoft.com\"".to_owned()),
        Just("\"organizations\"".to_owned()),
    ];
    let pair = prop_oneof![
        3 => cloud.prop_map(|v| ("azure.cloud".to_owned(), v)),
        3 => tenant.prop_map(|v| ("azure.tenant".to_owned(), v)),
        2 => (
            prop_oneof![Just("azure.cloud".to_owned()), Just("azure.tenant".to_owned())],
            json_value()
        ),
        2 => ("[a-zA-Z.]{0,12}", json_value()),
    ];
    let member = (pair, prop::bool::ANY)
        .prop_map(|((k, v), comment)| format!("{}\"{k}\": {v}", if comment { "// c\n" } else { "" }));
    let object = (
        prop::bool::ANY,
        prop::collection::vec(member, 0..5),
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(|(bom, members, trailing_comma, block_comment)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            if block_comment {
                text.push_str("/* settings */\n");
            }
            text.push_str("{\n");
            text.push_str(&members.join(",\n"));
            if trailing_comma && !members.is_empty() {
                text.push(',');
            }
            text.push_str("\n}\n");
            text.into_bytes()
        })
        .boxed();
    prop_oneof![
        6 => object.clone(),
        // The same, damaged: truncated or with one byte changed.
        2 => (object.clone(), any::<usize>()).prop_map(|(mut t, n)| {
            t.truncate(n % (t.len() + 1));
            t
        }),
        2 => (object, any::<usize>(), any::<u8>()).prop_map(|(mut t, i, b)| {
            let n = t.len();
            t[i % n] = b;
            t
        }),
        1 => json_value().prop_map(String::into_bytes),
        2 => prop::collection::vec(any::<u8>(), 0..512),
        1 => Just(Vec::new()),
        1 => (1usize..64).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
    ]
}

/// `authRecord.json`-like text: valid records, records with fields missing, of the wrong type
/// or with other values, and arbitrary bytes.
fn auth_record_text() -> impl Strategy<Value = Vec<u8>> {
    let field = |valid: &'static str| {
        prop_oneof![
            12 => Just(Some(format!("\"{valid}\""))),
            1 => Just(None),
            1 => json_value().prop_map(Some),
        ]
    };
    let record = (
        field("72f988bf-86f1-41af-91ab-2d7cd011db47"),
        field(VSCODE_CLIENT_ID),
        field(USERNAME),
        field("oid.tid"),
        field("https://login.microsoftonline.com/organizations"),
        prop::option::of(("[a-z]{1,8}", json_value())),
    )
        .prop_map(|(tenant, client, user, home, authority, extra)| {
            let mut members = Vec::new();
            for (name, value) in [
                ("tenantId", tenant),
                ("clientId", client),
                ("username", user),
                ("homeAccountId", home),
                ("authority", authority),
            ] {
                if let Some(v) = value {
                    members.push(format!("\"{name}\": {v}"));
                }
            }
            if let Some((k, v)) = extra {
                members.push(format!("\"{k}\": {v}"));
            }
            format!("{{{}}}", members.join(", ")).into_bytes()
        })
        .boxed();
    prop_oneof![
        6 => record.clone(),
        1 => (record, any::<usize>()).prop_map(|(mut t, n)| {
            t.truncate(n % (t.len() + 1));
            t
        }),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => json_value().prop_map(String::into_bytes),
        // Over the 10 KiB cap.
        1 => Just(format!("{{\"pad\": \"{}\"}}", "x".repeat(11 * 1024)).into_bytes()),
    ]
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn write(&self, name: &str, bytes: Option<&[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        match bytes {
            Some(b) => std::fs::write(&path, b).expect("write"),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        path
    }

    /// An environment with a home of its own and nothing else (no `AZURE_AUTHORITY_HOST`).
    fn env(&self) -> Env {
        Env::from_pairs([("HOME", self.dir.path().display().to_string())])
    }
}

/// A credchain error as every provider must make it.
fn check_error(err: &Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(err.provider(), CREDENTIAL_NAME);
    let message = err.message();
    prop_assert!(!message.is_empty());
    prop_assert!(!message.starts_with(char::is_uppercase), "{message}");
    prop_assert!(err.to_string().contains(message));
    for text in [err.to_string(), format!("{err:?}")] {
        prop_assert!(!text.contains(REFRESH_TOKEN), "the refresh token reached: {text}");
    }
    Ok(())
}

fn build(files: &Files, settings: &Path, record: &Path, store: MemorySecretStore) -> VsCodeCredential {
    VsCodeCredential::builder()
        .env(files.env())
        .settings_path(settings)
        .auth_record_path(record)
        .secret_store(store)
        .build()
        // Problems with the user's files never fail build(): they make get_token unavailable.
        .unwrap_or_else(|e| panic!("build() failed: {e}"))
}

#[test]
fn any_settings_and_auth_record_give_an_unavailable_error_without_a_stored_token() {
    let rt = rt();
    let files = Files::new();
    let case = (
        prop::option::weighted(0.9, settings_text()),
        prop::option::weighted(0.7, auth_record_text()),
    );
    run(160, case, |(settings, record)| {
        let settings_path = files.write("settings.json", settings.as_deref());
        let record_path = files.write("authRecord.json", record.as_deref());
        let credential = build(&files, &settings_path, &record_path, MemorySecretStore::new());

        let setup = credential.describe();
        prop_assert_eq!(setup.settings_found, settings.is_some());
        prop_assert_eq!(setup.auth_record_found, record.is_some());
        prop_assert!(setup.auth_record_valid <= setup.auth_record_found);
        prop_assert_eq!(setup.auth_record_username.is_some(), setup.auth_record_valid);
        prop_assert_eq!(&setup.cloud, credential.cloud());
        prop_assert!(!setup.tenant.is_empty());
        let shown = setup.to_string();
        prop_assert!(shown.contains(&setup.cloud), "{shown}");

        let err = rt
            .block_on(credential.get_token(&[ARM], &TokenRequestOptions::default()))
            .expect_err("the store is empty, so there is no token");
        check_error(&err)?;
        // Nothing was sent: every outcome is "this credential cannot be used here".
        prop_assert!(
            matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::InvalidInput),
            "{:?}: {err}",
            err.kind()
        );
        if let Some(reason) = &setup.unavailable_reason {
            prop_assert_eq!(err.message(), reason.as_str());
        } else {
            // Past the settings, the empty store is reported, and a valid sign-in record
            // names its account.
            prop_assert!(err.message().contains(KEYRING_SERVICE), "{err}");
            prop_assert_eq!(
                err.message().contains(USERNAME),
                setup.auth_record_valid && setup.auth_record_username.as_deref() == Some(USERNAME),
                "{}",
                err
            );
        }
        Ok(())
    });
}

#[test]
fn any_settings_with_a_stored_token_fail_without_showing_it() {
    // The authority is a closed loopback port, so redeeming the token fails at the connection.
    let rt = rt();
    let files = Files::new();
    run(48, settings_text(), |settings| {
        let settings_path = files.write("settings.json", Some(&settings));
        let record_path = files.write("authRecord.json", None);
        let store = MemorySecretStore::new();
        let credential = VsCodeCredential::builder()
            .env(files.env())
            .settings_path(&settings_path)
            .auth_record_path(&record_path)
            .secret_store(store.clone())
            .authority("https://127.0.0.1:9")
            .entra_client_builder(
                EntraClient::builder()
                    .max_retries(0)
                    .timeout(Duration::from_secs(5)),
            )
            .build()
            .unwrap_or_else(|e| panic!("build() failed: {e}"));
        // The token is saved under the cloud's name, whatever the settings made it.
        store.insert(KEYRING_SERVICE, credential.cloud(), REFRESH_TOKEN);
        let setup = credential.describe();
        let err = rt
            .block_on(credential.get_token(&[ARM], &TokenRequestOptions::default()))
            .expect_err("nothing listens on the authority");
        check_error(&err)?;
        match &setup.unavailable_reason {
            Some(reason) => prop_assert_eq!(err.message(), reason.as_str()),
            None if credchain_core::tenant::same_tenant(&setup.tenant, credchain_core::tenant::ADFS) => {
                prop_assert_eq!(err.kind(), ErrorKind::Unavailable)
            }
            None => prop_assert_eq!(err.kind(), ErrorKind::Transient, "{}", err),
        }
        Ok(())
    });
}

#[test]
fn deeply_nested_settings_do_not_overflow_the_stack() {
    // A damaged or hostile settings file of nothing but brackets, up to the 16 MiB read cap.
    let files = Files::new();
    for depth in [1_000usize, 100_000, 4 * 1024 * 1024] {
        let text = format!("{{\"a\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
        let settings_path = files.write("settings.json", Some(text.as_bytes()));
        let record_path = files.write("authRecord.json", None);
        let credential = build(&files, &settings_path, &record_path, MemorySecretStore::new());
        let setup = credential.describe();
        assert!(setup.settings_found);
        assert_eq!(setup.cloud, "AzureCloud", "{depth}");
    }
}
