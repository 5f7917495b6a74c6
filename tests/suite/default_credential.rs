//! DefaultCredential: order, developer-tool handling, AZURE_TOKEN_CREDENTIALS, options, and a full
//! flow against the fake Microsoft Entra endpoint and a fake `az`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use credchain::testing::StaticCredential;
use credchain::{AttemptOutcome, DefaultCredential, Env, ErrorKind, ProviderEntry, TokenRequestOptions};
use credchain_fake_entra::FakeEntra;

const SCOPE: &[&str] = &["https://management.azure.com/.default"];
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "0bc2a8f1-5f5e-4b8a-9a3d-5a6b0d2c3e4f";

/// A directory with a fake `az` that logs its arguments to `az.log` and prints `stdout`/`stderr`
/// with `exit`; and an empty HOME, so VS Code finds nothing.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        Machine {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn with_az(self, stdout: &str, stderr: &str, exit: i32) -> Self {
        let bin = self.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(self.dir.path().join("stdout"), stdout).unwrap();
        std::fs::write(self.dir.path().join("stderr"), stderr).unwrap();
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> '{log}'\ncat '{out}'\ncat '{err}' >&2\nexit {exit}\n",
            log = self.az_log().display(),
            out = self.dir.path().join("stdout").display(),
            err = self.dir.path().join("stderr").display(),
        );
        let az = bin.join("az");
        std::fs::write(&az, script).unwrap();
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    fn az_log(&self) -> PathBuf {
        self.dir.path().join("az.log")
    }

    fn az_calls(&self) -> usize {
        std::fs::read_to_string(self.az_log())
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn env(&self, extra: &[(&str, &str)]) -> Env {
        let path = format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display());
        let mut pairs: Vec<(String, String)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), self.home().display().to_string()),
            (
                "XDG_CONFIG_HOME".into(),
                self.home().join(".config").display().to_string(),
            ),
            // No Secret Service on this bus: the VS Code provider reports unavailable quickly.
            (
                "DBUS_SESSION_BUS_ADDRESS".into(),
                format!("unix:path={}/no-bus", self.home().display()),
            ),
        ];
        pairs.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Env::from_pairs(pairs)
    }
}

fn az_ok(token: &str) -> String {
    format!(
        r#"{{"accessToken": "{token}", "expiresOn": "2099-01-01 00:00:00.000000", "expires_on": 4070908800, "subscription": "s", "tenant": "{TENANT}", "tokenType": "Bearer"}}"#
    )
}

fn names(credential: &DefaultCredential) -> Vec<&str> {
    credential.chain().provider_names().collect()
}

#[test]
fn order_is_environment_then_vscode_then_cli() {
    let machine = Machine::new();
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .build()
        .unwrap();
    assert_eq!(
        names(&credential),
        [
            "EnvironmentCredential",
            "VisualStudioCodeCredential",
            "AzureCliCredential"
        ]
    );
    let dev_tools: Vec<bool> = credential
        .members()
        .iter()
        .map(|m| m.is_developer_tool())
        .collect();
    assert_eq!(dev_tools, [false, true, true]);
}

#[test]
fn token_credentials_selects_members() {
    let machine = Machine::new();
    let cases: &[(&str, &[&str])] = &[
        (
            "",
            &[
                "EnvironmentCredential",
                "VisualStudioCodeCredential",
                "AzureCliCredential",
            ],
        ),
        (
            "  ",
            &[
                "EnvironmentCredential",
                "VisualStudioCodeCredential",
                "AzureCliCredential",
            ],
        ),
        ("dev", &["VisualStudioCodeCredential", "AzureCliCredential"]),
        ("DeV", &["VisualStudioCodeCredential", "AzureCliCredential"]),
        (" Prod ", &["EnvironmentCredential"]),
        ("EnvironmentCredential", &["EnvironmentCredential"]),
        ("visualstudiocodecredential", &["VisualStudioCodeCredential"]),
        ("AzureCliCredential", &["AzureCliCredential"]),
    ];
    for (value, expected) in cases {
        let credential = DefaultCredential::builder()
            .env(machine.env(&[("AZURE_TOKEN_CREDENTIALS", value)]))
            .build()
            .unwrap();
        assert_eq!(names(&credential), *expected, "AZURE_TOKEN_CREDENTIALS={value:?}");
        for member in credential.members() {
            let included = expected.contains(&member.name());
            assert_eq!(member.credential().is_some(), included);
            if !included {
                assert!(
                    member
                        .excluded_because()
                        .unwrap()
                        .contains("AZURE_TOKEN_CREDENTIALS")
                );
            }
        }
    }
}

#[test]
fn invalid_or_missing_token_credentials_is_a_construction_error() {
    let machine = Machine::new();
    for bad in ["invalid", "dev,prod", "ManagedIdentityCredential"] {
        let err = DefaultCredential::builder()
            .env(machine.env(&[("AZURE_TOKEN_CREDENTIALS", bad)]))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message()
                .contains("valid values are: dev, prod, azureclicredential"),
            "{err}"
        );
    }
    let err = DefaultCredential::builder()
        .env(machine.env(&[]))
        .require_token_credentials_env(true)
        .build()
        .unwrap_err();
    assert!(
        err.message().contains("`AZURE_TOKEN_CREDENTIALS` is required"),
        "{err}"
    );
}

#[test]
fn a_token_credentials_value_that_is_not_unicode_is_a_construction_error_not_unset() {
    use std::os::unix::ffi::OsStringExt;
    let value = std::ffi::OsString::from_vec(b"prod\xff".to_vec());
    let env = Env::from_os_pairs([("AZURE_TOKEN_CREDENTIALS", value)]);
    let err = DefaultCredential::builder().env(env).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("`AZURE_TOKEN_CREDENTIALS`"), "{err}");
    assert!(err.message().contains("not valid Unicode"), "{err}");
}

#[test]
fn members_follow_the_builtin_provider_table() {
    let machine = Machine::new();
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .build()
        .unwrap();
    let table: Vec<(&str, bool)> = credchain::default::BUILTIN_PROVIDERS
        .iter()
        .map(|p| (p.name, p.developer_tool))
        .collect();
    let members: Vec<(&str, bool)> = credential
        .members()
        .iter()
        .map(|m| (m.name(), m.is_developer_tool()))
        .collect();
    assert_eq!(members, table);
    // With nothing excluded, every member is in the chain and has its credential.
    assert!(credential.members().iter().all(|m| m.credential().is_some()));
}

#[tokio::test]
async fn inserted_and_builtin_entries_share_the_chains_cache_and_tenant_policy() {
    let provider = credchain::testing::ScriptedCredential::new("Mine")
        .with_home_tenant("home")
        .always_ok("token");
    let credential = DefaultCredential::builder()
        .env(Env::empty())
        .additionally_allowed_tenants(["t1"])
        .insert(0, ProviderEntry::new(provider.clone()))
        .build()
        .unwrap();
    let t1 = TokenRequestOptions::new().with_tenant_id("t1");
    credential.get_token(SCOPE, &t1).await.unwrap();
    credential.get_token(SCOPE, &t1).await.unwrap();
    assert_eq!(provider.calls(), 1, "cached by the chain's cache");
    let t2 = TokenRequestOptions::new().with_tenant_id("t2");
    let err = credential.get_token(SCOPE, &t2).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
}

#[test]
fn explicit_exclude_options_win_over_the_variable() {
    let machine = Machine::new();
    let env = machine.env(&[("AZURE_TOKEN_CREDENTIALS", "dev")]);
    let credential = DefaultCredential::builder()
        .env(env.clone())
        .exclude_cli_credential(true)
        .build()
        .unwrap();
    assert_eq!(names(&credential), ["VisualStudioCodeCredential"]);
    let credential = DefaultCredential::builder()
        .env(env.clone())
        .exclude_environment_credential(false)
        .build()
        .unwrap();
    assert_eq!(
        names(&credential),
        [
            "EnvironmentCredential",
            "VisualStudioCodeCredential",
            "AzureCliCredential"
        ]
    );

    let only_cli = machine.env(&[("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")]);
    let err = DefaultCredential::builder()
        .env(only_cli)
        .exclude_cli_credential(true)
        .build()
        .unwrap_err();
    assert!(
        err.message().contains("at least one credential is required"),
        "{err}"
    );
}

#[test]
fn own_providers_go_where_asked() {
    let machine = Machine::new();
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .insert(1, ProviderEntry::new(StaticCredential::new("Mine", "t")))
        .push(ProviderEntry::new(StaticCredential::new("Last", "t")))
        .build()
        .unwrap();
    assert_eq!(
        names(&credential),
        [
            "EnvironmentCredential",
            "Mine",
            "VisualStudioCodeCredential",
            "AzureCliCredential",
            "Last"
        ]
    );
}

#[tokio::test]
async fn fresh_machine_every_provider_says_what_to_set_up() {
    let machine = Machine::new(); // no az on PATH, no VS Code, no variables
    let credential = DefaultCredential::builder()
        .env(Env::from_pairs([
            ("PATH", "/nonexistent"),
            ("HOME", machine.home().to_str().unwrap()),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus"),
        ]))
        .build()
        .unwrap();
    let err = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let attempts = err.attempts();
    assert_eq!(attempts.len(), 3, "{err}");
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome() == AttemptOutcome::Unavailable),
        "{err}"
    );
    assert!(attempts[0].error().message().contains("AZURE_CLIENT_ID"), "{err}");
    assert!(
        attempts[2].error().message().to_lowercase().contains("not found"),
        "{err}"
    );
}

#[tokio::test]
async fn developer_tool_failures_move_on_but_a_chosen_provider_fails_loudly() {
    let stderr = "ERROR: AADSTS700082: The refresh token has expired due to inactivity.\n";
    let machine = Machine::new().with_az("", stderr, 1);
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .build()
        .unwrap();
    let err = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "a developer tool's failure counts as unavailable: {err}"
    );
    assert_eq!(err.attempts()[2].outcome(), AttemptOutcome::FailedContinued);
    assert!(err.to_string().contains("AADSTS700082"), "{err}");

    let only = machine.env(&[("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")]);
    let credential = DefaultCredential::builder().env(only).build().unwrap();
    let err = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::AuthenticationFailed,
        "the user chose this provider: {err}"
    );
    assert_eq!(err.attempts().len(), 1);
    assert_eq!(err.attempts()[0].outcome(), AttemptOutcome::Failed);
}

#[tokio::test]
async fn the_cli_token_is_used_and_cached_and_the_selection_sticks() {
    let machine = Machine::new().with_az(&az_ok("token-from-az"), "WARNING: a warning az printed\n", 0);
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .build()
        .unwrap();
    for _ in 0..3 {
        let token = credential
            .get_token(SCOPE, &TokenRequestOptions::new())
            .await
            .unwrap();
        assert_eq!(token.secret(), "token-from-az");
    }
    assert_eq!(machine.az_calls(), 1, "one az process, then the cache");
    assert_eq!(credential.chain().selected(), Some("AzureCliCredential"));
}

#[tokio::test]
async fn a_configured_service_principal_comes_first_and_its_failure_stops_the_chain() {
    let entra = FakeEntra::builder()
        .tenant(TENANT)
        .client_secret(TENANT, CLIENT, "right-secret")
        .start()
        .await
        .unwrap();
    let machine = Machine::new().with_az(&az_ok("token-from-az"), "", 0);
    let ca = entra.ca_pem_path().to_str().unwrap().to_owned();
    let authority = entra.authority();
    let configured = |secret: &'static str| {
        machine.env(&[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", secret),
            ("AZURE_AUTHORITY_HOST", &authority),
            ("SSL_CERT_FILE", &ca),
        ])
    };

    let credential = DefaultCredential::builder()
        .env(configured("right-secret"))
        .build()
        .unwrap();
    let token = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(entra.issued_tokens(), [token.secret().to_owned()]);
    assert_eq!(machine.az_calls(), 0);

    let credential = DefaultCredential::builder()
        .env(configured("wrong-secret"))
        .build()
        .unwrap();
    let err = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert!(!err.to_string().contains("wrong-secret"), "{err}");
    assert_eq!(
        machine.az_calls(),
        0,
        "the chain stopped at the environment provider"
    );
}

/// The blocking API runs real provider work (here an `az` process) on its own runtime, from a
/// plain `#[test]` with no runtime.
#[cfg(feature = "blocking")]
#[test]
fn the_blocking_default_credential_runs_az_without_a_runtime_of_ours() {
    let machine = Machine::new().with_az(&az_ok("token-from-az"), "", 0);
    let credential = credchain::blocking::Credential::new(
        DefaultCredential::builder()
            .env(machine.env(&[]))
            .build()
            .unwrap(),
    )
    .unwrap();
    for _ in 0..2 {
        let token = credential.get_token(SCOPE, &TokenRequestOptions::new()).unwrap();
        assert_eq!(token.secret(), "token-from-az");
    }
    assert_eq!(machine.az_calls(), 1, "one az process, then the cache");
    assert_eq!(
        credential.as_async().chain().selected(),
        Some("AzureCliCredential")
    );
}
