//! `credchain doctor`: tries every provider of the default chain and gathers what it found.
//!
//! Unlike the chain, which stops at the first token, doctor asks every member (concurrently, each
//! under a time limit) so the report shows everything that works and everything that does not.
//! It builds a [`Report`] (plain data); [`table`](super::table) and [`json`](super::json) render it.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credchain::azure_cli::DEFAULT_PROCESS_TIMEOUT;
use credchain::default::{Member, TOKEN_CREDENTIALS_VAR};
use credchain::{
    AzureCliCredential, DefaultCredential, EnvironmentCredential, Error, TokenRequestOptions,
    VsCodeCredential, validate,
};
use parking_lot::Mutex;

use super::args::{DoctorArgs, DoctorOutput};
use super::claims;
use super::progress::Progress;
use super::report::{AzureCliFacts, Configuration, Outcome, Probe, Report, Selection};
use super::timefmt::unix_seconds;
use super::{ExitStatus, json, table, terminal};

/// Extra time the outer guard allows after a provider's own deadline, so the provider can
/// report its own timeout (and stop its process) before the guard drops it.
const GRACE: Duration = Duration::from_secs(2);

/// How long `az version` may take.
const AZ_VERSION_TIMEOUT: Duration = Duration::from_secs(15);

/// Variables other than `AZURE_*` that change how providers reach Microsoft Entra.
const NETWORK_VARIABLES: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Runs `credchain doctor`.
pub(crate) async fn run(args: &DoctorArgs, progress: bool) -> ExitStatus {
    if let Err(reason) = validate::scope(&args.scope) {
        // Every provider would refuse it before doing anything, which says nothing about them.
        terminal::error(reason);
        return ExitStatus::Usage;
    }
    let az_timeout = az_process_timeout(args.timeout);
    let credential = match DefaultCredential::builder().process_timeout(az_timeout).build() {
        Ok(credential) => credential,
        Err(error) => {
            // Nothing can run with an invalid configuration; say so, like `token` does.
            terminal::error(&error);
            terminal::note("credchain doctor cannot try the providers until this is fixed");
            let raw = std::env::var(TOKEN_CREDENTIALS_VAR).unwrap_or_default();
            let config = configuration(Selection::Invalid(raw.trim().to_owned()), az_timeout, None).await;
            let printed =
                terminal::print_stdout(&format!("Configuration:\n{}", table::configuration_text(&config)));
            return printed
                .err()
                .unwrap_or_else(|| ExitStatus::from_kind(error.kind()));
        }
    };
    let report = diagnose(&credential, args, az_timeout, progress).await;
    let rendered = match args.output {
        DoctorOutput::Table => table::doctor_table(&report),
        DoctorOutput::Json => json::doctor_json(&report),
    };
    if let Err(status) = terminal::print_stdout(&rendered) {
        return status;
    }
    if report.any_token() {
        ExitStatus::Success
    } else {
        ExitStatus::NoCredential
    }
}

/// How long the Azure CLI provider may let `az` run under doctor: `--timeout`, or the provider's
/// default when that is longer (the per-provider deadline still applies then).
fn az_process_timeout(limit: Duration) -> Duration {
    limit.max(DEFAULT_PROCESS_TIMEOUT)
}

/// Probes every member and gathers the configuration, concurrently.
async fn diagnose(
    credential: &DefaultCredential,
    args: &DoctorArgs,
    az_timeout: Duration,
    progress: bool,
) -> Report {
    let members = credential.members();
    let pending: Arc<Mutex<Vec<&'static str>>> = Arc::new(Mutex::new(
        members
            .iter()
            .filter(|m| m.credential().is_some())
            .map(Member::name)
            .collect(),
    ));
    let spinner = Progress::start(progress, waiting_message(&pending.lock()));
    let probes = futures::future::join_all(members.iter().map(|member| {
        let pending = Arc::clone(&pending);
        let spinner = &spinner;
        async move {
            let probe = probe(member, &args.scope, args.timeout).await;
            let mut left = pending.lock();
            left.retain(|name| *name != member.name());
            spinner.set_message(waiting_message(&left));
            probe
        }
    }));
    let selection = match credential.selection().as_str() {
        "" => Selection::Unset,
        value => Selection::Valid(value),
    };
    let (probes, config) =
        futures::future::join(probes, configuration(selection, az_timeout, Some(&spinner))).await;
    spinner.finish();
    Report {
        scope: args.scope.clone(),
        probes,
        config,
        show_claims: args.show_claims,
        timeout: args.timeout,
    }
}

fn waiting_message(pending: &[&str]) -> String {
    if pending.is_empty() {
        "checking the configuration…".to_owned()
    } else {
        format!("waiting for {}…", pending.join(", "))
    }
}

/// Asks one member for a token, within `limit`.
async fn probe(member: &Member, scope: &str, limit: Duration) -> Probe {
    let name = member.name();
    let developer_tool = member.is_developer_tool();
    let credential = match (member.excluded_because(), member.credential()) {
        (Some(because), _) => {
            return Probe {
                name,
                developer_tool,
                outcome: Outcome::Excluded {
                    because: because.to_owned(),
                },
                elapsed: None,
            };
        }
        (None, None) => {
            return Probe {
                name,
                developer_tool,
                outcome: Outcome::Excluded {
                    because: "not part of this build's chain".to_owned(),
                },
                elapsed: None,
            };
        }
        (None, Some(credential)) => credential,
    };
    let started = Instant::now();
    let options = TokenRequestOptions::new().with_deadline(started + limit);
    let result = tokio::time::timeout(limit + GRACE, credential.get_token(&[scope], &options)).await;
    let elapsed = started.elapsed();
    let outcome = match result {
        Ok(Ok(token)) => Outcome::Token {
            expires_on: unix_seconds(token.expires_on()),
            claims: claims::decode(token.secret()),
        },
        Ok(Err(error)) => Outcome::from_error(&error, developer_tool),
        Err(_) => Outcome::from_error(
            &Error::timeout(
                name,
                format!(
                    "no answer within {} s, so doctor stopped waiting; raise the limit with `--timeout`",
                    limit.as_secs_f64()
                ),
            ),
            developer_tool,
        ),
    };
    tracing::debug!(
        provider = name,
        outcome = outcome.label(),
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "doctor probe finished"
    );
    Probe {
        name,
        developer_tool,
        outcome,
        elapsed: Some(elapsed),
    }
}

/// Gathers the configuration from the process environment, the way the providers read it.
/// `az_timeout` is the Azure CLI provider's `process_timeout`.
async fn configuration(
    token_credentials: Selection,
    az_timeout: Duration,
    spinner: Option<&Progress>,
) -> Configuration {
    let mut azure_variables: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with("AZURE_"))
        .collect();
    azure_variables.sort();
    let network_variables = NETWORK_VARIABLES
        .iter()
        .copied()
        .filter(|name| std::env::var_os(name).is_some())
        .collect();
    let environment_credential = EnvironmentCredential::new();
    let environment = environment_credential
        .kind()
        .map(|kind| (kind, environment_credential.variables()));
    let vscode = VsCodeCredential::new()
        .map(|c| c.describe())
        .map_err(|e| e.message().to_owned());
    // Built as the chain builds it, so the facts are the provider's own.
    let (path, process_timeout) = match AzureCliCredential::builder().process_timeout(az_timeout).build() {
        Ok(cli) => (
            cli.locate_az().map_err(|e| e.message().to_owned()),
            cli.process_timeout(),
        ),
        Err(e) => (Err(e.message().to_owned()), az_timeout),
    };
    let version = match &path {
        Ok(az) => {
            let version = az_version(az, AZ_VERSION_TIMEOUT).await;
            if let Some(spinner) = spinner {
                spinner.tick();
            }
            Some(version)
        }
        Err(_) => None,
    };
    Configuration {
        token_credentials,
        azure_variables,
        network_variables,
        environment,
        azure_cli: AzureCliFacts {
            path,
            version,
            process_timeout,
        },
        vscode,
    }
}

/// Runs `az version --output json` and reads its `azure-cli` value.
async fn az_version(az: &Path, limit: Duration) -> Result<String, String> {
    let mut command = tokio::process::Command::new(az);
    command
        .args(["version", "--output", "json"])
        .env("AZURE_CORE_NO_COLOR", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = az.parent().filter(|d| !d.as_os_str().is_empty()) {
        command.current_dir(dir);
    }
    let output = match tokio::time::timeout(limit, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("`az version` could not be run: {e}")),
        Err(_) => {
            return Err(format!(
                "`az version` did not answer within {} s",
                limit.as_secs()
            ));
        }
    };
    if !output.status.success() {
        return Err(format!("`az version` failed ({})", output.status));
    }
    parse_az_version(&output.stdout)
        .ok_or_else(|| "`az version` did not print an `azure-cli` version".to_owned())
}

/// The `azure-cli` value of `az version --output json`, if it looks like a version.
pub(crate) fn parse_az_version(stdout: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(stdout).ok()?;
    let version = value.get("azure-cli")?.as_str()?;
    let plausible = !version.is_empty()
        && version.len() <= 40
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    plausible.then(|| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az_gets_the_longer_of_the_two_timeouts() {
        assert_eq!(
            az_process_timeout(Duration::from_secs(30)),
            Duration::from_secs(30)
        );
        assert_eq!(
            az_process_timeout(Duration::from_secs(1)),
            DEFAULT_PROCESS_TIMEOUT
        );
    }

    #[test]
    fn az_version_output() {
        let real = br#"{
  "azure-cli": "2.91.0",
  "azure-cli-core": "2.91.0",
  "azure-cli-telemetry": "1.1.0",
  "extensions": {}
}"#;
        assert_eq!(parse_az_version(real).as_deref(), Some("2.91.0"));
        for bad in [
            &b""[..],
            b"azure-cli 2.91.0",
            b"{}",
            br#"{"azure-cli": 2}"#,
            br#"{"azure-cli": ""}"#,
            br#"{"azure-cli": "2.91.0\u001b[31m"}"#,
        ] {
            assert_eq!(parse_az_version(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn az_version_runs_the_executable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let az = dir.path().join("az");
        std::fs::write(
            &az,
            "#!/bin/sh\n[ \"$1 $2 $3\" = 'version --output json' ] || exit 9\necho '{\"azure-cli\": \"2.99.1\"}'\n",
        )
        .expect("write");
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(
            az_version(&az, Duration::from_secs(10)).await,
            Ok("2.99.1".to_owned())
        );

        std::fs::write(&az, "#!/bin/sh\nexit 3\n").expect("write");
        let err = az_version(&az, Duration::from_secs(10)).await.expect_err("fails");
        assert!(err.contains("failed"), "{err}");

        std::fs::write(&az, "#!/bin/sh\nsleep 5\n").expect("write");
        let err = az_version(&az, Duration::from_millis(200))
            .await
            .expect_err("slow");
        assert!(err.contains("did not answer"), "{err}");
    }
}
