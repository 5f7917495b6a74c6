//! The `credchain` command-line tool: argument parsing, logging set-up, signals and exit codes.
//!
//! The commands live in [`token`], [`doctor`] and [`serve`]; `token` prints kubectl's format
//! through [`exec_credential`] and shares tokens between runs through `token_cache` (Unix).
//! Doctor builds a [`report`]; [`table`] and [`json`] render it, [`advice`] suggests next
//! steps, [`timefmt`] formats times, and everything is written through [`terminal`], which
//! escapes control characters and reports write errors.

mod advice;
mod args;
mod claims;
mod doctor;
mod exec_credential;
mod json;
mod progress;
mod report;
mod serve;
mod table;
mod terminal;
mod timefmt;
mod token;
#[cfg(unix)]
mod token_cache;

use std::io::IsTerminal;
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
    Success,
    /// A provider tried and failed (authentication failed, a service timed out, a transient
    /// failure), or the output could not be written.
    Failed,
    /// Invalid usage or input; nothing was run. (clap uses 2 for usage errors too.)
    Usage,
    /// No credential is available.
    NoCredential,
    /// Stopped by this signal (SIGINT, SIGTERM, SIGHUP or SIGQUIT): exits with 128 + its number,
    /// as shells report a process killed by it.
    Signalled(u8),
}

impl ExitStatus {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::NoCredential => 3,
            ExitStatus::Signalled(signal) => 128_u8.saturating_add(signal),
        }
    }

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let serving = matches!(cli.command, Command::Serve(_));
    init_tracing(cli.verbose, serving);
    // Draw a spinner only for a person watching a terminal, and never over log lines.
    let progress = !serving
        && cli.verbose == 0
        && std::env::var_os("RUST_LOG").is_none()
        && std::io::stderr().is_terminal();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            terminal::error(format_args!("failed to start the async runtime: {e}"));
            return ExitCode::from(ExitStatus::Failed.code());
        }
    };
    let status = runtime.block_on(async {
        // Watch the signals before any work starts, so none can slip in after `az` is spawned.
        let stop = stop_signal();
        let work = async {
            match &cli.command {
                Command::Token(args) => token::run(args, progress).await,
                Command::Doctor(args) => doctor::run(args, progress).await,
                Command::Serve(args) => serve::run(args).await,
            }
        };
        // On a stop signal the work is dropped here, which kills the process group of any `az`
        // it started (that group does not get the terminal's signals, so nothing else would).
        tokio::select! {
            status = work => status,
            (number, name) = stop => {
                terminal::note(format_args!("interrupted by {name}; any `az` started was stopped"));
                ExitStatus::Signalled(number)
            }
        }
    });
    // Do not wait long for blocking lookups (a keyring read) that cannot be cancelled.
    runtime.shutdown_timeout(Duration::from_millis(500));
    ExitCode::from(status.code())
}

/// Prints a clap error or help text and gives its exit code. Errors echo what was typed, so they
/// go through [`terminal`] (escaped, without clap's colours); help and version go to stdout.
fn clap_error(e: &clap::Error) -> ExitCode {
    if e.use_stderr() {
        terminal::note(e.render());
        ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(ExitStatus::Usage.code()))
    } else {
        let printed = terminal::print_stdout(&e.render().to_string());
        ExitCode::from(printed.err().unwrap_or(ExitStatus::Success).code())
    }
}

/// Starts watching the signals that mean "stop": SIGINT (Ctrl-C), SIGTERM, SIGHUP and SIGQUIT.
/// The future gives the number and name of the first to arrive. Watching starts at the call
/// (which must be inside the runtime); a signal that cannot be watched keeps its default action.
#[cfg(unix)]
fn stop_signal() -> impl Future<Output = (u8, &'static str)> {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
    ];
    let mut waits = Vec::new();
    for (kind, name) in kinds {
        let number = u8::try_from(kind.as_raw_value()).unwrap_or(0);
        match signal(kind) {
            Ok(mut stream) => waits.push(Box::pin(async move {
                match stream.recv().await {
                    Some(()) => (number, name),
                    None => std::future::pending().await,
                }
            })),
            Err(e) => tracing::warn!(signal = name, error = %e, "cannot watch this signal"),
        }
    }
    async move {
        if waits.is_empty() {
            return std::future::pending().await;
        }
        futures::future::select_all(waits).await.0
    }
}

/// Waits for Ctrl-C, reported as SIGINT (2) like on Unix.
#[cfg(not(unix))]
fn stop_signal() -> impl Future<Output = (u8, &'static str)> {
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        match ctrl_c.await {
            Ok(()) => (2, "Ctrl-C"),
            Err(_) => std::future::pending().await,
        }
    }
}

/// `-v`: debug, `-vv`: trace, for credchain's crates; `RUST_LOG` wins when set. Off otherwise,
/// except that `serve` logs each request at info level (a server's log is its stderr).
fn init_tracing(verbose: u8, serving: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => EnvFilter::new(value),
        _ if serving && verbose == 0 => EnvFilter::new("warn,credchain=info"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_per_kind() {
        assert_eq!(ExitStatus::from_kind(ErrorKind::AuthenticationFailed).code(), 1);
        assert_eq!(ExitStatus::from_kind(ErrorKind::Timeout).code(), 1);
        assert_eq!(ExitStatus::from_kind(ErrorKind::Transient).code(), 1);
        assert_eq!(ExitStatus::from_kind(ErrorKind::InvalidInput).code(), 2);
        assert_eq!(ExitStatus::from_kind(ErrorKind::Unavailable).code(), 3);
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Signalled(15).code(), 143);
        assert_eq!(ExitStatus::Signalled(1).code(), 129);
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
