//! `credchain doctor`: tries every provider of the default chain and gathers what it found.
//!
//! Unlike the chain, which stops at the first token, doctor asks every member (concurrently, each
//! under a time limit) so the report shows everything that works and everything that does not.
//! It builds a [`Report`] (plain data); [`table`](super::table) and [`json`](super::json) render it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use credchain::azure_cli::DEFAULT_PROCESS_TIMEOUT;
use credchain::default::{Member, TOKEN_CREDENTIALS_VAR};
use credchain::{
    AzureCliCredential, DefaultCredential, EnvironmentCredential, Error, TokenRequestOptions,
    VsCodeCredential, WorkloadIdentityCredential, validate,
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
    let (probes, mut config) =
        futures::future::join(probes, configuration(selection, az_timeout, Some(&spinner))).await;
    spinner.finish();
    // After the providers ran, so it includes the IMDS probe's outcome and time.
    config.managed_identity = credential.managed_identity().map(|mi| mi.describe());
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
    // Only names, sources and whether the file exists; the file is not read.
    let workload_identity = WorkloadIdentityCredential::builder().build_for_chain().describe();
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
        Ok(_) => {
            // Through the provider's bounded runner: capped stdout, a time limit that kills
            // az's whole process group (issue 14.2).
            let version = AzureCliCredential::new()
                .az_version(AZ_VERSION_TIMEOUT)
                .await
                .map_err(|e| e.message().to_owned());
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
        workload_identity,
        managed_identity: None,
        azure_cli: AzureCliFacts {
            path,
            version,
            process_timeout,
        },
        vscode,
    }
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
}
