//! `azd version`, for diagnostics such as `credchain doctor`: run through the same machinery as a
//! token request (no shell, bounded output, a hard time limit, the whole process group killed).
//!
//! `azd version --output json` prints `contracts.VersionResult` (azure-dev
//! `cli/azd/pkg/contracts/version.go`): `{"azd": {"version": "1.23.7", "commit": "…"}}`.

use std::time::{Duration, Instant};

use credchain_core::Error;
use credchain_process::{Invocation, RunError, STDOUT_LIMIT, deadline_after, run};

use crate::classify::{human, not_found};
use crate::credential::{AzureDeveloperCliCredential, NAME, safe_working_dir};
use crate::install::find_azd;

impl AzureDeveloperCliCredential {
    /// Runs `azd version --output json` with this credential's `azd`, environment and working
    /// directory, and returns azd's version (such as `1.23.7`). Nothing is cached.
    ///
    /// `timeout` bounds the whole run: then `azd` and everything it started are killed. stdout is
    /// capped at 1 MiB, stderr is ignored.
    ///
    /// # Errors
    ///
    /// [`Unavailable`](credchain_core::ErrorKind::Unavailable) when `azd` is not found, cannot be
    /// run, does not answer within `timeout`, fails, or prints no plausible version; the message
    /// says which.
    pub async fn azd_version(&self, timeout: Duration) -> Result<String, Error> {
        let config = &*self.inner;
        let cwd = safe_working_dir(config)?;
        let found = find_azd(config.azd_path.as_deref(), &config.env, &cwd).map_err(not_found)?;
        let shown = found.path().display();
        let args = ["version", "--output", "json"].map(str::to_owned);
        let done = run(Invocation {
            program: found.path(),
            args: &args,
            cwd: &cwd,
            env: &config.env,
            extra_env: &[],
            deadline: deadline_after(Instant::now(), timeout),
        })
        .await
        .map_err(|e| {
            let why = match e {
                RunError::Spawn(err) => format!("could not be run: {err}"),
                RunError::TimedOut => format!("did not answer within {} and was stopped", human(timeout)),
                RunError::StdoutTooLarge => {
                    format!("printed more than {} KiB, so it was stopped", STDOUT_LIMIT / 1024)
                }
                RunError::Wait(err) => format!("could not be waited for: {err}"),
            };
            Error::unavailable(NAME, format!("`{shown} version` {why}"))
        })?;
        if !done.status.success() {
            return Err(Error::unavailable(
                NAME,
                format!(
                    "`{shown} version` failed ({}); run it yourself to see why",
                    done.status
                ),
            ));
        }
        parse_version(&done.stdout).ok_or_else(|| {
            Error::unavailable(
                NAME,
                format!(
                    "`{shown} version --output json` printed no azd version; is it the Azure Developer CLI?"
                ),
            )
        })
    }
}

/// The `azd.version` value, when it looks like a version (`1.23.7`, `1.24.0-beta.1`).
fn parse_version(stdout: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(stdout).ok()?;
    let version = value.get("azd")?.get("version")?.as_str()?.trim();
    let plausible = !version.is_empty()
        && version.len() <= 64
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    plausible.then(|| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_azd_version_json() {
        let out = b"{\n  \"azd\": {\n    \"version\": \"1.23.7\",\n    \"commit\": \"0123abc\"\n  }\n}\n";
        assert_eq!(parse_version(out).as_deref(), Some("1.23.7"));
        assert_eq!(
            parse_version(br#"{"azd":{"version":"1.24.0-beta.1"}}"#).as_deref(),
            Some("1.24.0-beta.1")
        );
        for bad in [
            &b"azd version 1.23.7"[..],
            br#"{"azd":{"version":""}}"#,
            br#"{"azd":{"version":"1.2 ; rm"}}"#,
            br#"{"azd":{"version":"v1"}}"#,
            br#"{"azd":"1.23.7"}"#,
            br#"{"azure-cli":"2.91.0"}"#,
        ] {
            assert_eq!(parse_version(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
