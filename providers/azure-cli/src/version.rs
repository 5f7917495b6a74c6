//! `az version`, for diagnostics such as `credchain doctor`: run through the same machinery as a
//! token request (no shell, bounded output, a hard time limit, the whole process group killed).

use std::time::{Duration, Instant};

use credchain_core::Error;
use credchain_process::{Invocation, RunError, STDOUT_LIMIT, deadline_after, run};

use crate::classify::{not_found_error, secs};
use crate::credential::{AzureCliCredential, NAME, safe_working_dir};
use crate::install::find_az;

impl AzureCliCredential {
    /// Runs `az version --output json` with this credential's `az`, environment and working
    /// directory, and returns its `azure-cli` value (such as `2.91.0`). Nothing is cached.
    ///
    /// `timeout` bounds the whole run: then `az` and everything it started are killed. stdout is
    /// capped at 1 MiB (more stops `az`), stderr is ignored.
    ///
    /// # Errors
    ///
    /// [`Unavailable`](credchain_core::ErrorKind::Unavailable) when `az` is not found, cannot be
    /// run, does not answer within `timeout`, fails, or prints no plausible version; the message
    /// says which.
    pub async fn az_version(&self, timeout: Duration) -> Result<String, Error> {
        let config = &*self.inner;
        let cwd = safe_working_dir(config)?;
        let found = find_az(config.az_path.as_deref(), &config.env, &cwd).map_err(not_found_error)?;
        let args = ["version", "--output", "json"].map(str::to_owned);
        let started = Instant::now();
        let done = run(Invocation {
            program: found.path(),
            args: &args,
            cwd: &cwd,
            env: &config.env,
            extra_env: &[("AZURE_CORE_NO_COLOR", "true")],
            deadline: deadline_after(started, timeout),
        })
        .await
        .map_err(|e| {
            let why = match e {
                RunError::Spawn(err) => format!("could not be run: {err}"),
                RunError::TimedOut => format!("did not answer within {} and was stopped", secs(timeout)),
                RunError::StdoutTooLarge => {
                    format!("printed more than {} KiB, so it was stopped", STDOUT_LIMIT / 1024)
                }
                RunError::Wait(err) => format!("could not be waited for: {err}"),
            };
            Error::unavailable(NAME, format!("`{} version` {why}", found.path().display()))
        })?;
        if !done.status.success() {
            return Err(Error::unavailable(
                NAME,
                format!(
                    "`{} version` failed ({}); run it yourself to see why",
                    found.path().display(),
                    done.status
                ),
            ));
        }
        parse_az_version(&done.stdout).ok_or_else(|| {
            Error::unavailable(
                NAME,
                format!(
                    "`{} version` did not print an `azure-cli` version",
                    found.path().display()
                ),
            )
        })
    }
}

/// The `azure-cli` value of `az version --output json`, if it looks like a version.
fn parse_az_version(stdout: &[u8]) -> Option<String> {
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
}
