//! Scenarios against fake `az` executables that reproduce the real CLI's outputs byte for byte
//! (`tests/data/`, captured from Azure CLI 2.91.0), plus hostile behaviours: hangs, huge or
//! non-UTF-8 output, children that keep stdout open, and callers that give up.
#![cfg(unix)]

use crate::common;

use std::time::{Duration, Instant, SystemTime};

use common::{FakeAz, TOOLS_PATH, gone_within, is_running};
use credchain_azure_cli::AzureCliCredential;
use credchain_core::{AccessToken, Env, Error, ErrorKind, TokenCredential, TokenRequestOptions};

const ARM: &str = "https://management.azure.com/.default";
const SAMPLE_TOKEN_PREFIX: &str = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJSUzI1NiIsICJraWQiOiAiZmFrZS1raWQifQ.";

fn env(extra: &[(&str, &str)]) -> Env {
    let mut pairs = vec![("PATH", TOOLS_PATH), ("TZ", "UTC")];
    pairs.extend_from_slice(extra);
    Env::from_pairs(pairs)
}

fn credential_for(fake: &FakeAz) -> AzureCliCredential {
    AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .build()
        .expect("valid options")
}

async fn token(fake: &FakeAz) -> Result<AccessToken, Error> {
    credential_for(fake)
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn sample_token() -> String {
    let text = std::fs::read_to_string(common::data_dir().join("ok_scope.stdout")).expect("sample");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["accessToken"].as_str().expect("token").to_owned()
}

/// Asserts the error's text (Display and Debug) never shows `secret`.
fn assert_hidden(err: &Error, secret: &str) {
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(secret), "secret leaked: {shown}");
    }
}

#[tokio::test]
async fn success_uses_expires_on_and_runs_az_as_specified() {
    let fake = FakeAz::sample("ok_scope");
    let t = token(&fake).await.expect("token");
    assert_eq!(t.secret(), sample_token());
    assert!(t.secret().starts_with(SAMPLE_TOKEN_PREFIX));
    assert_eq!(unix(t.expires_on()), 1795679499);
    assert_eq!(t.token_type(), "Bearer");
    assert_eq!(
        fake.argv(),
        ["account", "get-access-token", "--output", "json", "--scope", ARM]
    );
    // `/bin` may be a symlink (merged /usr), and the shell reports the physical path.
    let bin = std::fs::canonicalize("/bin").expect("/bin exists");
    assert_eq!(std::path::Path::new(fake.read("cwd").trim()), bin);
    assert_eq!(fake.read("no_color"), "true");
}

#[tokio::test]
async fn old_cli_output_with_only_local_expiry() {
    let fake = FakeAz::new(
        r#"printf '{"accessToken": "old-cli-token", "expiresOn": "2023-10-31 21:59:10.000000", "tokenType": "Bearer"}'"#,
    );
    let t = token(&fake).await.expect("token");
    assert_eq!(t.secret(), "old-cli-token");
    assert_eq!(unix(t.expires_on()), 1698789550);

    // The same string from a CLI running in New York is four hours later in UTC.
    let ny = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(Env::from_pairs([
            ("PATH", TOOLS_PATH),
            ("TZ", "EST5EDT,M3.2.0,M11.1.0"),
        ]))
        .build()
        .expect("valid");
    let t = ny
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(unix(t.expires_on()), 1698803950);
}

#[tokio::test]
async fn tz_naming_a_fifo_or_dev_zero_neither_hangs_nor_floods() {
    // `TZ` comes from whoever started us. A FIFO blocks `open` forever and `/dev/zero` never ends:
    // the zone is resolved only for a local `expiresOn`, and then with a bounded, non-blocking
    // read, so both mean UTC (as glibc would have used for az).
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("tz-fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let fifo = fifo.to_str().expect("utf-8").to_owned();
    let local_only = FakeAz::new(
        r#"printf '{"accessToken": "old-cli-token", "expiresOn": "2023-10-31 21:59:10.000000"}'"#,
    );
    let modern = FakeAz::sample("ok_scope");
    for tz in [fifo.as_str(), "/dev/zero", ":/dev/zero"] {
        for (fake, expected) in [(&local_only, Some(1698789550)), (&modern, None)] {
            let c = AzureCliCredential::builder()
                .az_path(fake.path())
                .env(Env::from_pairs([("PATH", TOOLS_PATH), ("TZ", tz)]))
                .build()
                .expect("valid");
            let t = c
                .get_token(&[ARM], &TokenRequestOptions::new())
                .await
                .unwrap_or_else(|e| panic!("TZ={tz}: {e}"));
            if let Some(expected) = expected {
                assert_eq!(unix(t.expires_on()), expected, "TZ={tz}");
            }
        }
    }
}

#[tokio::test]
async fn warnings_on_stderr_do_not_spoil_a_success() {
    let fake = FakeAz::new(
        r#"echo "WARNING: The command is in preview and under development." >&2
printf '{"accessToken":"tok-with-warning","expires_on":"1795679499"}'"#,
    );
    let t = token(&fake).await.expect("token");
    assert_eq!(t.secret(), "tok-with-warning");
    assert_eq!(unix(t.expires_on()), 1795679499);
}

/// Real failure outputs: (case, kind, substrings the message must contain).
#[tokio::test]
async fn recorded_failures_are_classified() {
    let table: &[(&str, ErrorKind, &[&str])] = &[
        (
            "logged_out",
            ErrorKind::Unavailable,
            &[
                "not signed in",
                "Please run 'az login' to setup account.",
                "run `az login`",
            ],
        ),
        (
            "wrong_secret",
            ErrorKind::AuthenticationFailed,
            &[
                "exit status 1",
                "AADSTS7000215: Invalid client secret provided.",
                "Correlation ID: c02c58eb-fbac-422b-a21e-91a652b8f04d",
            ],
        ),
        (
            "unknown_tenant",
            ErrorKind::AuthenticationFailed,
            &[
                "Unable to get authority configuration for https://127.0.0.1:47443/00000000-0000-0000-0000-00000000dead",
                "AADSTS90002",
            ],
        ),
        (
            "bad_tenant_chars",
            ErrorKind::AuthenticationFailed,
            &["Unable to get authority configuration", "AADSTS90002"],
        ),
        (
            "server_down",
            ErrorKind::AuthenticationFailed,
            &["Max retries exceeded", "Connection refused"],
        ),
        (
            "untrusted_cert",
            ErrorKind::AuthenticationFailed,
            &["CERTIFICATE_VERIFY_FAILED", "trusted CA bundle"],
        ),
    ];
    for (case, kind, needles) in table {
        let fake = FakeAz::sample(case);
        let err = token(&fake).await.expect_err(case);
        assert_eq!(err.kind(), *kind, "{case}: {err}");
        assert_eq!(err.provider(), "AzureCliCredential");
        for needle in *needles {
            assert!(
                err.message().contains(needle),
                "{case}: missing {needle:?} in {err}"
            );
        }
        for noise in ["Traceback", "File \"", "site-packages", "WARNING"] {
            assert!(!err.message().contains(noise), "{case}: {noise:?} in {err}");
        }
        assert!(err.message().chars().count() < 1000, "{case}: too long");
        assert!(!err.message().contains('\n'), "{case}: multi-line");
    }
}

#[tokio::test]
async fn exit_127_means_not_installed() {
    let fake = FakeAz::new("echo '/bin/sh: 1: az: not found' >&2; exit 127");
    let err = token(&fake).await.expect_err("127");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("Azure CLI not found on path"), "{err}");
    assert!(err.message().contains("https://aka.ms/azure-cli"), "{err}");
}

#[tokio::test]
async fn unexpected_outputs_never_show_the_token() {
    let table: &[(&str, &str)] = &[
        ("printf 'null'", "expected a JSON object but found `null`"),
        ("printf '[]'", "found an array"),
        ("printf 'garbage <html>'", "it is not JSON: `garbage <html>`"),
        (
            r#"printf '{"accessToken":"secret value"'"#,
            r#"it is not JSON: `{"accessToken":****`"#,
        ),
        (
            r#"printf '{"accessToken": "secret value", "subscription": "x"}'"#,
            "has neither `expires_on` nor `expiresOn`",
        ),
        (
            r#"printf '{"accessToken":"secret value","expires_on":"soon"}'"#,
            "`expires_on` is not",
        ),
        ("printf '\\377\\376{}'", "4 bytes that are not UTF-8"),
        ("true", "it printed nothing"),
    ];
    for (body, needle) in table {
        let fake = FakeAz::new(body);
        let err = token(&fake).await.expect_err(body);
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{body}: {err}");
        assert!(
            err.message().starts_with("unexpected output from Azure CLI: "),
            "{err}"
        );
        assert!(
            err.message().contains(needle),
            "{body}: missing {needle:?} in {err}"
        );
        assert_hidden(&err, "secret value");
    }
}

#[tokio::test]
async fn stdout_of_a_failed_run_is_never_shown() {
    for body in [
        r#"printf '{"accessToken": "secret value", "expires_on": 1}'; exit 1"#,
        r#"printf '{"accessToken": "secret value"}'; echo 'ERROR: boom' >&2; exit 4"#,
    ] {
        let fake = FakeAz::new(body);
        let err = token(&fake).await.expect_err(body);
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
        assert_hidden(&err, "secret value");
    }
}

#[tokio::test]
async fn failure_stderr_is_sanitized() {
    let fake = FakeAz::new(r#"echo 'ERROR: {"accessToken":"secret value","x":1}' >&2; exit 2"#);
    let err = token(&fake).await.expect_err("fails");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("exit status 2"), "{err}");
    assert_hidden(&err, "secret value");
}

#[tokio::test]
async fn empty_stderr_failure_says_so() {
    let fake = FakeAz::new("exit 3");
    let err = token(&fake).await.expect_err("fails");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(
        err.message().contains("exit status 3 without an error message"),
        "{err}"
    );
}

#[tokio::test]
async fn killed_by_a_signal_is_reported() {
    let fake = FakeAz::new("kill -9 $$");
    let err = token(&fake).await.expect_err("killed");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("killed by signal 9"), "{err}");
}

#[tokio::test]
async fn hang_times_out_and_kills_the_whole_group() {
    let fake = FakeAz::new("sleep 300 &\necho $! > \"$d/grandchild\"\nsleep 300");
    let credential = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .process_timeout(Duration::from_millis(700))
        .build()
        .expect("valid");
    let started = Instant::now();
    let err = credential
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect_err("times out");
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("`process_timeout`"), "{err}");
    assert!(err.message().contains("within 0.7 s"), "{err}");
    assert!(elapsed >= Duration::from_millis(650), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let child = fake.pid_file("pid");
    let grandchild = fake.pid_file("grandchild");
    // The child was reaped by us before get_token returned: not even a zombie.
    assert!(!is_running(child), "az itself survived");
    assert!(
        gone_within(grandchild, Duration::from_secs(10)).await,
        "grandchild survived"
    );
}

#[tokio::test]
async fn caller_deadline_wins_and_is_a_timeout() {
    let fake = FakeAz::new("sleep 300");
    let credential = credential_for(&fake);
    let options = TokenRequestOptions::new().with_deadline(Instant::now() + Duration::from_millis(300));
    let started = Instant::now();
    let err = credential
        .get_token(&[ARM], &options)
        .await
        .expect_err("deadline");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("deadline"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!is_running(fake.pid_file("pid")));

    // A deadline already in the past spawns nothing.
    let fake = FakeAz::sample("ok_scope");
    let past = TokenRequestOptions::new().with_deadline(Instant::now());
    let err = credential_for(&fake)
        .get_token(&[ARM], &past)
        .await
        .expect_err("past");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(!fake.ran());
}

#[tokio::test]
async fn a_huge_process_timeout_is_no_limit_not_a_panic() {
    // `Instant + Duration::MAX` panics; the credential must not.
    let fake = FakeAz::sample("ok_scope");
    let credential = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .process_timeout(Duration::MAX)
        .build()
        .expect("valid options");
    let t = credential
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(t.secret(), sample_token());
}

#[tokio::test]
async fn a_relative_az_path_is_the_file_that_was_checked() {
    // The existence check runs in the process's directory, but `az` runs in `/bin`: a relative
    // path must not mean one file for the check and another (or none) for the run.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let fake = FakeAz::sample("ok_scope");
    std::fs::copy(fake.path(), dir.path().join("az")).expect("copy the fake");
    // `dir/az` as seen from the current directory: up to the common ancestor, then down.
    let cwd = std::env::current_dir().expect("cwd");
    let common = cwd
        .ancestors()
        .find(|a| dir.path().starts_with(a))
        .expect("common root");
    let mut relative = std::path::PathBuf::new();
    for _ in cwd.strip_prefix(common).expect("prefix").components() {
        relative.push("..");
    }
    relative.push(dir.path().strip_prefix(common).expect("prefix"));
    relative.push("az");
    assert!(relative.is_relative(), "{}", relative.display());
    let credential = AzureCliCredential::builder()
        .az_path(&relative)
        .env(env(&[]))
        .build()
        .expect("valid options");
    let t = credential
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(t.secret(), sample_token());
    let located = credential.locate_az().expect("located");
    assert!(located.is_absolute(), "{}", located.display());
    assert_eq!(
        std::fs::canonicalize(&located).ok(),
        std::fs::canonicalize(dir.path().join("az")).ok()
    );
}

#[tokio::test]
async fn dropped_future_kills_the_process_group() {
    let fake = FakeAz::new("sleep 300 &\necho $! > \"$d/grandchild\"\nsleep 300");
    let credential = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .process_timeout(Duration::from_secs(60))
        .build()
        .expect("valid");
    {
        let options = TokenRequestOptions::new();
        let call = credential.get_token(&[ARM], &options);
        // Give up (the future is dropped) once the fake is surely running.
        let gave_up = tokio::time::timeout(Duration::from_millis(500), call).await;
        assert!(gave_up.is_err(), "the fake hangs, so the call cannot finish");
    }
    let child = fake.pid_file("pid");
    let grandchild = fake.pid_file("grandchild");
    assert!(
        gone_within(child, Duration::from_secs(10)).await,
        "az survived the drop"
    );
    assert!(
        gone_within(grandchild, Duration::from_secs(10)).await,
        "grandchild survived the drop"
    );
}

#[tokio::test]
async fn child_holding_stdout_open_does_not_hang_the_call() {
    // Prints the token, leaves a background process holding stdout and stderr, and exits.
    let fake = FakeAz::new(
        r#"printf '{"accessToken":"tok-open-pipe","expires_on":1795679499}'
sleep 300 &
echo $! > "$d/grandchild"
exit 0"#,
    );
    let credential = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .process_timeout(Duration::from_secs(30))
        .build()
        .expect("valid");
    let started = Instant::now();
    let t = credential
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(t.secret(), "tok-open-pipe");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let grandchild = fake.pid_file("grandchild");
    assert!(
        gone_within(grandchild, Duration::from_secs(10)).await,
        "left an orphan"
    );
}

#[tokio::test]
async fn detached_background_work_is_left_alone() {
    // Like the CLI's telemetry uploader: started in the background with stdio on /dev/null.
    let fake = FakeAz::new(
        r#"sleep 30 </dev/null >/dev/null 2>&1 &
echo $! > "$d/background"
printf '{"accessToken":"tok","expires_on":1795679499}'"#,
    );
    let started = Instant::now();
    token(&fake).await.expect("token");
    assert!(started.elapsed() < Duration::from_secs(3));
    let background = fake.pid_file("background");
    let alive = is_running(background);
    if let Some(pid) = rustix::process::Pid::from_raw(background) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
    assert!(alive, "a process that released our pipes was killed");
}

#[tokio::test]
async fn huge_output_is_bounded_and_stopped() {
    // Would print 100 MiB forever-ish; we must stop at the cap, quickly.
    let fake = FakeAz::new("head -c 104857600 /dev/zero | tr '\\0' x");
    let started = Instant::now();
    let err = token(&fake).await.expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(err.message().contains("more than 1024 KiB"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!is_running(fake.pid_file("pid")));
}

#[tokio::test]
async fn huge_stderr_is_cut_but_success_still_parses() {
    let fake = FakeAz::new(
        r#"head -c 5000000 /dev/zero | tr '\0' w >&2
printf '{"accessToken":"tok-after-noise","expires_on":1}'"#,
    );
    assert_eq!(token(&fake).await.expect("token").secret(), "tok-after-noise");
}

#[tokio::test]
async fn tenant_subscription_and_scope_reach_argv_as_single_arguments() {
    let fake = FakeAz::sample("ok_scope");
    let c = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .subscription("My Sub 1")
        .build()
        .expect("valid");
    c.get_token(&["api://x/user_impersonation"], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(
        fake.argv(),
        [
            "account",
            "get-access-token",
            "--output",
            "json",
            "--scope",
            "api://x/user_impersonation",
            "--subscription",
            "My Sub 1"
        ]
    );

    let fake = FakeAz::sample("ok_scope");
    let c = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .tenant_id("home-tenant")
        .build()
        .expect("valid");
    c.get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.argv()[6..], ["--tenant", "home-tenant"]);
    c.get_token(
        &[ARM],
        &TokenRequestOptions::new().with_tenant_id("other.onmicrosoft.com"),
    )
    .await
    .expect("token");
    assert_eq!(fake.argv()[6..], ["--tenant", "other.onmicrosoft.com"]);
}

#[tokio::test]
async fn rejected_input_never_reaches_the_process() {
    let fake = FakeAz::sample("ok_scope");
    let c = credential_for(&fake);
    let none = TokenRequestOptions::new();
    let cases: Vec<(Vec<&str>, TokenRequestOptions, &str)> = vec![
        (vec![], none.clone(), "at least one scope"),
        (
            vec![ARM, "https://vault.azure.net/.default"],
            none.clone(),
            "exactly one scope",
        ),
        (
            vec!["https://x/.default; rm -rf /"],
            none.clone(),
            "invalid scope",
        ),
        // Valid characters, but it would read as a flag of the CLI.
        (vec!["--debug"], none.clone(), "must not start with `-`"),
        (
            vec![ARM],
            TokenRequestOptions::new().with_tenant_id("-t"),
            "must not start with `-`",
        ),
        (
            vec![ARM],
            TokenRequestOptions::new().with_tenant_id("t --subscription x"),
            "invalid tenant",
        ),
        (
            vec![ARM],
            TokenRequestOptions::new().with_tenant_id("bad!tenant"),
            "invalid tenant",
        ),
    ];
    for (scopes, options, needle) in cases {
        let err = c.get_token(&scopes, &options).await.expect_err("rejected");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{scopes:?}: {err}");
        assert!(err.message().contains(needle), "{scopes:?}: {err}");
        assert!(!fake.ran(), "{scopes:?} reached the process");
    }
}

#[tokio::test]
async fn claims_challenge_gives_the_exact_login_command() {
    let fake = FakeAz::sample("ok_scope");
    let claims = r#"{"access_token":{"acrs":{"essential":true,"values":["p1"]}}}"#;
    let encoded = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlcyI6WyJwMSJdfX19";
    let c = credential_for(&fake);
    let err = c
        .get_token(&[ARM], &TokenRequestOptions::new().with_claims(claims))
        .await
        .expect_err("claims");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(
        err.message()
            .contains(&format!("`az login --claims-challenge {encoded} --scope {ARM}`")),
        "{err}"
    );
    let err = c
        .get_token(
            &["scope"],
            &TokenRequestOptions::new()
                .with_claims(claims)
                .with_tenant_id("test-tenant-id"),
        )
        .await
        .expect_err("claims");
    assert!(
        err.message().contains(&format!(
            "`az login --claims-challenge {encoded} --tenant test-tenant-id --scope scope`"
        )),
        "{err}"
    );
    assert!(!fake.ran());
}

#[tokio::test]
async fn az_is_found_on_the_injected_path() {
    let fake = FakeAz::sample("ok_scope");
    let path = format!("{}:{TOOLS_PATH}", fake.dir().display());
    let c = AzureCliCredential::builder()
        .env(Env::from_pairs([("PATH", path.as_str()), ("TZ", "UTC")]))
        .build()
        .expect("valid");
    let t = c
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(t.secret(), sample_token());
    assert!(fake.ran());
}

#[tokio::test]
async fn not_found_spawns_nothing_and_says_how_to_install() {
    if [
        "/opt/homebrew/bin/az",
        "/usr/local/bin/az",
        "/home/linuxbrew/.linuxbrew/bin/az",
        "/usr/bin/az",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
    {
        eprintln!("skipped: az is installed in a well-known location on this machine");
        return;
    }
    let empty = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("tempdir");
    // An `az` exists, but not anywhere the credential looks.
    let hidden = FakeAz::sample("ok_scope");
    let path = empty.path().to_string_lossy().into_owned();
    let home_s = home.path().to_string_lossy().into_owned();
    let c = AzureCliCredential::builder()
        .env(Env::from_pairs([
            ("PATH", path.as_str()),
            ("HOME", home_s.as_str()),
        ]))
        .build()
        .expect("valid");
    let err = c
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect_err("not found");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().starts_with("Azure CLI not found on path"), "{err}");
    assert!(err.message().contains("`/opt/homebrew/bin`"), "{err}");
    assert!(err.message().contains(&format!("`{home_s}/.local/bin`")), "{err}");
    assert!(!hidden.ran());

    let missing = home.path().join("no-such-az");
    let c = AzureCliCredential::builder()
        .az_path(&missing)
        .build()
        .expect("valid");
    let err = c
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("`az_path`"), "{err}");
}

#[tokio::test]
async fn a_map_env_is_the_whole_child_environment() {
    let fake = FakeAz::sample("ok_scope");
    let c = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[("AZURE_CONFIG_DIR", "/tmp/isolated-az-config")]))
        .build()
        .expect("valid");
    c.get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.read("config_dir"), "/tmp/isolated-az-config");
    assert_eq!(
        fake.read("home"),
        "unset",
        "the process HOME leaked into a map env"
    );

    // With the process environment the child inherits it.
    let fake = FakeAz::sample("ok_scope");
    let c = AzureCliCredential::builder()
        .az_path(fake.path())
        .build()
        .expect("valid");
    c.get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(
        fake.read("home"),
        std::env::var("HOME").unwrap_or_else(|_| "unset".into())
    );
    assert_eq!(fake.read("no_color"), "true");
}

#[tokio::test]
async fn working_dir_can_be_overridden() {
    let fake = FakeAz::sample("ok_scope");
    let c = AzureCliCredential::builder()
        .az_path(fake.path())
        .env(env(&[]))
        .working_dir("/")
        .build()
        .expect("valid");
    c.get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(fake.read("cwd").trim(), "/");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_az_still_open_for_writing_is_retried_not_reported() {
    // Linux refuses to exec a file that some process has open for writing ("text file busy"):
    // hold the fake open for 30 ms, as an updater or a concurrently forked child would.
    let fake = FakeAz::sample("ok_scope");
    let writer = std::fs::OpenOptions::new()
        .append(true)
        .open(fake.path())
        .expect("open for writing");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        drop(writer);
    });
    let t = token(&fake).await.expect("token after the writer closed");
    assert_eq!(t.secret(), sample_token());
    release.join().expect("writer thread");
}

#[tokio::test]
async fn az_version_runs_through_the_bounded_runner() {
    let fake = FakeAz::new(
        r#"[ "$1 $2 $3" = 'version --output json' ] || exit 9
printf '{"azure-cli": "2.91.0", "extensions": {}}'"#,
    );
    let version = credential_for(&fake)
        .az_version(Duration::from_secs(30))
        .await
        .expect("version");
    assert_eq!(version, "2.91.0");

    let failing = FakeAz::new("exit 3");
    let err = credential_for(&failing)
        .az_version(Duration::from_secs(30))
        .await
        .expect_err("fails");
    assert!(err.is_unavailable() && err.message().contains("failed"), "{err}");
}

#[tokio::test]
async fn az_version_stops_a_flooding_az() {
    // Issue 14.2: doctor read `az version`'s stdout unbounded (1.5 GB). Now it is capped and
    // az is stopped; `cat /dev/zero` never ends on its own, so only the cap can end this run.
    let fake = FakeAz::new("cat /dev/zero");
    let err = credential_for(&fake)
        .az_version(Duration::from_secs(60))
        .await
        .expect_err("flood");
    assert!(err.message().contains("printed more than 1024 KiB"), "{err}");
    assert!(
        gone_within(fake.pid_file("pid"), Duration::from_secs(10)).await,
        "the flooding az was not stopped"
    );
}

#[tokio::test]
async fn az_version_kills_a_hanging_az_and_its_children() {
    // Issue 14.2: a hanging `az version` left a grandchild behind.
    let fake = FakeAz::new("sleep 300 &\necho $! > \"$d/grandchild\"\nsleep 300");
    let err = credential_for(&fake)
        .az_version(Duration::from_millis(500))
        .await
        .expect_err("hangs");
    assert!(err.message().contains("did not answer within"), "{err}");
    for name in ["pid", "grandchild"] {
        assert!(
            gone_within(fake.pid_file(name), Duration::from_secs(10)).await,
            "{name} survived the time limit"
        );
    }
}

#[tokio::test]
async fn an_az_in_a_writable_install_dir_is_refused_and_never_run() {
    // Issue 14.13: `~/.local/bin` is searched when `PATH` has no az. If anyone may write there,
    // the az in it may have been planted: refuse it, name it and say how to fix it.
    if [
        "/opt/homebrew/bin/az",
        "/usr/local/bin/az",
        "/usr/bin/az",
        "/bin/az",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
    {
        eprintln!("skipped: az is installed in an earlier well-known location on this machine");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().expect("tempdir");
    let bin = home.path().join(".local/bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let fake = FakeAz::sample("ok_scope");
    let planted = bin.join("az");
    std::fs::copy(fake.path(), &planted).expect("copy");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let home_s = home.path().to_string_lossy().into_owned();
    // The fake's tools are on `PATH`; az is not (checked above).
    let c = AzureCliCredential::builder()
        .env(Env::from_pairs([("PATH", TOOLS_PATH), ("HOME", home_s.as_str())]))
        .build()
        .expect("valid");
    let err = c
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect_err("untrusted");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let message = err.message();
    assert!(
        message.contains(&format!("`{}`", planted.display())) && message.contains("chmod go-w"),
        "{err}"
    );
    assert!(!fake.ran(), "the planted az ran");

    // Fixed permissions: the same az is used.
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let token = c
        .get_token(&[ARM], &TokenRequestOptions::new())
        .await
        .expect("trusted now");
    assert_eq!(token.secret(), sample_token());
}
