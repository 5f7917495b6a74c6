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
/// with `exit`; an empty HOME, so VS Code finds nothing; and IMDS on a refused loopback port, so
/// the managed identity probe learns at once that this is no VM.
struct Machine {
    dir: tempfile::TempDir,
    imds: String,
}

impl Machine {
    fn new() -> Self {
        Machine {
            dir: tempfile::tempdir().unwrap(),
            imds: credchain_fake_entra::refused_url().unwrap(),
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
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST".into(), self.imds.clone()),
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

const ALL: &[&str] = &[
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzureDeveloperCliCredential",
];
const DEV: &[&str] = &[
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzureDeveloperCliCredential",
];
const PROD: &[&str] = &[
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
];

#[test]
fn order_is_environment_workload_managed_vscode_cli() {
    let machine = Machine::new();
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .build()
        .unwrap();
    assert_eq!(names(&credential), ALL);
    let dev_tools: Vec<bool> = credential
        .members()
        .iter()
        .map(|m| m.is_developer_tool())
        .collect();
    assert_eq!(dev_tools, [false, false, false, true, true, true]);
}

#[test]
fn token_credentials_selects_members() {
    let machine = Machine::new();
    let cases: &[(&str, &[&str])] = &[
        ("", ALL),
        ("  ", ALL),
        ("dev", DEV),
        ("DeV", DEV),
        (" Prod ", PROD),
        ("EnvironmentCredential", &["EnvironmentCredential"]),
        ("workloadidentitycredential", &["WorkloadIdentityCredential"]),
        ("ManagedIdentityCredential", &["ManagedIdentityCredential"]),
        ("visualstudiocodecredential", &["VisualStudioCodeCredential"]),
        ("AzureCliCredential", &["AzureCliCredential"]),
        ("azuredeveloperclicredential", &["AzureDeveloperCliCredential"]),
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
    for bad in ["invalid", "dev,prod", "AzurePowerShellCredential"] {
        let err = DefaultCredential::builder()
            .env(machine.env(&[("AZURE_TOKEN_CREDENTIALS", bad)]))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message().contains(
                "valid values are: dev, prod, azureclicredential, azuredeveloperclicredential, \
                     environmentcredential, managedidentitycredential, visualstudiocodecredential, \
                     workloadidentitycredential"
            ),
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
        .exclude_developer_cli_credential(true)
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
            "AzureCliCredential",
            "AzureDeveloperCliCredential"
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
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential",
            "VisualStudioCodeCredential",
            "AzureCliCredential",
            "AzureDeveloperCliCredential",
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
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", machine.imds.as_str()),
        ]))
        .build()
        .unwrap();
    let err = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let attempts = err.attempts();
    assert_eq!(attempts.len(), 6, "{err}");
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome() == AttemptOutcome::Unavailable),
        "{err}"
    );
    assert!(attempts[0].error().message().contains("AZURE_CLIENT_ID"), "{err}");
    assert!(
        attempts[1]
            .error()
            .message()
            .contains("AZURE_FEDERATED_TOKEN_FILE"),
        "{err}"
    );
    assert!(
        attempts[2]
            .error()
            .message()
            .contains("no response from the IMDS endpoint"),
        "{err}"
    );
    assert!(
        attempts[4].error().message().to_lowercase().contains("not found"),
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
    assert_eq!(err.attempts()[4].outcome(), AttemptOutcome::FailedContinued);
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

// ---------------------------------------------------------------------------------------------
// Managed identity and workload identity

use credchain::managed_identity::ProbeReport;
use credchain_fake_entra::{FakeManagedIdentity, MiSource};

const MI_CLIENT: &str = "5a1d7c2e-7f3b-4c4e-9a51-0c6f2b8e9d10";

fn machine_env_with(machine: &Machine, fake: &FakeManagedIdentity, extra: &[(&str, &str)]) -> Env {
    let mut pairs: Vec<(String, String)> = fake.env();
    pairs.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    machine.env(&pairs)
}

#[tokio::test]
async fn managed_identity_probes_imds_in_the_chain_but_not_when_selected_alone() {
    let machine = Machine::new().with_az(&az_ok("token-from-az"), "", 0);
    let imds = FakeManagedIdentity::builder(MiSource::Imds)
        .start()
        .await
        .unwrap();

    let credential = DefaultCredential::builder()
        .env(machine_env_with(&machine, &imds, &[]))
        .build()
        .unwrap();
    let mi = credential.managed_identity().expect("in the chain").clone();
    assert_eq!(mi.describe().probe, ProbeReport::NotYet);
    let token = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(imds.issued_tokens(), [token.secret().to_owned()]);
    assert_eq!(credential.chain().selected(), Some("ManagedIdentityCredential"));
    assert_eq!(machine.az_calls(), 0, "the chain stopped at managed identity");
    let sent: Vec<Option<String>> = imds
        .requests()
        .iter()
        .map(|r| r.headers.get("metadata").cloned())
        .collect();
    assert_eq!(
        sent,
        [None, Some("true".to_owned())],
        "a probe without `Metadata`, then the request"
    );
    assert!(
        matches!(mi.describe().probe, ProbeReport::Answered { status: 400, .. }),
        "{}",
        mi.describe()
    );

    let alone = DefaultCredential::builder()
        .env(machine_env_with(
            &machine,
            &imds,
            &[("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential")],
        ))
        .build()
        .unwrap();
    assert_eq!(
        alone.managed_identity().unwrap().describe().probe,
        ProbeReport::Off
    );
    alone.get_token(SCOPE, &TokenRequestOptions::new()).await.unwrap();
    let requests = imds.requests();
    assert_eq!(requests.len(), 3, "alone: no probe, one request");
    assert_eq!(
        requests[2].headers.get("metadata").map(String::as_str),
        Some("true")
    );
}

#[tokio::test]
async fn no_imds_answer_moves_on_at_once_and_is_remembered() {
    let machine = Machine::new().with_az(&az_ok("token-from-az"), "", 0);
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .build()
        .unwrap();
    let token = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(token.secret(), "token-from-az");
    let described = credential.managed_identity().unwrap().describe();
    assert!(
        matches!(described.probe, ProbeReport::NoAnswer { .. }),
        "{described}"
    );
    assert_eq!(
        described.endpoint.as_deref(),
        Some(format!("{}/metadata/identity/oauth2/token", machine.imds).as_str())
    );
}

#[tokio::test]
async fn azure_client_id_picks_the_user_assigned_identity_unless_the_option_says_otherwise() {
    let machine = Machine::new();
    let imds = FakeManagedIdentity::builder(MiSource::Imds)
        .user_assigned(MI_CLIENT, "obj-1", "/subscriptions/s/rg/ua1")
        .user_assigned("other-client", "obj-2", "/subscriptions/s/rg/ua2")
        .no_system_assigned()
        .start()
        .await
        .unwrap();
    let only_mi = [("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential")];
    let by_variable = DefaultCredential::builder()
        .env(machine_env_with(
            &machine,
            &imds,
            &[("AZURE_CLIENT_ID", MI_CLIENT), only_mi[0]],
        ))
        .build()
        .unwrap();
    by_variable
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap();
    let by_option = DefaultCredential::builder()
        .env(machine_env_with(
            &machine,
            &imds,
            &[("AZURE_CLIENT_ID", MI_CLIENT), only_mi[0]],
        ))
        .managed_identity_client_id("other-client")
        .build()
        .unwrap();
    by_option
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap();
    let sent: Vec<Option<String>> = imds
        .requests()
        .iter()
        .map(|r| r.query.get("client_id").cloned())
        .collect();
    assert_eq!(
        sent,
        [Some(MI_CLIENT.to_owned()), Some("other-client".to_owned())]
    );
}

#[tokio::test]
async fn azure_client_id_is_left_out_where_only_a_system_assigned_identity_exists() {
    let machine = Machine::new().with_az(&az_ok("token-from-az"), "", 0);
    let cloud_shell = FakeManagedIdentity::builder(MiSource::CloudShell)
        .start()
        .await
        .unwrap();
    // A service principal's or workload identity's client id in AZURE_CLIENT_ID does not break
    // Cloud Shell's system-assigned identity …
    let credential = DefaultCredential::builder()
        .env(machine_env_with(
            &machine,
            &cloud_shell,
            &[("AZURE_CLIENT_ID", CLIENT)],
        ))
        .build()
        .unwrap();
    let token = credential
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(cloud_shell.issued_tokens(), [token.secret().to_owned()]);
    assert_eq!(
        credential.managed_identity().unwrap().describe().user_assigned,
        None
    );
    assert!(
        cloud_shell.requests()[0].form_value("client_id").is_none(),
        "{:?}",
        cloud_shell.requests()
    );
    // … but a client id the application asked for is refused loudly, before anything is sent.
    let explicit = DefaultCredential::builder()
        .env(machine_env_with(&machine, &cloud_shell, &[]))
        .managed_identity_client_id(MI_CLIENT)
        .build()
        .unwrap();
    let err = explicit
        .get_token(SCOPE, &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string()
            .contains("supports only the system-assigned identity"),
        "{err}"
    );
    assert_eq!(cloud_shell.requests().len(), 1);
    assert_eq!(machine.az_calls(), 0, "invalid input stops the chain");
}

#[test]
fn exclude_options_cover_workload_and_managed_identity() {
    let machine = Machine::new();
    let credential = DefaultCredential::builder()
        .env(machine.env(&[]))
        .exclude_workload_identity_credential(true)
        .exclude_managed_identity_credential(true)
        .build()
        .unwrap();
    assert_eq!(
        names(&credential),
        [
            "EnvironmentCredential",
            "VisualStudioCodeCredential",
            "AzureCliCredential",
            "AzureDeveloperCliCredential"
        ]
    );
    assert!(credential.managed_identity().is_none());
    let forced = DefaultCredential::builder()
        .env(machine.env(&[("AZURE_TOKEN_CREDENTIALS", "dev")]))
        .exclude_managed_identity_credential(false)
        .build()
        .unwrap();
    assert_eq!(
        names(&forced),
        [
            "ManagedIdentityCredential",
            "VisualStudioCodeCredential",
            "AzureCliCredential",
            "AzureDeveloperCliCredential"
        ]
    );
    let err = DefaultCredential::builder()
        .env(machine.env(&[]))
        .workload_identity_tenant_id("bad tenant")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

mod workload_identity {
    use super::*;
    use std::time::{Duration, SystemTime};

    const ISSUER: &str = "https://token.actions.githubusercontent.com";
    const SUBJECT: &str = "repo:contoso/app:ref:refs/heads/main";

    #[tokio::test]
    async fn a_configured_workload_identity_comes_before_managed_identity() {
        let entra = FakeEntra::builder()
            .federated_credential(TENANT, CLIENT, ISSUER, SUBJECT)
            .start()
            .await
            .unwrap();
        let machine = Machine::new().with_az(&az_ok("token-from-az"), "", 0);
        let file = machine.home().join("federated-token");
        let expires = SystemTime::now() + Duration::from_secs(3600);
        std::fs::write(
            &file,
            credchain_fake_entra::federated_token(ISSUER, SUBJECT, expires),
        )
        .unwrap();
        let imds = FakeManagedIdentity::builder(MiSource::Imds)
            .start()
            .await
            .unwrap();
        let ca = entra.ca_pem_path().display().to_string();
        let authority = entra.authority();
        let file = file.display().to_string();
        let env = machine_env_with(
            &machine,
            &imds,
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", CLIENT),
                ("AZURE_FEDERATED_TOKEN_FILE", &file),
                ("AZURE_AUTHORITY_HOST", &authority),
                ("SSL_CERT_FILE", &ca),
            ],
        );
        let credential = DefaultCredential::builder().env(env.clone()).build().unwrap();
        let token = credential
            .get_token(SCOPE, &TokenRequestOptions::new())
            .await
            .unwrap();
        assert_eq!(entra.issued_tokens(), [token.secret().to_owned()]);
        assert_eq!(credential.chain().selected(), Some("WorkloadIdentityCredential"));
        assert!(imds.requests().is_empty(), "managed identity was not reached");

        // The workload identity option wins over AZURE_CLIENT_ID: an unknown app is refused,
        // and that failure stops the chain (it is not a developer tool).
        let other = DefaultCredential::builder()
            .env(env)
            .workload_identity_client_id("00000000-0000-0000-0000-00000000abcd")
            .build()
            .unwrap();
        let err = other
            .get_token(SCOPE, &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
        assert!(
            imds.requests().is_empty(),
            "the chain stopped at workload identity"
        );
        assert_eq!(machine.az_calls(), 0);
    }

    #[tokio::test]
    async fn selected_alone_a_missing_configuration_is_reported_naming_the_variables() {
        let machine = Machine::new();
        let credential = DefaultCredential::builder()
            .env(machine.env(&[
                ("AZURE_TOKEN_CREDENTIALS", "WorkloadIdentityCredential"),
                ("AZURE_CLIENT_ID", CLIENT),
            ]))
            .build()
            .unwrap();
        let err = credential
            .get_token(SCOPE, &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert_eq!(err.attempts().len(), 1, "{err}");
        assert!(err.to_string().contains("`AZURE_TENANT_ID`"), "{err}");
        assert!(err.to_string().contains("`AZURE_FEDERATED_TOKEN_FILE`"), "{err}");

        // A value that is set but unusable is invalid input when chosen alone.
        let invalid = DefaultCredential::builder()
            .env(machine.env(&[
                ("AZURE_TOKEN_CREDENTIALS", "WorkloadIdentityCredential"),
                ("AZURE_CLIENT_ID", CLIENT),
                ("AZURE_TENANT_ID", "not a tenant"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token"),
            ]))
            .build()
            .unwrap();
        let err = invalid
            .get_token(SCOPE, &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
}
