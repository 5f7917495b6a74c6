//! Runs a developer CLI (the Azure CLI `az`, the Azure Developer CLI `azd`) for a
//! [credchain](https://example.invalid/credchain) provider, safely and boundedly. One module
//! for every CLI-based provider, so each gets the same guarantees:
//!
//! * **Finding it** ([`locate`]): the configured path, else `PATH` (read through the injected
//!   [`credchain_core::Env`]; relative entries resolve against the safe working directory),
//!   else the tool's usual install directories, whose programs must pass [`check_trusted`]
//!   (Unix: owned by root or you, not writable by others).
//! * **Running it** ([`run()`]): directly, never through a shell; stdin on nothing; from a
//!   directory nobody can plant a program in ([`default_working_dir`]); with `NO_COLOR=1` plus the
//!   tool's own variables; with exactly the injected environment when it is a map; retried
//!   briefly while the executable is "text file busy" (`ETXTBSY`).
//! * **Bounding it**: stdout capped at [`STDOUT_LIMIT`] (more is an error and stops the
//!   process), stderr at [`STDERR_LIMIT`] (the rest is drained); a deadline after which the
//!   whole process group is killed; the group is also killed when the future is dropped, and,
//!   on Linux, when this process dies, even by `SIGKILL` (see `host_death`, Linux docs).
//!
//! Errors are returned as [`RunError`] / [`NotFound`]; turning them into a provider's messages is
//! the provider's job.
#![deny(missing_docs, unsafe_code)]
#![warn(missing_debug_implementations, unreachable_pub)]

#[cfg(any(target_os = "linux", target_os = "android"))]
pub mod host_death;
mod locate;
pub mod run;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use credchain_core::Env;

pub use locate::{CliName, Found, NotFound, check_trusted, locate};

/// `text` cut to at most `max` characters, with `…` when cut: how a CLI's output is quoted in
/// a message without letting a flood through.
///
/// ```
/// assert_eq!(credchain_process::bounded("héllo", 2), "hé…");
/// assert_eq!(credchain_process::bounded("hé", 2), "hé");
/// ```
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
pub use run::{Finished, Invocation, PIPE_GRACE, RunError, STDERR_LIMIT, STDOUT_LIMIT, run};

/// The working directory a CLI runs in unless told otherwise: `/bin` on Unix, `%SYSTEMROOT%` on
/// Windows (read through `env`) — directories an attacker cannot write to, so nothing planted
/// next to the application is picked up. `None` on Windows when `SYSTEMROOT` is unset.
pub fn default_working_dir(env: &Env) -> Option<PathBuf> {
    if cfg!(windows) {
        env.non_blank("SYSTEMROOT").map(PathBuf::from)
    } else {
        Some(PathBuf::from("/bin"))
    }
}

/// When a CLI run that `started` must be stopped, and whether that is the caller's deadline
/// (`true`) rather than the credential's `process_timeout`: the sooner of the two, except that a
/// request's deadline replaces a `process_timeout` that was not `configured` (the default) even
/// when it is later, so `credchain doctor --timeout 30` gives the CLI 30 s.
///
/// ```
/// use std::time::{Duration, Instant};
/// let now = Instant::now();
/// let later = now + Duration::from_secs(30);
/// let default = Duration::from_secs(10);
/// assert_eq!(credchain_process::run_deadline(now, default, false, Some(later)), (later, true));
/// assert_eq!(credchain_process::run_deadline(now, default, true, Some(later)), (now + default, false));
/// ```
pub fn run_deadline(
    started: Instant,
    process_timeout: Duration,
    configured: bool,
    requested: Option<Instant>,
) -> (Instant, bool) {
    let own = deadline_after(started, process_timeout);
    match requested {
        Some(deadline) if deadline < own || !configured => (deadline, true),
        _ => (own, false),
    }
}

/// `start + timeout` without the panic `Instant + Duration` has on overflow: a timeout too large
/// to represent (such as `Duration::MAX`) means "no limit of our own", capped at 30 years.
pub fn deadline_after(start: Instant, timeout: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    start
        .checked_add(timeout)
        .or_else(|| start.checked_add(FAR))
        // Every supported platform represents 30 years; this only keeps the arithmetic total.
        .unwrap_or(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_timeout_does_not_overflow_the_deadline() {
        let now = Instant::now();
        assert_eq!(
            deadline_after(now, Duration::from_secs(10)),
            now + Duration::from_secs(10)
        );
        for huge in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
            let deadline = deadline_after(now, huge);
            assert!(
                deadline > now + Duration::from_secs(365 * 24 * 60 * 60),
                "{huge:?} must mean a far deadline, not an immediate one"
            );
        }
    }
}
