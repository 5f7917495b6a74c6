//! AzureCliCredential against hostile fake `az` scripts. Each script runs with a unique
//! marker variable in its environment (an injected `Env` is the child's whole environment,
//! so every descendant inherits it); after each row no process carrying the marker may be
//! left.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use credchain::{AzureCliCredential, Env, ErrorKind, TokenCache, TokenCredential};

use super::{Expect, TOKEN, check, report};

/// The documented cap on `az`'s stdout, as the error names it.
const STDOUT_CAP: &str = "more than 1024 KiB on stdout";
/// A PATH for the scripts' own tools.
const TOOLS_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// One row: a name, the fake `az`'s shell body (`{TOKEN}` stands for the token), the outcome,
/// and whether the credential is asked through credchain's token cache (whose shared load runs
/// without the caller's deadline: the caller gives up, the load is dropped, `az` must die).
struct AzRow {
    name: &'static str,
    script: &'static str,
    expect: Expect,
    behind_cache: bool,
}

fn az(name: &'static str, script: &'static str, expect: Expect) -> AzRow {
    AzRow {
        name,
        script,
        expect,
        behind_cache: false,
    }
}

fn az_behind_cache(name: &'static str, script: &'static str, expect: Expect) -> AzRow {
    AzRow {
        behind_cache: true,
        ..az(name, script, expect)
    }
}

/// `az`'s JSON with `expires_on` replaced by `expires_on`.
macro_rules! az_json {
    ($expires_on:literal) => {
        concat!(
            r#"printf '%s' '{"accessToken":"{TOKEN}","expiresOn":"2099-01-01 00:00:00.000000","expires_on":"#,
            $expires_on,
            r#","subscription":"s","tenant":"t","tokenType":"Bearer"}'"#
        )
    };
}

#[rustfmt::skip] // one row per line
fn table() -> Vec<AzRow> {
    use ErrorKind::*;
    use Expect::*;
    const DEADLINE_PASSED: &[&str] = &[
        "the request's deadline passed after 1.5 s",
        "the process was stopped",
    ];
    const UNEXPECTED: &str = "unexpected output from Azure CLI";
    const BAD_EXPIRES_ON: &[&str] = &[UNEXPECTED, "`expires_on` is not a whole number of seconds"];
    vec![
        az("hang", "sleep 30", Fails(Timeout, DEADLINE_PASSED)),
        az("hang with a grandchild", "sleep 30 & wait", Fails(Timeout, DEADLINE_PASSED)),
        az("slow drip", "while :; do printf '{'; sleep 0.1; done", Fails(Timeout, DEADLINE_PASSED)),
        az("stdout flood", "yes '{TOKEN}'", Fails(AuthenticationFailed, &[UNEXPECTED, STDOUT_CAP, "stopped"])),
        az("stdout flood of NULs", "cat /dev/zero", Fails(AuthenticationFailed, &[UNEXPECTED, STDOUT_CAP])),
        az("stderr flood, then exit 1", "head -c 50000000 /dev/zero >&2; exit 1", Fails(AuthenticationFailed, &["failed with exit status 1"])),
        az("stderr flood without end", "yes '{TOKEN}' >&2", Fails(Timeout, DEADLINE_PASSED)),
        az("killed by SIGKILL mid-output", r#"printf '{"accessToken":"{TOKEN}","expires_on":'; kill -9 $$"#, Fails(AuthenticationFailed, &["killed by signal 9"])),
        az("killed by SIGSEGV", "kill -SEGV $$", Fails(AuthenticationFailed, &["killed by signal 11"])),
        az("exits 0 mid-JSON", r#"printf '{"accessToken":"{TOKEN}","expires_on":'"#, Fails(AuthenticationFailed, &[UNEXPECTED, "not JSON"])),
        az("exits, a child keeps stdout open", concat!("sleep 30 &\n", az_json!("4102444800")), Token),
        az("garbage bytes", "head -c 4096 /dev/urandom", Fails(AuthenticationFailed, &[UNEXPECTED, "not UTF-8"])),
        az("not JSON", "echo 'Hello {TOKEN}'", Fails(AuthenticationFailed, &[UNEXPECTED, "not JSON"])),
        az("expires_on 1e300", az_json!("1e300"), Fails(AuthenticationFailed, BAD_EXPIRES_ON)),
        az("expires_on u64::MAX", az_json!("18446744073709551615"), Fails(AuthenticationFailed, BAD_EXPIRES_ON)),
        az("expires_on negative", az_json!("-1"), Fails(AuthenticationFailed, BAD_EXPIRES_ON)),
        az("expires_on i64::MAX", az_json!("9223372036854775807"), Token),
        az("expires_on year 9999", az_json!("253402300799"), Token),
        az_behind_cache("hang, behind the token cache", "sleep 30 & wait", Fails(Timeout, &["the caller's deadline passed while waiting for a token"])),
        az_behind_cache("stdout flood, behind the token cache", "yes '{TOKEN}'", Fails(AuthenticationFailed, &[UNEXPECTED, STDOUT_CAP])),
    ]
}

/// Writes the fake `az` for `body` into `dir`.
fn fake_az(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("az");
    std::fs::write(&path, format!("#!/bin/sh\n{}\n", body.replace("{TOKEN}", TOKEN))).expect("write az");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod az");
    path
}

/// Live (not zombie) processes whose environment holds `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            !matches!(state, None | Some('Z' | 'X'))
                && environ.split(|b| *b == 0).any(|var| var == marker.as_bytes())
        })
        .collect()
}

/// Waits up to 5 s for every process carrying `marker` to be gone; returns the survivors.
async fn survivors(marker: &str) -> Vec<u32> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with(marker);
        if left.is_empty() || Instant::now() > until {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn azure_cli_credential_survives_hostile_az_scripts() {
    let mut problems = Vec::new();
    for (i, row) in table().into_iter().enumerate() {
        let AzRow {
            name,
            script,
            expect,
            behind_cache,
        } = row;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = fake_az(dir.path(), script);
        let marker = format!("CREDCHAIN_FAULT_MARKER={}-{i}", std::process::id());
        let (key, value) = marker.split_once('=').expect("marker");
        let env = Env::from_pairs([
            ("PATH", TOOLS_PATH),
            ("HOME", &dir.path().display().to_string()),
            (key, value),
        ]);
        let make = || -> Box<dyn TokenCredential> {
            let credential = AzureCliCredential::builder()
                .az_path(&path)
                .env(env.clone())
                .build()
                .expect("AzureCliCredential builds");
            if behind_cache {
                Box::new(TokenCache::new(credential))
            } else {
                Box::new(credential)
            }
        };
        problems.extend(check(name, expect, &[], make).await);
        let left = survivors(&marker).await;
        if !left.is_empty() {
            problems.push(format!("{name}: processes left behind: {left:?}"));
            for pid in left {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
    report("AzureCliCredential", problems);
}

/// The leftover check must see a live process carrying the marker, or it proves nothing.
#[tokio::test]
async fn the_leftover_check_sees_a_live_marked_process() {
    let marker = format!("CREDCHAIN_FAULT_MARKER={}-self-test", std::process::id());
    let (key, value) = marker.split_once('=').expect("marker");
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .env_clear()
        .env("PATH", TOOLS_PATH)
        .env(key, value)
        .spawn()
        .expect("sleep starts");
    let seen = processes_with(&marker);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen, [child.id()]);
    assert_eq!(survivors(&marker).await, Vec::<u32>::new());
}
