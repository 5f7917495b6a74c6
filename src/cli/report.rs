//! What `credchain doctor` found, as plain data: [`doctor`](super::doctor) builds a [`Report`],
//! and [`table`](super::table) and [`json`](super::json) render it. Nothing here runs anything.

use std::path::PathBuf;
use std::time::Duration;

use credchain::managed_identity::Description as ManagedIdentityDescription;
use credchain::vscode::VsCodeSetup;
use credchain::workload_identity::WorkloadIdentityInfo;
use credchain::{AttemptOutcome, Error, ErrorKind};

use super::claims::{Claims, NotJwt};

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

impl Report {
    /// Whether some provider got a token (doctor then exits 0).
    pub(crate) fn any_token(&self) -> bool {
        self.probes
            .iter()
            .any(|p| matches!(p.outcome, Outcome::Token { .. }))
    }
}

/// One provider's result.
#[derive(Debug)]
pub(crate) struct Probe {
    /// The provider's name.
    pub(crate) name: &'static str,
    /// Whether the chain skips its failures (the developer tools, unless selected alone).
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
        /// Whether the chain stops at this failure (see [`Outcome::from_error`]).
        stops_chain: bool,
    },
    /// It is not part of the chain.
    Excluded {
        /// Why (`excluded by AZURE_TOKEN_CREDENTIALS=dev`).
        because: String,
    },
}

impl Outcome {
    /// The outcome of a provider's `error`, classified by the chain's own rule
    /// ([`AttemptOutcome::of`]), so doctor's verdict cannot drift from what the chain does.
    pub(crate) fn from_error(error: &Error, developer_tool: bool) -> Self {
        let message = error.message().to_owned();
        match AttemptOutcome::of(error, developer_tool) {
            AttemptOutcome::Unavailable => Outcome::Unavailable { message },
            attempt => Outcome::Failed {
                kind: error.kind(),
                message,
                stops_chain: !attempt.moves_on(),
            },
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

/// Walks the probes as the chain would: the first token wins, excluded and unavailable members
/// are passed over, and a failure stops the walk when the chain's rule says so.
pub(crate) fn verdict(probes: &[Probe]) -> Verdict<'_> {
    for probe in probes {
        match &probe.outcome {
            Outcome::Token { .. } => return Verdict::Uses(probe.name),
            Outcome::Failed {
                stops_chain: true, ..
            } => return Verdict::StopsAt(probe.name),
            Outcome::Excluded { .. } | Outcome::Unavailable { .. } | Outcome::Failed { .. } => {}
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
    /// Names of the set network variables.
    pub(crate) network_variables: Vec<&'static str>,
    /// The environment provider's configuration kind and the variables it uses.
    pub(crate) environment: Option<(&'static str, &'static [&'static str])>,
    /// Workload identity's settings (where each came from, whether the token file exists).
    pub(crate) workload_identity: WorkloadIdentityInfo,
    /// The chain's managed identity: detected source, its variables, the probe's outcome and
    /// time (read after the providers ran); `None` when it is not part of the chain.
    pub(crate) managed_identity: Option<ManagedIdentityDescription>,
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

/// Where `az` is, which version it is, and how long it may run.
#[derive(Debug)]
pub(crate) struct AzureCliFacts {
    /// The executable, or why it was not found.
    pub(crate) path: Result<PathBuf, String>,
    /// `az version`'s `azure-cli` value, or why it is unknown; `None` when `az` was not found.
    pub(crate) version: Option<Result<String, String>>,
    /// How long the Azure CLI provider lets `az account get-access-token` run.
    pub(crate) process_timeout: Duration,
}

/// Reports for the renderers' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A report with these probes, an `az` at `/usr/bin/az` 2.91.0, and a VS Code set-up error.
    pub(crate) fn report(probes: Vec<Probe>) -> Report {
        Report {
            scope: "https://management.azure.com/.default".into(),
            probes,
            config: Configuration {
                token_credentials: Selection::Unset,
                azure_variables: vec!["AZURE_CLIENT_ID".into()],
                network_variables: vec![],
                environment: None,
                workload_identity: credchain::WorkloadIdentityCredential::builder()
                    .context(credchain_core::ProviderContext::new().with_env(credchain::Env::empty()))
                    .build_for_chain()
                    .describe(),
                managed_identity: None,
                azure_cli: AzureCliFacts {
                    path: Ok(PathBuf::from("/usr/bin/az")),
                    version: Some(Ok("2.91.0".into())),
                    process_timeout: Duration::from_secs(20),
                },
                vscode: Err("bad tenant".into()),
            },
            show_claims: true,
            timeout: Duration::from_secs(20),
        }
    }

    /// A probe that took 7 ms.
    pub(crate) fn probe(name: &'static str, developer_tool: bool, outcome: Outcome) -> Probe {
        Probe {
            name,
            developer_tool,
            outcome,
            elapsed: Some(Duration::from_millis(7)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &'static str, developer_tool: bool, error: Option<Error>) -> Probe {
        let outcome = match error {
            None => Outcome::Token {
                expires_on: 1,
                claims: Err(NotJwt::Shape),
            },
            Some(error) => Outcome::from_error(&error, developer_tool),
        };
        Probe {
            name,
            developer_tool,
            outcome,
            elapsed: Some(Duration::from_millis(1)),
        }
    }

    fn unavailable(name: &str) -> Option<Error> {
        Some(Error::unavailable(name, "not set up"))
    }

    #[test]
    fn errors_are_classified_by_the_chain_rule() {
        let auth = Error::authentication_failed("X", "refused");
        assert!(matches!(
            Outcome::from_error(&auth, true),
            Outcome::Failed {
                kind: ErrorKind::AuthenticationFailed,
                stops_chain: false,
                ..
            }
        ));
        assert!(matches!(
            Outcome::from_error(&auth, false),
            Outcome::Failed {
                stops_chain: true,
                ..
            }
        ));
        let bad = Error::invalid_input("X", "bad scope");
        assert!(matches!(
            Outcome::from_error(&bad, true),
            Outcome::Failed {
                stops_chain: true,
                ..
            }
        ));
        assert_eq!(
            Outcome::from_error(&Error::unavailable("X", "no"), false).label(),
            "unavailable"
        );
    }

    #[test]
    fn verdict_follows_the_chain_rules() {
        let failed = |kind| {
            Some(match kind {
                ErrorKind::AuthenticationFailed => Error::authentication_failed("X", "refused"),
                ErrorKind::InvalidInput => Error::invalid_input("X", "refused"),
                ErrorKind::Timeout => Error::timeout("X", "refused"),
                _ => Error::transient("X", "refused"),
            })
        };
        let excluded = Probe {
            name: "Env",
            developer_tool: false,
            outcome: Outcome::Excluded { because: "x".into() },
            elapsed: None,
        };
        let cases: Vec<(Vec<Probe>, Verdict<'static>)> = vec![
            (
                vec![
                    probe("Env", false, unavailable("Env")),
                    probe("Code", true, unavailable("Code")),
                    probe("Cli", true, None),
                ],
                Verdict::Uses("Cli"),
            ),
            // A developer tool's failure is skipped …
            (
                vec![
                    probe("Code", true, failed(ErrorKind::AuthenticationFailed)),
                    probe("Cli", true, None),
                ],
                Verdict::Uses("Cli"),
            ),
            // … but not the environment's, even if a later provider works.
            (
                vec![
                    probe("Env", false, failed(ErrorKind::AuthenticationFailed)),
                    probe("Cli", true, None),
                ],
                Verdict::StopsAt("Env"),
            ),
            // Invalid input stops the chain even for a developer tool.
            (
                vec![
                    probe("Code", true, failed(ErrorKind::InvalidInput)),
                    probe("Cli", true, None),
                ],
                Verdict::StopsAt("Code"),
            ),
            (
                vec![excluded, probe("Cli", true, failed(ErrorKind::Timeout))],
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
}
