//! Turning an `az` run that did not produce a token into an error category and the message the
//! user sees: not found, could not run, timed out, too much output, or a failed exit. Pure.
//!
//! Rules, in order (they follow azure-identity, with the message improvements noted):
//!
//! 1. Exit status 127, or stderr starting with `'az' is not recognized` → the CLI is not installed
//!    (a wrapper script could not find it).
//! 2. stderr contains `az login` or `az account set` (case-sensitive) and no `AADSTS` code → not
//!    signed in. (`AADSTS70043: … Please run 'az login'` is a real refusal from Entra and is *not*
//!    treated as "not signed in".)
//! 3. Anything else → the CLI tried and failed. The message carries the CLI's `ERROR:` lines and
//!    the lines that continue them, never the Python traceback that may follow, and names any
//!    `AADSTS` code found anywhere in stderr (including inside the traceback). It is sanitized
//!    (see [`sanitize`](crate::parse::sanitize)) and at most [`SUMMARY_CHARS`] characters long.

use std::sync::LazyLock;

use std::time::Duration;

use credchain_core::Error;
use regex_lite::Regex;

use crate::credential::NAME;
use crate::parse::{UnexpectedOutput, sanitize};
use credchain_process::{CliName, Finished, Found, NotFound, RunError, STDOUT_LIMIT, bounded};

/// Longest summary of stderr put in a message, in characters.
pub(crate) const SUMMARY_CHARS: usize = 800;

/// The category of a failed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A wrapper could not find `az` (exit 127, "not recognized").
    NotInstalled,
    /// The CLI has no usable account; `said` is its own words (sanitized, bounded).
    NotSignedIn { said: String },
    /// The CLI tried and failed; `summary` is the `ERROR:` text (sanitized, bounded, maybe empty).
    Failed { summary: String },
}

/// Classifies a non-zero exit. `code` is `None` when the process was killed by a signal.
pub(crate) fn classify(code: Option<i32>, stderr: &str) -> Failure {
    let stderr_start = stderr.trim_start();
    if code == Some(127) || stderr_start.starts_with("'az' is not recognized") {
        return Failure::NotInstalled;
    }
    if (stderr.contains("az login") || stderr.contains("az account set")) && !stderr.contains("AADSTS") {
        return Failure::NotSignedIn {
            said: summarize(stderr),
        };
    }
    Failure::Failed {
        summary: summarize(stderr),
    }
}

static AADSTS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"AADSTS\d+").ok());

/// The line az prints before a traceback; it says nothing on its own.
const TRACEBACK_INTRO: &str = "The command failed with an unexpected error. Here is the traceback:";

/// The `ERROR:` lines of `stderr` (and their continuation lines) without the traceback, plus any
/// `AADSTS` code that only appears in the traceback. Sanitized and bounded.
pub(crate) fn summarize(stderr: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut in_error = false;
    let mut before_traceback: Vec<&str> = Vec::new();
    for line in stderr.lines() {
        let line = line.trim_end();
        if line.starts_with("Traceback (most recent call last)") {
            break;
        }
        before_traceback.push(line);
        if let Some(rest) = line.strip_prefix("ERROR:") {
            let rest = rest.trim();
            in_error = true;
            if !rest.is_empty() && rest != TRACEBACK_INTRO {
                kept.push(rest);
            }
        } else if line.starts_with("WARNING:") || line.trim().is_empty() || line.starts_with([' ', '\t']) {
            in_error = false;
        } else if in_error {
            // "The error may be caused by …", "Certificate verification failed. …": hints that
            // belong to the error above.
            kept.push(line.trim());
        }
    }
    if kept.is_empty() {
        // No `ERROR:` prefix (another tool, a wrapper, an old CLI): keep what is not a warning.
        kept = before_traceback
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with("WARNING:"))
            .collect();
    }
    if kept.is_empty() {
        // Only a traceback: its last line names the exception.
        if let Some(last) = stderr
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty() && !l.starts_with("WARNING:"))
        {
            kept.push(last);
        }
    }
    let mut summary = kept.join(" ");
    if let Some(re) = AADSTS.as_ref() {
        let mut missing: Vec<&str> = Vec::new();
        for code in re.find_iter(stderr).map(|m| m.as_str()) {
            if !summary.contains(code) && !missing.contains(&code) {
                missing.push(code);
            }
        }
        if !missing.is_empty() {
            summary.push_str(if summary.is_empty() { "" } else { " " });
            summary.push_str(&format!("(Microsoft Entra error {})", missing.join(", ")));
        }
    }
    bounded(&sanitize(&summary).replace('\n', " "), SUMMARY_CHARS)
}

// ---- Error messages for the provider's outcomes ----

/// How to get `az`, appended to every "not found" message.
pub(crate) const INSTALL_HINT: &str = "install it (https://aka.ms/azure-cli) or set its location with \
     `AzureCliCredentialBuilder::az_path`";

/// How messages name the tool.
const CLI: CliName<'static> = CliName {
    product: "Azure CLI",
    command: "az",
    path_option: "AzureCliCredentialBuilder::az_path",
    install_url: "https://aka.ms/azure-cli",
};

pub(crate) fn not_found_error(e: NotFound) -> Error {
    Error::unavailable(NAME, e.message(CLI))
}

pub(crate) fn run_error(
    e: RunError,
    found: &Found,
    caller_wins: bool,
    process_timeout: Duration,
    elapsed: Duration,
) -> Error {
    let path = found.path().display();
    match e {
        RunError::Spawn(err) => match err.kind() {
            std::io::ErrorKind::NotFound => Error::unavailable(
                NAME,
                format!("Azure CLI not found on path: `{path}` could not be started; {INSTALL_HINT}"),
            ),
            _ => Error::unavailable(
                NAME,
                format!("failed to execute `{path}`; check that it is the Azure CLI and is executable"),
            )
            .with_source(err),
        },
        RunError::TimedOut if caller_wins => Error::timeout(
            NAME,
            format!(
                "the request's deadline passed after {} while waiting for `az account get-access-token`; \
                 the process was stopped",
                secs(elapsed)
            ),
        ),
        RunError::TimedOut => Error::unavailable(
            NAME,
            format!(
                "Azure CLI did not answer within {} and was stopped; it can be slow to start, so \
                 raise `process_timeout` (`AzureCliCredentialBuilder::process_timeout`)",
                secs(process_timeout)
            ),
        ),
        RunError::StdoutTooLarge => Error::authentication_failed(
            NAME,
            format!(
                "unexpected output from Azure CLI: more than {} KiB on stdout, so it was stopped; run \
                 `az account get-access-token` yourself to see what it prints",
                STDOUT_LIMIT / 1024
            ),
        ),
        RunError::Wait(err) => {
            Error::unavailable(NAME, "failed to wait for the Azure CLI process").with_source(err)
        }
    }
}

fn exit_description(done: &Finished) -> String {
    if let Some(code) = done.status.code() {
        return format!("failed with exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = done.status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    "failed".to_owned()
}

pub(crate) fn unexpected_output(why: &UnexpectedOutput) -> Error {
    Error::authentication_failed(
        NAME,
        format!(
            "unexpected output from Azure CLI: {why}; run `az account get-access-token --output json` \
             yourself, and update the Azure CLI if the output looks wrong"
        ),
    )
}

pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 || s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The error for a run that exited unsuccessfully, from its exit status and stderr.
pub(crate) fn failed_run(done: &Finished) -> Error {
    let stderr = String::from_utf8_lossy(&done.stderr);
    let status = exit_description(done);
    match classify(done.status.code(), &stderr) {
        Failure::NotInstalled => Error::unavailable(
            NAME,
            format!("Azure CLI not found on path (`az` {status}); {INSTALL_HINT}"),
        ),
        Failure::NotSignedIn { said } => Error::unavailable(
            NAME,
            format!(
                "Azure CLI is not signed in or has no usable account (it said: {said}); run `az login` \
                 to set up an account"
            ),
        ),
        Failure::Failed { summary } if summary.is_empty() => Error::authentication_failed(
            NAME,
            format!(
                "`az account get-access-token` {status} without an error message; run it yourself to \
                 see what is wrong"
            ),
        ),
        Failure::Failed { summary } => {
            Error::authentication_failed(NAME, format!("`az account get-access-token` {status}: {summary}"))
        }
    }
}

/// The error for a request with a claims challenge: the CLI cannot answer one, so it says the
/// exact `az login` command that can.
pub(crate) fn claims_challenge(claims: &str, tenant: Option<&str>, scope: &str) -> Error {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(claims.as_bytes());
    let mut command = format!("az login --claims-challenge {encoded}");
    if let Some(t) = tenant {
        command.push_str(&format!(" --tenant {t}"));
    }
    command.push_str(&format!(" --scope {scope}"));
    Error::unavailable(
        NAME,
        format!(
            "the Azure CLI cannot answer a claims challenge by itself; sign in again with \
             `{command}` (Azure CLI 2.76.0 or later), then retry"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(secs(Duration::from_secs(10)), "10 s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(secs(Duration::from_secs(2)), "2 s");
    }

    fn data(name: &str) -> String {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn azure_identity_classification_vectors() {
        let not_signed_in = |s: &str| matches!(classify(Some(1), s), Failure::NotSignedIn { .. });
        assert!(not_signed_in("ERROR: Please run 'az login' to setup account."));
        assert!(not_signed_in(
            "ERROR: No subscription found. Run 'az account set' to select a subscription."
        ));
        assert!(!not_signed_in(
            "ERROR: AADSTS70043: The refresh token has expired, Please run 'az login' to setup account."
        ));
        assert!(!not_signed_in(
            "ERROR: AADSTS50076: … az login --scope https://management.core.windows.net//.default"
        ));
        assert!(
            !not_signed_in("ERROR: please run AZ LOGIN"),
            "the match is case-sensitive"
        );
        assert_eq!(
            classify(Some(127), "/bin/sh: az: command not found"),
            Failure::NotInstalled
        );
        assert_eq!(
            classify(
                Some(1),
                "'az' is not recognized as an internal or external command"
            ),
            Failure::NotInstalled
        );
        assert_eq!(
            classify(Some(42), "something went wrong"),
            Failure::Failed {
                summary: "something went wrong".into()
            }
        );
        assert_eq!(
            classify(Some(1), ""),
            Failure::Failed {
                summary: String::new()
            }
        );
        assert_eq!(
            classify(Some(2), r#"ERROR: {"accessToken": "secret value", "x": 1}"#),
            Failure::Failed {
                summary: r#"{"accessToken": ****, "x": 1}"#.into()
            }
        );
        assert_eq!(
            classify(Some(1), r#"ERROR: {"accessToken":"secret value"}"#),
            Failure::Failed {
                summary: r#"{"accessToken":****}"#.into()
            }
        );
    }

    #[test]
    fn real_logged_out_output() {
        assert_eq!(
            classify(Some(1), &data("logged_out.stderr")),
            Failure::NotSignedIn {
                said: "Please run 'az login' to setup account.".into()
            }
        );
    }

    #[test]
    fn real_wrong_secret_keeps_code_and_hint() {
        let Failure::Failed { summary } = classify(Some(1), &data("wrong_secret.stderr")) else {
            panic!("not a failure");
        };
        assert!(
            summary.starts_with("AADSTS7000215: Invalid client secret provided."),
            "{summary}"
        );
        assert!(
            summary.contains("Correlation ID: c02c58eb-fbac-422b-a21e-91a652b8f04d"),
            "{summary}"
        );
        assert!(summary.contains("use --certificate instead."), "{summary}");
    }

    #[test]
    fn real_traceback_outputs_keep_error_lines_only() {
        for (file, must_contain) in [
            ("unknown_tenant.stderr", "Unable to get authority configuration"),
            ("bad_tenant_chars.stderr", "Unable to get authority configuration"),
            ("server_down.stderr", "Max retries exceeded"),
            ("untrusted_cert.stderr", "CERTIFICATE_VERIFY_FAILED"),
        ] {
            let Failure::Failed { summary } = classify(Some(1), &data(file)) else {
                panic!("{file}: not a failure");
            };
            assert!(summary.contains(must_contain), "{file}: {summary}");
            for noise in ["Traceback", "File \"", "^^^^", "WARNING", TRACEBACK_INTRO] {
                assert!(!summary.contains(noise), "{file}: {noise:?} in {summary}");
            }
            assert!(summary.chars().count() <= SUMMARY_CHARS + 1, "{file}");
        }
    }

    #[test]
    fn aadsts_code_from_the_traceback_is_named() {
        let Failure::Failed { summary } = classify(Some(1), &data("unknown_tenant.stderr")) else {
            panic!("not a failure");
        };
        assert!(
            summary.ends_with("(Microsoft Entra error AADSTS90002)"),
            "{summary}"
        );
        assert_eq!(summary.matches("AADSTS90002").count(), 1, "{summary}");
    }

    #[test]
    fn untrusted_cert_keeps_its_hint() {
        let summary = summarize(&data("untrusted_cert.stderr"));
        assert!(
            summary.contains("Please add this certificate to the trusted CA bundle"),
            "{summary}"
        );
    }

    #[test]
    fn only_a_traceback_gives_its_last_line() {
        let stderr = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'tenant'\n";
        assert_eq!(summarize(stderr), "KeyError: 'tenant'");
    }

    #[test]
    fn summary_is_bounded_and_single_line() {
        let stderr = format!("ERROR: {}\nmore\n", "x".repeat(5000));
        let s = summarize(&stderr);
        assert!(!s.contains('\n'));
        assert_eq!(s.chars().count(), SUMMARY_CHARS + 1);
    }

    #[test]
    fn tokens_in_stderr_are_redacted() {
        let stderr =
            "ERROR: request failed: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let s = summarize(stderr);
        assert!(!s.contains("eyJ"), "{s}");
    }
}

/// Property tests: whatever `az` writes to stderr, the summary is bounded, printable and never
/// shows a JWT. 10,000 cases; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use crate::parse::prop::run;
    use proptest::prelude::*;

    #[test]
    fn any_stderr_gives_a_bounded_printable_summary_without_tokens() {
        let line = prop_oneof![
            Just("ERROR: ".to_owned()),
            Just("WARNING: x".to_owned()),
            Just("Traceback (most recent call last):".to_owned()),
            Just("Please run 'az login' to setup account.".to_owned()),
            Just(String::new()),
            "  [a-z ]{0,20}",
            "AADSTS[0-9]{1,8}: .{0,20}",
            ".{0,60}",
        ];
        let jwt = "eyJ[A-Za-z0-9_-]{8,20}\\.[A-Za-z0-9_-]{8,30}\\.[A-Za-z0-9_-]{8,30}";
        let code = proptest::option::of(any::<i32>());
        run(
            (
                proptest::collection::vec(line, 0..8),
                jwt,
                0usize..8,
                code,
                1usize..4,
            ),
            |(mut lines, jwt, at, code, repeat)| {
                lines.insert(at.min(lines.len()), format!("ERROR: token {jwt} rejected"));
                let stderr = lines.join("\n").repeat(repeat);
                let summary = match classify(code, &stderr) {
                    Failure::NotInstalled => return Ok(()),
                    Failure::NotSignedIn { said } => said,
                    Failure::Failed { summary } => summary,
                };
                prop_assert!(summary.chars().count() <= SUMMARY_CHARS + 1, "{}", summary.len());
                prop_assert!(!summary.chars().any(char::is_control), "{:?}", summary);
                prop_assert!(!summary.contains(&jwt), "{}", summary);
                Ok(())
            },
        );
    }
}
