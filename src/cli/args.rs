//! Command-line arguments (clap derive).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// The scope both commands use when none is given (Azure Resource Manager), as `az` does.
pub(crate) const DEFAULT_SCOPE: &str = "https://management.azure.com/.default";

const AFTER_HELP: &str = "\
Exit codes:
  0      a token was printed (`token`), or some provider got a token (`doctor`)
  1      a provider tried and failed (authentication failed, a service timed out, a transient
         failure), or the output could not be written
  2      invalid usage or input (bad scope, tenant or `AZURE_TOKEN_CREDENTIALS`); nothing was run
  3      no credential is available: no provider is set up on this machine, or the developer
         tools failed (in the full chain) or did not answer in time (an `az` that times out is
         unavailable, also when it runs alone)
  128+N  stopped by signal N: 129 SIGHUP, 130 SIGINT (Ctrl-C), 131 SIGQUIT, 143 SIGTERM;
         any `az` started was stopped

Providers are tried in this order: EnvironmentCredential (`AZURE_*` variables),
WorkloadIdentityCredential, ManagedIdentityCredential, VisualStudioCodeCredential,
AzureCliCredential, AzureDeveloperCliCredential. `AZURE_TOKEN_CREDENTIALS` narrows the chain:
`dev`, `prod`, or one provider's name.";

/// Get Azure access tokens from the default credential chain, and find out why none can be had.
#[derive(Debug, Parser)]
#[command(name = "credchain", version, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    /// Log to stderr: `-v` for debug, `-vv` for trace (`RUST_LOG`, when set, wins).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print an access token, as JSON compatible with `az account get-access-token`.
    #[command(after_help = AFTER_HELP)]
    Token(TokenArgs),
    /// Try every provider of the default chain and explain what works, what does not, and why.
    #[command(after_help = AFTER_HELP)]
    Doctor(DoctorArgs),
    /// Serve tokens from the default chain as a local managed identity endpoint (App Service
    /// protocol): prints IDENTITY_ENDPOINT=… and IDENTITY_HEADER=… lines, then logs to stderr
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
}

const SERVE_AFTER_HELP: &str = "\
Use it: `credchain serve > identity.env &`, then `set -a; . ./identity.env; set +a` (or
`docker run --env-file identity.env …`): Azure SDKs' ManagedIdentityCredential then get tokens
from it. Requests: GET IDENTITY_ENDPOINT?api-version=2019-08-01&resource=RESOURCE with the
header `X-IDENTITY-HEADER: IDENTITY_HEADER`.

It stops on SIGINT or SIGTERM (exit 130 or 143), stopping any `az` it started.";

/// `credchain serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free one
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    pub(crate) listen: SocketAddr,

    /// Allow a non-loopback --listen address (e.g. a container bridge); anyone who can reach it
    /// and knows the header secret gets your tokens
    #[arg(long)]
    pub(crate) allow_remote: bool,

    /// Read the header secret from this file (at least 22 visible ASCII characters) instead of
    /// generating a fresh one; never pass the secret itself on the command line
    #[arg(long, value_name = "PATH")]
    pub(crate) header_file: Option<PathBuf>,
}

/// `credchain token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// Scope to get a token for; repeat for several [default: https://management.azure.com/.default]
    #[arg(long, value_name = "SCOPE", conflicts_with = "resource")]
    pub(crate) scope: Vec<String>,

    /// Resource to get a token for, as `az` accepts it: RESOURCE becomes the scope `RESOURCE/.default`
    #[arg(long, value_name = "RESOURCE")]
    pub(crate) resource: Option<String>,

    /// Tenant to get the token from, instead of the provider's own tenant
    #[arg(short, long, value_name = "TENANT")]
    pub(crate) tenant: Option<String>,

    /// Claims challenge to satisfy (the JSON from a `WWW-Authenticate` header's `claims`)
    #[arg(long, value_name = "CLAIMS")]
    pub(crate) claims: Option<String>,

    /// Share access tokens between runs (per user, under $XDG_RUNTIME_DIR/credchain, else
    /// ~/.cache/credchain): a token is reused while it has 5 minutes left, and until `az`'s
    /// signed-in account, any AZURE_* variable, or the request changes
    #[arg(long)]
    pub(crate) cache: bool,

    /// What to print: `json` (like `az account get-access-token`), only the token, or a kubectl
    /// `exec-credential`
    #[arg(short, long, value_enum, default_value_t = TokenOutput::Json)]
    pub(crate) output: TokenOutput,
}

impl TokenArgs {
    /// The scopes to request: `--scope` values, `--resource` as `RESOURCE/.default` (kept
    /// verbatim, so `https://management.core.windows.net/` gives the `//.default` scope `az`
    /// uses), else [`DEFAULT_SCOPE`].
    pub(crate) fn scopes(&self) -> Vec<String> {
        if let Some(resource) = &self.resource {
            vec![format!("{resource}/.default")]
        } else if self.scope.is_empty() {
            vec![DEFAULT_SCOPE.to_owned()]
        } else {
            self.scope.clone()
        }
    }
}

/// How `credchain token` prints the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenOutput {
    /// JSON like `az account get-access-token`, plus the provider that issued the token.
    Json,
    /// Only the token, for `$(credchain token -o token)`.
    Token,
    /// A kubectl `ExecCredential` (apiVersion from `KUBERNETES_EXEC_INFO`, v1 when unset), for
    /// a kubeconfig's `users[].user.exec`
    ExecCredential,
}

/// `credchain doctor`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Scope to test every provider with
    #[arg(long, value_name = "SCOPE", default_value = DEFAULT_SCOPE)]
    pub(crate) scope: String,

    /// How to print the report
    #[arg(short, long, value_enum, default_value_t = DoctorOutput::Table)]
    pub(crate) output: DoctorOutput,

    /// Also print the `tid`, `oid`, `upn` and `exp` claims of each token obtained (decoded
    /// without verification; the token itself is never printed)
    #[arg(long)]
    pub(crate) show_claims: bool,

    /// How long each provider may take, in seconds; the Azure CLI gets this long too, or its
    /// own 10 s limit when that is longer
    #[arg(long, value_name = "SECONDS", default_value = "20", value_parser = parse_seconds)]
    pub(crate) timeout: Duration,
}

/// How `credchain doctor` prints its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DoctorOutput {
    /// Human-readable sections.
    Table,
    /// One JSON document.
    Json,
}

/// Parses a positive number of seconds (`0.5`, `20`).
fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "`{value}` is out of range; give a number of seconds between 0 and 3600"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("credchain").chain(args.iter().copied()))
    }

    fn token(args: &[&str]) -> TokenArgs {
        match parse(args).map(|cli| cli.command) {
            Ok(Command::Token(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scopes_from_scope_resource_or_default() {
        assert_eq!(token(&["token"]).scopes(), [DEFAULT_SCOPE]);
        assert_eq!(
            token(&[
                "token",
                "--scope",
                "api://a/.default",
                "--scope",
                "api://b/.default"
            ])
            .scopes(),
            ["api://a/.default", "api://b/.default"]
        );
        assert_eq!(
            token(&["token", "--resource", "https://vault.azure.net"]).scopes(),
            ["https://vault.azure.net/.default"]
        );
        // Kept verbatim, as az does: ARM's classic audience has a trailing slash.
        assert_eq!(
            token(&["token", "--resource", "https://management.core.windows.net/"]).scopes(),
            ["https://management.core.windows.net//.default"]
        );
    }

    #[test]
    fn usage_errors_are_clap_errors() {
        for bad in [
            &["token", "--scope", "a", "--resource", "b"][..],
            &["token", "--output", "yaml"],
            &["token", "--output", "exec_credential"],
            &["doctor", "--timeout", "0"],
            &["doctor", "--timeout", "soon"],
            &["frobnicate"],
            &[],
        ] {
            let err = parse(bad).expect_err("usage error");
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn options_and_defaults() {
        let t = token(&["-vv", "token", "-t", "contoso", "--claims", "{}", "-o", "token"]);
        assert_eq!(t.tenant.as_deref(), Some("contoso"));
        assert_eq!(t.claims.as_deref(), Some("{}"));
        assert_eq!(t.output, TokenOutput::Token);
        assert_eq!(
            token(&["token", "-o", "exec-credential"]).output,
            TokenOutput::ExecCredential
        );
        let cli = parse(&["doctor", "-v", "--timeout", "2.5", "--show-claims"]).expect("valid");
        assert_eq!(cli.verbose, 1);
        match cli.command {
            Command::Doctor(d) => {
                assert_eq!(d.scope, DEFAULT_SCOPE);
                assert_eq!(d.output, DoctorOutput::Table);
                assert_eq!(d.timeout, Duration::from_millis(2500));
                assert!(d.show_claims);
            }
            other => panic!("{other:?}"),
        }
    }
}
