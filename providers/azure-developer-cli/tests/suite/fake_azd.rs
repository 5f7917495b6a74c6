//! The provider against fake `azd` scripts: what it runs, how it reads every output form, and
//! that nothing it starts outlives a timeout.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::{FakeAzd, TOOLS_PATH, gone_within, is_running};
use credchain_azure_developer_cli::{AzureDeveloperCliCredential, NAME};
use credchain_core::{Env, Error, ErrorKind, TokenCredential, TokenRequestOptions};

const VAULT: &str = "https://vault.azure.net/.default";
const ARM: &str = "https://management.azure.com/.default";
/// The token in `tests/data/ok_*.stdout`.
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";
/// 2026-11-27T16:00:00Z, the expiry in `tests/data/ok_*.stdout`.
const EXPIRES: u64 = 1_795_795_200;

fn env(extra: &[(&str, &str)]) -> Env {
    let mut pairs = vec![("PATH", TOOLS_PATH)];
    pairs.extend_from_slice(extra);
    Env::from_pairs(pairs)
}

fn credential(fake: &FakeAzd, env: Env) -> AzureDeveloperCliCredential {
    AzureDeveloperCliCredential::builder()
        .azd_path(fake.path())
        .env(env)
        .build()
        .expect("valid options")
}

async fn get(fake: &FakeAzd, scopes: &[&str], options: &TokenRequestOptions) -> Result<SystemTime, Error> {
    let token = credential(fake, env(&[])).get_token(scopes, options).await?;
    assert_eq!(token.secret(), TOKEN);
    Ok(token.expires_on())
}

#[tokio::test]
async fn runs_azd_auth_token_with_scopes_tenant_and_claims() {
    let fake = FakeAzd::sample("ok_utc");
    let options = TokenRequestOptions::new()
        .with_tenant_id("contoso.onmicrosoft.com")
        .with_claims(r#"{"access_token":{"nbf":{"essential":true}}}"#);
    get(&fake, &[VAULT, ARM], &options).await.expect("token");
    assert_eq!(
        fake.argv(),
        [
            "auth",
            "token",
            "--output",
            "json",
            "--no-prompt",
            "--scope",
            VAULT,
            "--scope",
            ARM,
            "--tenant-id",
            "contoso.onmicrosoft.com",
            "--claims",
            "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ==",
        ]
    );
    // `/bin` is a link to `/usr/bin` on merged-/usr systems; `pwd` prints the real directory.
    let bin = std::fs::canonicalize("/bin").expect("/bin");
    assert_eq!(std::path::Path::new(fake.read("cwd").trim()), bin);
    assert_eq!(fake.read("no_color"), "1");
    assert_eq!(fake.read("stdin"), "", "stdin must be connected to nothing");

    // Without tenant and claims, neither flag is passed.
    let plain = FakeAzd::sample("ok_utc");
    get(&plain, &[VAULT], &TokenRequestOptions::new())
        .await
        .expect("token");
    assert_eq!(
        plain.argv().join(" "),
        format!("auth token --output json --no-prompt --scope {VAULT}")
    );
}

/// azd prints `expiresOn` in RFC 3339, `Z` or the local offset. Python azure-identity parses it as
/// local time and is off by the UTC offset under `TZ=America/Los_Angeles`; we are not.
#[tokio::test]
async fn expiry_is_the_instant_azd_names_even_in_los_angeles() {
    let la = env(&[("TZ", "America/Los_Angeles")]);
    for case in ["ok_utc", "ok_offset"] {
        let fake = FakeAzd::sample(case);
        let token = credential(&fake, la.clone())
            .get_token(&[VAULT], &TokenRequestOptions::new())
            .await
            .expect(case);
        assert_eq!(
            token.expires_on(),
            UNIX_EPOCH + Duration::from_secs(EXPIRES),
            "{case}"
        );
        assert_eq!(
            fake.read("tz"),
            "America/Los_Angeles",
            "the fake ran in Los Angeles time"
        );
        if std::path::Path::new("/usr/share/zoneinfo/America/Los_Angeles").exists() {
            assert_eq!(fake.read("utc_offset").trim(), "-0800", "{case}");
        }
    }
}

/// Every stderr form azd writes, by version (see `tests/data`): the kind, and a message in
/// azd's words without JSON.
#[tokio::test]
async fn every_stderr_form_is_understood_and_shown_cleanly() {
    let suggestion =
        format!("Suggestion: login expired, run `azd auth login --scope {VAULT}` to acquire a new token.");
    let cases = [
        (
            "not_logged_in",
            ErrorKind::Unavailable,
            "Azure Developer CLI is not signed in (it said: not logged in, run `azd auth login` to login); \
             run `azd auth login` to set up an account"
                .to_owned(),
        ),
        (
            "unknown_tenant",
            ErrorKind::AuthenticationFailed,
            "`azd auth token` failed with exit status 1: fetching token: failed to authenticate: \
             (invalid_request) AADSTS90002: Tenant 'nope.onmicrosoft.com' not found."
                .to_owned(),
        ),
        (
            "expired_1_23_0",
            ErrorKind::AuthenticationFailed,
            "`azd auth token` failed with exit status 1: fetching token: AADSTS70043: The refresh token"
                .to_owned(),
        ),
        (
            "expired_1_23_0",
            ErrorKind::AuthenticationFailed,
            format!("Timestamp: 2026-11-27 15:20:31Z {suggestion}"),
        ),
        (
            "expired_1_23_7",
            ErrorKind::AuthenticationFailed,
            "failed with exit status 1: AADSTS70043: The refresh token has expired".to_owned(),
        ),
        (
            "expired_1_23_7",
            ErrorKind::AuthenticationFailed,
            format!("Timestamp: 2026-11-27 15:20:31Z {suggestion}"),
        ),
        (
            "expired_1_24_0",
            ErrorKind::AuthenticationFailed,
            "failed with exit status 1: AADSTS70043: The refresh token has expired".to_owned(),
        ),
        (
            "expired_1_24_0",
            ErrorKind::AuthenticationFailed,
            format!("Timestamp: 2026-11-27 15:20:31Z {suggestion}"),
        ),
        (
            "blocked_1_24_2",
            ErrorKind::AuthenticationFailed,
            "failed with exit status 1: Reauthentication required. AADSTS50005: User tried to log in"
                .to_owned(),
        ),
        (
            "blocked_1_24_2",
            ErrorKind::AuthenticationFailed,
            "Suggestion: reauthentication required, run `azd auth login --tenant-id contoso.onmicrosoft.com \
             --scope https://vault.azure.net/.default --use-device-code=false` to acquire a new token. See \
             https://aka.ms/azd/troubleshoot/conditional-access-policy"
                .to_owned(),
        ),
    ];
    for (case, kind, says) in cases {
        let fake = FakeAzd::sample(case);
        let e = get(&fake, &[VAULT], &TokenRequestOptions::new())
            .await
            .expect_err(case);
        assert_eq!((e.kind(), e.provider()), (kind, NAME), "{case}: {e}");
        assert!(e.message().contains(&says), "{case}: {}", e.message());
        for raw in ["{\"", "consoleMessage", "\\n", "ERROR:"] {
            assert!(
                !e.message().contains(raw),
                "{case} shows `{raw}`: {}",
                e.message()
            );
        }
    }
}

#[tokio::test]
async fn an_azd_without_claims_support_is_unavailable_and_says_to_upgrade() {
    let fake = FakeAzd::sample("claims_before_1_18_1");
    let options = TokenRequestOptions::new().with_claims(r#"{"access_token":{}}"#);
    let e = get(&fake, &[VAULT], &options).await.expect_err("old azd");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message().contains("upgrade azd to 1.18.1 or later"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn not_installed_is_unavailable() {
    // Exit status 127: a wrapper (or `sh`) could not find azd.
    let fake = FakeAzd::new("echo 'azd: command not found' >&2; exit 127");
    let e = get(&fake, &[VAULT], &TokenRequestOptions::new())
        .await
        .expect_err("127");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message().contains("Azure Developer CLI not found on path"),
        "{}",
        e.message()
    );

    // Not on PATH (an empty directory) nor in the usual places.
    let empty = tempfile::tempdir().expect("tempdir");
    let path = empty.path().to_string_lossy().into_owned();
    let credential = AzureDeveloperCliCredential::builder()
        .env(Env::from_pairs([("PATH", path.as_str())]))
        .build()
        .expect("valid");
    if credential.locate_azd().is_ok() {
        return; // This machine has azd installed in a usual location.
    }
    let e = credential
        .get_token(&[VAULT], &TokenRequestOptions::new())
        .await
        .expect_err("not found");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message().contains("searched `PATH` and `/usr/local/bin`"),
        "{}",
        e.message()
    );

    // A configured path that does not exist: no fallback.
    let missing = AzureDeveloperCliCredential::builder()
        .azd_path(empty.path().join("azd"))
        .build()
        .expect("valid");
    let e = missing
        .get_token(&[VAULT], &TokenRequestOptions::new())
        .await
        .expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.message().contains("(set with `azd_path`)"), "{}", e.message());
}

#[tokio::test]
async fn invalid_input_is_refused_before_anything_is_spawned() {
    let fake = FakeAzd::sample("ok_utc");
    let cases: [(&[&str], TokenRequestOptions); 5] = [
        (&[], TokenRequestOptions::new()),
        (&["bad scope;rm"], TokenRequestOptions::new()),
        (&["--debug"], TokenRequestOptions::new()),
        (&[VAULT], TokenRequestOptions::new().with_tenant_id("bad tenant")),
        (&[VAULT], TokenRequestOptions::new().with_claims("not json")),
    ];
    for (scopes, options) in cases {
        let e = get(&fake, scopes, &options).await.expect_err("invalid");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{scopes:?}: {e}");
    }
    assert!(!fake.ran(), "nothing may run for invalid input");
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let fake = FakeAzd::new("sleep 60 &\necho $! > \"$d/child\"\nwait");
    let credential = AzureDeveloperCliCredential::builder()
        .azd_path(fake.path())
        .env(env(&[]))
        .process_timeout(Duration::from_millis(500))
        .build()
        .expect("valid");
    let e = credential
        .get_token(&[VAULT], &TokenRequestOptions::new())
        .await
        .expect_err("timeout");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message()
            .contains("did not answer within 500 ms and was stopped"),
        "{}",
        e.message()
    );
    let (azd, child) = (fake.pid_file("pid"), fake.pid_file("child"));
    assert!(
        gone_within(azd, Duration::from_secs(5)).await,
        "azd {azd} survived"
    );
    assert!(
        gone_within(child, Duration::from_secs(5)).await,
        "its child {child} survived"
    );

    // A sooner caller deadline wins and is reported as the caller's timeout.
    let fake = FakeAzd::new("sleep 60 &\necho $! > \"$d/child\"\nwait");
    let options = TokenRequestOptions::new().with_deadline(Instant::now() + Duration::from_millis(300));
    let e = credential_for(&fake)
        .get_token(&[VAULT], &options)
        .await
        .expect_err("deadline");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let child = fake.pid_file("child");
    assert!(
        gone_within(child, Duration::from_secs(5)).await,
        "child {child} survived"
    );
    assert!(!is_running(fake.pid_file("pid")));
}

/// A caller that gives up (a lost `select!`, a `timeout`) drops the future: azd and its child die.
#[tokio::test]
async fn a_dropped_request_kills_azd_and_its_children() {
    let fake = FakeAzd::new("sleep 60 &\necho $! > \"$d/child\"\nwait");
    let credential = credential_for(&fake);
    let options = TokenRequestOptions::new();
    let mut request = Box::pin(credential.get_token(&[VAULT], &options));
    // Poll the request until the fake has started its child, then drop it.
    let started = async {
        while !fake.ran() || std::fs::read_to_string(fake.path().with_file_name("child")).is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        done = &mut request => panic!("azd cannot finish: {done:?}"),
        () = started => {}
    }
    drop(request);
    let (azd, child) = (fake.pid_file("pid"), fake.pid_file("child"));
    assert!(
        gone_within(azd, Duration::from_secs(5)).await,
        "azd {azd} survived"
    );
    assert!(
        gone_within(child, Duration::from_secs(5)).await,
        "its child {child} survived"
    );
}

fn credential_for(fake: &FakeAzd) -> AzureDeveloperCliCredential {
    credential(fake, env(&[]))
}

#[tokio::test]
async fn output_that_is_not_a_token_never_shows_it() {
    let cases = [
        format!("{{\"token\": \"{TOKEN}\", \"expiresOn\": \"{TOKEN}\"}}"),
        format!("{{\"token\": \"{TOKEN}\"}}"),
        format!("[\"{TOKEN}\", \"2026-11-27T16:00:00Z\"]"),
        format!("token: {TOKEN}"),
    ];
    for stdout in cases {
        let fake = FakeAzd::new(&format!("printf '%s' '{stdout}'\necho 'ERROR: {TOKEN}' >&2"));
        let e = get(&fake, &[VAULT], &TokenRequestOptions::new())
            .await
            .expect_err(&stdout);
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
        assert!(
            e.message()
                .starts_with("unexpected output from the Azure Developer CLI"),
            "{e}"
        );
        assert!(!format!("{e} {e:?}").contains(TOKEN), "token shown: {e}");
    }
    // A failed run whose stderr echoes the token: hidden.
    let fake = FakeAzd::new(&format!("echo 'ERROR: bad {TOKEN}' >&2\nexit 1"));
    let e = get(&fake, &[VAULT], &TokenRequestOptions::new())
        .await
        .expect_err("failed");
    assert!(
        e.message().ends_with("exit status 1: bad ****"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn azd_version_for_doctor() {
    // `azd version --output json`, azd 1.23-1.29 (`contracts.VersionResult`, indented).
    let fake = FakeAzd::new(
        "printf '{\\n  \"azd\": {\\n    \"version\": \"1.23.7\",\\n    \"commit\": \"a1b2c3d\"\\n  }\\n}\\n'",
    );
    let credential = credential_for(&fake);
    assert_eq!(
        credential
            .azd_version(Duration::from_secs(10))
            .await
            .expect("version"),
        "1.23.7"
    );
    assert_eq!(fake.argv().join(" "), "version --output json");

    let hangs = FakeAzd::new("sleep 60 &\necho $! > \"$d/child\"\nwait");
    let e = credential_for(&hangs)
        .azd_version(Duration::from_millis(300))
        .await
        .expect_err("hangs");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message().contains("did not answer within 300 ms"),
        "{}",
        e.message()
    );
    let child = hangs.pid_file("child");
    assert!(
        gone_within(child, Duration::from_secs(5)).await,
        "child {child} survived"
    );
}
