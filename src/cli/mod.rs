//! The `credchain` command-line tool: argument parsing, logging set-up and exit codes. The
//! commands live in [`token`] and [`doctor`]; [`output`] formats what they print.

mod args;
mod claims;
mod doctor;
mod output;
mod progress;
mod token;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use credchain::ErrorKind;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command};

/// The process's exit status; see `credchain --help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// A token was printed, or doctor found a provider that works.
    Success = 0,
    /// A provider tried and failed (authentication failed, timed out, transient failure).
    Failed = 1,
    /// Invalid usage or input; nothing was run. (clap uses 2 for usage errors too.)
    Usage = 2,
    /// No credential is available.
    NoCredential = 3,
    /// Interrupted by Ctrl-C.
    Interrupted = 130,
}

impl ExitStatus {
    /// The status for an error of `kind`.
    pub(crate) fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidInput => ExitStatus::Usage,
            ErrorKind::Unavailable => ExitStatus::NoCredential,
            _ => ExitStatus::Failed,
        }
    }
}

/// Parses the command line, runs the command, and returns its exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    // Draw a spinner only for a person watching a terminal, and never over log lines.
    let progress =
        cli.verbose == 0 && std::env::var_os("RUST_LOG").is_none() && std::io::stderr().is_terminal();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(ExitStatus::Failed as u8);
        }
    };
    let status = runtime.block_on(async {
        let work = async {
            match &cli.command {
                Command::Token(args) => token::run(args, progress).await,
                Command::Doctor(args) => doctor::run(args, progress).await,
            }
        };
        tokio::select! {
            status = work => status,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("interrupted");
                ExitStatus::Interrupted
            }
        }
    });
    // Dropping the work stopped any `az` it started; do not wait long for blocking lookups.
    runtime.shutdown_timeout(Duration::from_millis(500));
    ExitCode::from(status as u8)
}

/// `-v`: debug, `-vv`: trace, for credchain's crates; `RUST_LOG` wins when set. Off otherwise.
fn init_tracing(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => EnvFilter::new(value),
        _ => match filter_for(verbose) {
            Some(directives) => EnvFilter::new(directives),
            None => return,
        },
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The filter directives for `-v` × `verbose`; `None` for no logging.
fn filter_for(verbose: u8) -> Option<String> {
    let level = match verbose {
        0 => return None,
        1 => "debug",
        _ => "trace",
    };
    let crates = [
        "credchain",
        "credchain_core",
        "credchain_azure_cli",
        "credchain_environment",
        "credchain_vscode",
        "credchain_entra",
    ];
    let mut directives = vec!["warn".to_owned()];
    directives.extend(crates.iter().map(|c| format!("{c}={level}")));
    Some(directives.join(","))
}

/// Prints `text` and a newline on stdout. A closed pipe (`credchain token | head -c0`) is not
/// an error worth reporting.
pub(crate) fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                stdout.write_all(b"\n")
            }
        })
        .and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_per_kind() {
        assert_eq!(ExitStatus::from_kind(ErrorKind::AuthenticationFailed) as u8, 1);
        assert_eq!(ExitStatus::from_kind(ErrorKind::Timeout) as u8, 1);
        assert_eq!(ExitStatus::from_kind(ErrorKind::Transient) as u8, 1);
        assert_eq!(ExitStatus::from_kind(ErrorKind::InvalidInput) as u8, 2);
        assert_eq!(ExitStatus::from_kind(ErrorKind::Unavailable) as u8, 3);
    }

    #[test]
    fn verbosity_filters() {
        assert_eq!(filter_for(0), None);
        let debug = filter_for(1).expect("some");
        assert!(debug.starts_with("warn,credchain=debug,"), "{debug}");
        assert!(debug.contains("credchain_azure_cli=debug"), "{debug}");
        let trace = filter_for(5).expect("some");
        assert!(
            trace.contains("credchain_entra=trace") && !trace.contains("=debug"),
            "{trace}"
        );
        for directives in [debug, trace] {
            assert!(EnvFilter::try_new(&directives).is_ok(), "{directives}");
        }
    }
}
