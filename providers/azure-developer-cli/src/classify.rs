//! Turning a run of azd into a token or an error. Pure.
//!
//! Rules, in order (as Python azure-identity's `AzureDeveloperCliCredential`, `azd_cli.py`):
//!
//! 1. Exit status 0 → stdout must be the token ([`output`](crate::output)).
//! 2. Exit status 127, or stderr starting with `'azd' is not recognized` → azd is not installed
//!    (a wrapper could not find it) → unavailable.
//! 3. stderr says `unknown flag: --claims` → an azd older than 1.18.1 got a claims challenge →
//!    unavailable, saying to upgrade.
//! 4. stderr says "not logged in, run `azd auth login`" and has no `AADSTS` code → unavailable.
//! 5. Anything else → authentication failed, with azd's messages cleaned
//!    ([`summarize`](crate::stderr::summarize)).
//!
//! No message ever contains stdout (on success it holds the token).

use std::process::ExitStatus;
use std::time::Duration;

use credchain_core::{AccessToken, Error};
use credchain_process::{CliName, Found, NotFound, RunError, STDOUT_LIMIT};

use crate::credential::NAME;
use crate::output;
use crate::stderr::summarize;

/// How to get azd, appended to every "not found" message.
pub(crate) const INSTALL_HINT: &str = "install it (https://aka.ms/azd-install) or set its location with \
     `AzureDeveloperCliCredentialBuilder::azd_path`";

/// How messages name the tool.
const CLI: CliName<'static> = CliName {
    product: "Azure Developer CLI",
    command: "azd",
    path_option: "AzureDeveloperCliCredentialBuilder::azd_path",
    install_url: "https://aka.ms/azd-install",
};

/// The first azd that accepts `--claims`.
pub(crate) const CLAIMS_VERSION: &str = "1.18.1";

/// The token, or the error for a finished run.
pub(crate) fn finished(status: ExitStatus, stdout: &[u8], stderr: &[u8]) -> Result<AccessToken, Error> {
    if status.success() {
        return output::parse(stdout)
            .map(|p| AccessToken::new(p.token, p.expires_on))
            .map_err(|why| {
                Error::authentication_failed(
                    NAME,
                    format!(
                        "unexpected output from the Azure Developer CLI: {why}; run `azd auth token \
                         --output json` yourself, and update azd if the output looks wrong"
                    ),
                )
            });
    }
    let raw = String::from_utf8_lossy(stderr);
    let said = summarize(&raw);
    let how = exit_description(status);
    if status.code() == Some(127) || raw.trim_start().starts_with("'azd' is not recognized") {
        return Err(Error::unavailable(
            NAME,
            format!("Azure Developer CLI not found on path (`azd` {how}); {INSTALL_HINT}"),
        ));
    }
    if raw.contains("unknown flag: --claims") {
        return Err(Error::unavailable(
            NAME,
            format!(
                "this Azure Developer CLI cannot answer a claims challenge (it said: {said}); upgrade \
                 azd to {CLAIMS_VERSION} or later (https://aka.ms/azd-install)"
            ),
        ));
    }
    if raw.contains("not logged in, run `azd auth login`") && !raw.contains("AADSTS") {
        return Err(Error::unavailable(
            NAME,
            format!(
                "Azure Developer CLI is not signed in (it said: {said}); run `azd auth login` to set up \
                 an account"
            ),
        ));
    }
    Err(Error::authentication_failed(
        NAME,
        if said.is_empty() {
            format!("`azd auth token` {how} without an error message; run it yourself to see what is wrong")
        } else {
            format!("`azd auth token` {how}: {said}")
        },
    ))
}

fn exit_description(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("failed with exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    "failed".to_owned()
}

/// The error when azd could not be found.
pub(crate) fn not_found(e: NotFound) -> Error {
    Error::unavailable(NAME, e.message(CLI))
}

/// Whose limit a run hit: the credential's `process_timeout` or the request's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    ProcessTimeout(Duration),
    CallerDeadline,
}

/// The error when azd did not finish normally.
pub(crate) fn run_error(e: RunError, found: &Found, limit: Limit, elapsed: Duration) -> Error {
    let path = found.path().display();
    match (e, limit) {
        (RunError::Spawn(err), _) if err.kind() == std::io::ErrorKind::NotFound => Error::unavailable(
            NAME,
            format!("Azure Developer CLI not found on path: `{path}` could not be started; {INSTALL_HINT}"),
        ),
        (RunError::Spawn(err), _) => Error::unavailable(
            NAME,
            format!("failed to execute `{path}`; check that it is the Azure Developer CLI and is executable"),
        )
        .with_source(err),
        (RunError::TimedOut, Limit::CallerDeadline) => Error::timeout(
            NAME,
            format!(
                "the request's deadline passed after {} while waiting for `azd auth token`; the \
                 process was stopped",
                human(elapsed)
            ),
        ),
        (RunError::TimedOut, Limit::ProcessTimeout(limit)) => Error::unavailable(
            NAME,
            format!(
                "Azure Developer CLI did not answer within {} and was stopped; raise \
                 `AzureDeveloperCliCredentialBuilder::process_timeout` if it is slow to start",
                human(limit)
            ),
        ),
        (RunError::StdoutTooLarge, _) => Error::authentication_failed(
            NAME,
            format!(
                "unexpected output from the Azure Developer CLI: more than {} KiB on stdout, so it was \
                 stopped; run `azd auth token --output json` yourself to see what it prints",
                STDOUT_LIMIT / 1024
            ),
        ),
        (RunError::Wait(err), _) => {
            Error::unavailable(NAME, "failed to wait for the Azure Developer CLI process").with_source(err)
        }
    }
}

/// `10 s`, `1.5 s`, `300 ms`.
pub(crate) fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use credchain_core::ErrorKind;
    use proptest::prelude::*;
    use std::os::unix::process::ExitStatusExt;

    fn exit(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn rules_in_order() {
        let cases: [(i32, &str, ErrorKind, &str); 7] = [
            (
                127,
                "sh: azd: not found\n",
                ErrorKind::Unavailable,
                "not found on path",
            ),
            (
                1,
                "'azd' is not recognized as an internal or external command",
                ErrorKind::Unavailable,
                "not found",
            ),
            (
                1,
                "Error: unknown flag: --claims\n",
                ErrorKind::Unavailable,
                "upgrade azd to 1.18.1",
            ),
            (
                1,
                "{\"type\":\"consoleMessage\",\"timestamp\":\"2026-11-27T15:20:31Z\",\"data\":{\"message\":\"\\nERROR: not logged in, run `azd auth login` to login\\n\"}}\n",
                ErrorKind::Unavailable,
                "not signed in (it said: not logged in, run `azd auth login` to login); run `azd auth login`",
            ),
            // An Entra refusal that mentions the same words is a real failure.
            (
                1,
                "ERROR: AADSTS70043: expired; not logged in, run `azd auth login` to login\n",
                ErrorKind::AuthenticationFailed,
                "`azd auth token` failed with exit status 1: AADSTS70043",
            ),
            (1, "", ErrorKind::AuthenticationFailed, "without an error message"),
            (
                2,
                "ERROR: boom\n",
                ErrorKind::AuthenticationFailed,
                "exit status 2: boom",
            ),
        ];
        for (code, stderr, kind, says) in cases {
            let e = finished(exit(code), b"", stderr.as_bytes()).expect_err(stderr);
            assert_eq!(e.kind(), kind, "{stderr}");
            assert!(e.message().contains(says), "{stderr}: {}", e.message());
            assert!(!e.message().contains("{\""), "raw JSON shown: {}", e.message());
        }
        let signalled = finished(ExitStatus::from_raw(9), b"", b"").expect_err("signal");
        assert!(
            signalled.message().contains("killed by signal 9"),
            "{}",
            signalled.message()
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_secs(10)), "10 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
    }

    #[test]
    fn bad_output_never_shows_stdout() {
        let e = finished(exit(0), b"{\"token\": \"s3cr3t\", \"expiresOn\": \"soon\"}", b"").expect_err("bad");
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert!(
            e.message().contains("`expiresOn` is not an RFC 3339 time"),
            "{}",
            e.message()
        );
        assert!(!format!("{e} {e:?}").contains("s3cr3t"));
    }

    fn jwt() -> impl Strategy<Value = String> {
        "eyJ[A-Za-z0-9_-]{4,20}\\.[A-Za-z0-9_-]{4,40}\\.[A-Za-z0-9_-]{4,40}"
    }

    /// Stderr as azd, a wrapper or garbage could write it, sometimes with the token inside.
    fn stderr_with(token: String) -> impl Strategy<Value = Vec<u8>> {
        let t = token.clone();
        let u = token.clone();
        prop_oneof![
            any::<Vec<u8>>(),
            ".{0,200}".prop_map(String::into_bytes),
            ".{0,80}".prop_map(move |m| {
                serde_json::json!({"type": "consoleMessage", "timestamp": "2026-11-27T15:20:31Z",
                    "data": {"message": format!("\nERROR: {m} {t}\n")}})
                .to_string()
                .into_bytes()
            }),
            (".{0,80}", ".{0,80}", any::<bool>()).prop_map(move |(m, s, both)| {
                let mut line = serde_json::json!({"error": format!("{m} {u}"), "suggestion": s});
                if both {
                    line["message"] = serde_json::Value::from(u.clone());
                    line["links"] = serde_json::json!([{"url": m}, 3, null]);
                }
                format!("{{\"type\":\"consoleMessage\",\"data\":{{\"message\":\"\\n\"}}}}\n{line}\n")
                    .into_bytes()
            }),
            Just(format!("not logged in, run `azd auth login` to login {token}").into_bytes()),
        ]
    }

    /// Stdout: the real shape, a near miss, or anything.
    fn stdout_with(token: String) -> impl Strategy<Value = Vec<u8>> {
        let t = token.clone();
        prop_oneof![
            any::<Vec<u8>>(),
            ".{0,40}".prop_map(move |when| {
                serde_json::json!({"token": t, "expiresOn": when})
                    .to_string()
                    .into_bytes()
            }),
            (any::<i64>(), ".{0,12}").prop_map(move |(secs, tz)| {
                format!("{{\n  \"token\": \"{token}\",\n  \"expiresOn\": \"{secs}{tz}\"\n}}\n").into_bytes()
            }),
        ]
    }

    proptest! {
        // 10,000 cases, like every parser property (the seed comes from `PROPTEST_RNG_SEED`).
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn no_output_panics_or_shows_the_token(
            (token, stdout, stderr, raw_status) in jwt().prop_flat_map(|t| {
                // An exit code (0-255) or death by a signal (1-31), as wait(2) reports them.
                let status = prop_oneof![any::<u8>().prop_map(|c| i32::from(c) << 8), 1..32i32];
                (Just(t.clone()), stdout_with(t.clone()), stderr_with(t), status)
            })
        ) {
            match finished(ExitStatus::from_raw(raw_status), &stdout, &stderr) {
                Ok(access) => {
                    prop_assert_eq!(raw_status, 0);
                    let shown = format!("{access:?}");
                    prop_assert!(!shown.contains(&token));
                }
                Err(e) => {
                    let shown = format!("{e} {e:?}");
                    prop_assert!(!shown.contains(&token), "token shown: {}", shown);
                    prop_assert!(!shown.contains("{\"type\""), "raw JSON shown: {}", shown);
                }
            }
        }
    }
}
