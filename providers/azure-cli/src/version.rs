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

/// Property tests: no output of `az version` panics the parser, and only a plausible version is
/// ever returned, exactly as printed. 10,000 cases; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use crate::parse::prop::run;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn only_plausible_versions_are_returned_as_printed() {
        let version = prop_oneof![
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(-beta|\\+dev)?",
            ".{0,50}",
            "[A-Za-z0-9.+-]{38,42}",
        ];
        let stdout = prop_oneof![
            version.prop_map(|v| (json!({"azure-cli": v, "extensions": {}}).to_string(), Some(v))),
            proptest::collection::vec(any::<u8>(), 0..128)
                .prop_map(|b| (String::from_utf8_lossy(&b).into_owned(), None)),
        ];
        run(stdout, |(stdout, printed)| {
            let parsed = parse_az_version(stdout.as_bytes());
            if let Some(v) = &parsed {
                prop_assert!(!v.is_empty() && v.len() <= 40);
                prop_assert!(
                    v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".+-".contains(&b))
                );
            }
            if let Some(printed) = printed {
                let plausible = !printed.is_empty()
                    && printed.len() <= 40
                    && printed
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".+-".contains(&b));
                prop_assert_eq!(parsed, plausible.then_some(printed));
            }
            Ok(())
        });
    }
}
