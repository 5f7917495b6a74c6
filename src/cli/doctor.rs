//! `credchain doctor`: tries every provider of the default chain and gathers what it found.
//!
//! Unlike the chain, which stops at the first token, doctor asks every member (concurrently, each
//! under a time limit) so the report shows everything that works and everything that does not.
//! The report is plain data; [`output`](super::output) renders it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use credchain::default::{Member, TOKEN_CREDENTIALS_VAR};
use credchain::vscode::VsCodeSetup;
use credchain::{
    AzureCliCredential, DefaultCredential, EnvironmentCredential, Error, ErrorKind, TokenRequestOptions,
    VsCodeCredential, validate,
};
use parking_lot::Mutex;

use super::args::DoctorArgs;
use super::claims::{self, Claims, NotJwt};
use super::progress::Progress;
use super::{ExitStatus, output};

/// Extra time the outer guard allows after a provider's own deadline, so the provider can
/// report its own timeout (and stop its process) before the guard drops it.
const GRACE: Duration = Duration::from_secs(2);

/// How long `az version` may take.
const AZ_VERSION_TIMEOUT: Duration = Duration::from_secs(15);

/// Variables other than `AZURE_*` that change how providers reach Microsoft Entra.
pub(crate) const NETWORK_VARIABLES: &[&str] = &[
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

/// Everything doctor found.
#[derive(Debug)]
pub(crate) struct Report {
    /// The scope every provider was asked for.
    pub(crate) scope: String,
    /// One entry per member of the default chain, in chain order.
    pub(crate) probes: Vec<Probe>,
    /// What the machine is set up with.
    pub(crate) config: Configuration,
    /// Whether to show token claims.
    pub(crate) show_claims: bool,
    /// The per-provider time limit.
    pub(crate) timeout: Duration,
}

/// One provider's result.
#[derive(Debug)]
pub(crate) struct Probe {
    /// The provider's name.
    pub(crate) name: &'static str,
    /// Whether the chain skips its failures (VS Code, Azure CLI, unless selected alone).
    pub(crate) developer_tool: bool,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// How long it took; `None` when it was not run.
    pub(crate) elapsed: Option<Duration>,
}

/// How a provider's attempt ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It got a token (which is dropped at once; only its expiry and claims are kept).
    Token {
        /// Expiry, in seconds since the Unix epoch.
        expires_on: i64,
        /// The token's claims, or why there are none.
        claims: Result<Claims, NotJwt>,
    },
    /// It could not try: nothing set up.
    Unavailable {
        /// The provider's reason, which says what to do.
        message: String,
    },
    /// It tried and failed.
    Failed {
        /// What kind of failure.
        kind: ErrorKind,
        /// The provider's reason.
        message: String,
    },
    /// It is not part of the chain.
    Excluded {
        /// Why (`excluded by AZURE_TOKEN_CREDENTIALS=dev`).
        because: String,
    },
}

impl Outcome {
    fn from_error(error: &Error) -> Self {
        if error.is_unavailable() {
            Outcome::Unavailable {
                message: error.message().to_owned(),
            }
        } else {
            Outcome::Failed {
                kind: error.kind(),
                message: error.message().to_owned(),
            }
        }
    }

    /// The one-word outcome for tables and JSON.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Token { .. } => "token",
            Outcome::Unavailable { .. } => "unavailable",
            Outcome::Failed { .. } => "failed",
            Outcome::Excluded { .. } => "excluded",
        }
    }
}

/// What the default chain would do with these results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict<'a> {
    /// It would return this provider's token.
    Uses(&'a str),
    /// This provider fails and the chain stops there, although a later one may work.
    StopsAt(&'a str),
    /// No provider can get a token.
    Nothing,
}

/// Replays the chain's rules over the probes: skip excluded and unavailable members and the
/// failures of developer tools (except invalid input); stop at any other failure.
pub(crate) fn verdict(probes: &[Probe]) -> Verdict<'_> {
    for probe in probes {
        match &probe.outcome {
            Outcome::Token { .. } => return Verdict::Uses(probe.name),
            Outcome::Excluded { .. } | Outcome::Unavailable { .. } => {}
            Outcome::Failed { kind, .. } if probe.developer_tool && *kind != ErrorKind::InvalidInput => {}
            Outcome::Failed { .. } => return Verdict::StopsAt(probe.name),
        }
    }
    Verdict::Nothing
}

/// The machine's set-up, as the providers see it. Never holds a value that could be secret.
#[derive(Debug)]
pub(crate) struct Configuration {
    /// What `AZURE_TOKEN_CREDENTIALS` says.
    pub(crate) token_credentials: Selection,
    /// Names of the `AZURE_*` variables that are set (sorted).
    pub(crate) azure_variables: Vec<String>,
    /// Names of the set [`NETWORK_VARIABLES`].
    pub(crate) network_variables: Vec<&'static str>,
    /// The environment provider's configuration kind and the variables it uses.
    pub(crate) environment: Option<(&'static str, &'static [&'static str])>,
    /// The Azure CLI.
    pub(crate) azure_cli: AzureCliFacts,
    /// VS Code's set-up, or why the provider could not be built.
    pub(crate) vscode: Result<VsCodeSetup, String>,
}

/// The value of `AZURE_TOKEN_CREDENTIALS`, as the chain understood it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Unset or blank: every provider.
    Unset,
    /// A valid selection, in its canonical spelling (`dev`, `prod`, `AzureCliCredential`, …).
    Valid(&'static str),
    /// An invalid value, as written (the variable is not secret).
    Invalid(String),
}

/// Where `az` is and which version it is.
#[derive(Debug)]
pub(crate) struct AzureCliFacts {
    /// The executable, or why it was not found.
    pub(crate) path: Result<PathBuf, String>,
    /// `az version`'s `azure-cli` value, or why it is unknown; `None` when `az` was not found.
    pub(crate) version: Option<Result<String, String>>,
}

/// Runs `credchain doctor`.
pub(crate) async fn run(args: &DoctorArgs, progress: bool) -> ExitStatus {
    if let Err(reason) = validate::scope(&args.scope) {
        // Every provider would refuse it before doing anything, which says nothing about them.
        eprintln!("error: {reason}");
        return ExitStatus::Usage;
    }
    let credential = match DefaultCredential::new() {
        Ok(credential) => credential,
        Err(error) => {
            // Nothing can run with an invalid configuration; say so, like `token` does.
            eprintln!("error: {error}");
            eprintln!("credchain doctor cannot try the providers until this is fixed");
            let raw = std::env::var(TOKEN_CREDENTIALS_VAR).unwrap_or_default();
            let config = configuration(Selection::Invalid(raw.trim().to_owned()), None).await;
            super::print_stdout(&format!(
                "Configuration:\n{}",
                output::configuration_text(&config)
            ));
            return ExitStatus::from_kind(error.kind());
        }
    };
    let report = diagnose(&credential, args, progress).await;
    let rendered = match args.output {
        super::args::DoctorOutput::Table => output::doctor_table(&report),
        super::args::DoctorOutput::Json => output::doctor_json(&report),
    };
    super::print_stdout(&rendered);
    if report
        .probes
        .iter()
        .any(|p| matches!(p.outcome, Outcome::Token { .. }))
    {
        ExitStatus::Success
    } else {
        ExitStatus::NoCredential
    }
}

/// Probes every member and gathers the configuration, concurrently.
pub(crate) async fn diagnose(credential: &DefaultCredential, args: &DoctorArgs, progress: bool) -> Report {
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
    let (probes, config) = futures::future::join(probes, configuration(selection, Some(&spinner))).await;
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
        Ok(Err(error)) => Outcome::from_error(&error),
        Err(_) => Outcome::Failed {
            kind: ErrorKind::Timeout,
            message: format!(
                "no answer within {} s, so doctor stopped waiting; raise the limit with `--timeout`",
                limit.as_secs_f64()
            ),
        },
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

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Gathers the configuration from the process environment, the way the providers read it.
async fn configuration(token_credentials: Selection, spinner: Option<&Progress>) -> Configuration {
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
    let path = AzureCliCredential::new()
        .locate_az()
        .map_err(|e| e.message().to_owned());
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
        azure_cli: AzureCliFacts { path, version },
        vscode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &'static str, developer_tool: bool, outcome: Outcome) -> Probe {
        Probe {
            name,
            developer_tool,
            outcome,
            elapsed: Some(Duration::from_millis(1)),
        }
    }

    fn unavailable() -> Outcome {
        Outcome::Unavailable {
            message: "not set up".into(),
        }
    }

    fn failed(kind: ErrorKind) -> Outcome {
        Outcome::Failed {
            kind,
            message: "refused".into(),
        }
    }

    fn token() -> Outcome {
        Outcome::Token {
            expires_on: 1,
            claims: Err(NotJwt::Shape),
        }
    }

    #[test]
    fn verdict_follows_the_chain_rules() {
        let excluded = || Outcome::Excluded { because: "x".into() };
        let cases: Vec<(Vec<Probe>, Verdict<'static>)> = vec![
            (
                vec![
                    probe("Env", false, unavailable()),
                    probe("Code", true, unavailable()),
                    probe("Cli", true, token()),
                ],
                Verdict::Uses("Cli"),
            ),
            // A developer tool's failure is skipped …
            (
                vec![
                    probe("Code", true, failed(ErrorKind::AuthenticationFailed)),
                    probe("Cli", true, token()),
                ],
                Verdict::Uses("Cli"),
            ),
            // … but not the environment's, even if a later provider works.
            (
                vec![
                    probe("Env", false, failed(ErrorKind::AuthenticationFailed)),
                    probe("Cli", true, token()),
                ],
                Verdict::StopsAt("Env"),
            ),
            // Invalid input stops the chain even for a developer tool.
            (
                vec![
                    probe("Code", true, failed(ErrorKind::InvalidInput)),
                    probe("Cli", true, token()),
                ],
                Verdict::StopsAt("Code"),
            ),
            (
                vec![
                    probe("Env", false, excluded()),
                    probe("Cli", true, failed(ErrorKind::Timeout)),
                ],
                Verdict::Nothing,
            ),
            (
                vec![probe("Cli", false, failed(ErrorKind::Transient))],
                Verdict::StopsAt("Cli"),
            ),
            (vec![], Verdict::Nothing),
        ];
        for (probes, expected) in cases {
            assert_eq!(verdict(&probes), expected, "{probes:?}");
        }
    }

    #[test]
    fn unix_seconds_handles_both_sides_of_the_epoch() {
        assert_eq!(
            unix_seconds(SystemTime::UNIX_EPOCH + Duration::from_millis(4_070_908_800_900)),
            4_070_908_800
        );
        assert_eq!(unix_seconds(SystemTime::UNIX_EPOCH - Duration::from_secs(5)), -5);
    }
}
