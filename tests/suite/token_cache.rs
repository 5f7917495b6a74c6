//! `credchain token --cache`: the built binary sharing tokens between processes, against fake
//! `az` scripts and (when `CREDCHAIN_REAL_AZ` is set) the real Azure CLI signed in against
//! credchain-fake-entra.
#![cfg(all(unix, feature = "cli"))]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use super::serve::{AZ_TOKEN, Host};

/// A host whose cache lives in its own `XDG_RUNTIME_DIR`.
fn cached_host(delay: &str) -> Host {
    let mut host = Host::with_az(delay);
    let run = host.root().join("run");
    std::fs::create_dir(&run).expect("run dir");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    host.env
        .push(("XDG_RUNTIME_DIR".to_owned(), run.display().to_string()));
    host
}

fn cache_dir(host: &Host) -> PathBuf {
    host.root().join("run/credchain")
}

fn token(host: &Host, extra: &[&str]) -> Output {
    let mut args = vec!["token", "--cache", "-o", "token"];
    args.extend_from_slice(extra);
    host.command(&args).output().expect("run credchain")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

fn entries(host: &Host) -> Vec<PathBuf> {
    std::fs::read_dir(cache_dir(host))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes az's profile with `user` signed in (as `az login` would), with az's UTF-8 BOM.
fn sign_in_profile(host: &Host, user: &str) {
    let dir = host.home().join(".azure");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let profile = serde_json::json!({
        "installationId": "5d2f2fd4-4a1e-11f0-9c4d-0242ac120002",
        "subscriptions": [{
            "id": "0b1f6471-1bf0-4dda-aec3-cb9272f09590", "name": "Dev", "state": "Enabled",
            "user": {"name": user, "type": "user"}, "isDefault": true,
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "environmentName": "AzureCloud"
        }]
    });
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(profile.to_string().into_bytes());
    std::fs::write(dir.join("azureProfile.json"), bytes).expect("write profile");
}

/// az's profile after `az logout`: no subscriptions left.
fn sign_out_profile(host: &Host) {
    std::fs::write(
        host.home().join(".azure/azureProfile.json"),
        "\u{feff}{\"installationId\": \"5d2f2fd4-4a1e-11f0-9c4d-0242ac120002\", \"subscriptions\": []}",
    )
    .expect("write profile");
}

fn write_logged_out_az(host: &Host) {
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = version ]; then echo '{{\"azure-cli\": \"2.91.0\"}}'; exit 0; fi\n\
         echo \"$@\" >> '{root}/az.log'\n\
         echo \"ERROR: Please run 'az login' to setup account.\" >&2\n\
         exit 1\n",
        root = host.root().display()
    );
    let az = host.root().join("bin/az");
    std::fs::write(&az, script).expect("write");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn second_run_is_a_hit_and_entries_are_private() {
    let host = cached_host("0");
    let first = token(&host, &[]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    assert_eq!(stdout(&first), AZ_TOKEN);
    // The next runs use the cache even though az would now answer differently.
    host.write_az("0", "a-newer-token");
    for _ in 0..3 {
        assert_eq!(stdout(&token(&host, &[])), AZ_TOKEN);
    }
    assert_eq!(host.az_runs(), 1);
    // The JSON output works from the cache too, naming the issuing provider.
    let json: serde_json::Value =
        serde_json::from_slice(&host.command(&["token", "--cache"]).output().expect("run").stdout)
            .expect("json");
    assert_eq!(json["accessToken"], AZ_TOKEN);
    assert_eq!(json["credential"], "AzureCliCredential");
    assert_eq!(json["expires_on"], 4070908800_i64);
    assert_eq!(host.az_runs(), 1);

    let dir = cache_dir(&host);
    assert_eq!(
        std::fs::metadata(&dir).expect("dir").permissions().mode() & 0o777,
        0o700
    );
    let files = entries(&host);
    assert_eq!(files.len(), 1);
    assert_eq!(
        std::fs::metadata(&files[0]).expect("entry").permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&files[0]).expect("entry");
    assert!(!text.contains("refresh"), "access tokens only: {text}");
}

#[test]
fn different_requests_have_different_entries() {
    let host = cached_host("0");
    token(&host, &[]);
    token(&host, &["--scope", "api://other/.default"]);
    token(&host, &["--tenant", "contoso.onmicrosoft.com"]);
    assert_eq!(host.az_runs(), 3);
    token(&host, &["--scope", "api://other/.default"]);
    assert_eq!(host.az_runs(), 3);
}

#[test]
fn claims_challenges_bypass_the_cache() {
    let host = cached_host("0");
    assert_eq!(stdout(&token(&host, &[])), AZ_TOKEN);
    // A claims challenge needs a new token: the cached one is not printed (the Azure CLI
    // cannot answer claims by itself, so the chain has no token to give here).
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let out = token(&host, &["--claims", claims]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(stdout(&out), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("claims challenge"));
}

#[test]
fn twenty_concurrent_processes_run_az_once() {
    let host = cached_host("1");
    let children: Vec<_> = (0..20)
        .map(|_| {
            host.command(&["token", "--cache", "-o", "token"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(stdout(&out), AZ_TOKEN);
    }
    assert_eq!(host.az_runs(), 1);
}

#[test]
fn corrupt_or_truncated_entries_are_ignored_and_rewritten() {
    let host = cached_host("0");
    token(&host, &[]);
    let entry = entries(&host).pop().expect("entry");
    let full = std::fs::read(&entry).expect("read");
    for broken in [
        full[..full.len() / 2].to_vec(),
        b"\0\xff not json".to_vec(),
        Vec::new(),
    ] {
        std::fs::write(&entry, broken).expect("break");
        let out = token(&host, &[]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(stdout(&out), AZ_TOKEN);
    }
    assert_eq!(host.az_runs(), 4, "each broken entry cost one az run");
    // …and was rewritten: the next run is a hit.
    token(&host, &[]);
    assert_eq!(host.az_runs(), 4);
}

#[test]
fn a_token_close_to_expiry_is_not_reused() {
    let host = cached_host("0");
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        + 120;
    host.write_az_expiring("0", AZ_TOKEN, soon);
    token(&host, &[]);
    token(&host, &[]);
    assert_eq!(host.az_runs(), 2);
}

#[test]
fn az_logout_invalidates() {
    let host = cached_host("0");
    sign_in_profile(&host, "ada@contoso.com");
    token(&host, &[]);
    token(&host, &[]);
    assert_eq!(host.az_runs(), 1);
    sign_out_profile(&host);
    write_logged_out_az(&host);
    let out = token(&host, &[]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(stdout(&out), "", "the old token is not returned");
    assert_eq!(host.az_runs(), 2);
}

#[test]
fn a_different_account_invalidates() {
    let host = cached_host("0");
    sign_in_profile(&host, "ada@contoso.com");
    token(&host, &[]);
    sign_in_profile(&host, "grace@contoso.com");
    host.write_az("0", "grace-token");
    assert_eq!(stdout(&token(&host, &[])), "grace-token");
    assert_eq!(host.az_runs(), 2);
}

#[test]
fn changed_azure_configuration_invalidates() {
    let mut host = cached_host("0");
    token(&host, &[]);
    host.env.push((
        "AZURE_TOKEN_CREDENTIALS".to_owned(),
        "AzureCliCredential".to_owned(),
    ));
    host.write_az("0", "token-after-config-change");
    assert_eq!(stdout(&token(&host, &[])), "token-after-config-change");
    assert_eq!(host.az_runs(), 2);
}

#[test]
fn an_open_or_foreign_directory_is_refused() {
    let host = cached_host("0");
    let dir = cache_dir(&host);
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = token(&host, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("chmod 700") && stderr.contains("group or others"),
        "{stderr}"
    );
    assert_eq!(host.az_runs(), 0);

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let me = std::fs::metadata(host.root()).expect("root").uid();
    if me != 0 {
        eprintln!("skipped the foreign-owner half: chown needs root");
        return;
    }
    let chowned = std::process::Command::new("chown")
        .args(["4242", dir.to_str().expect("utf-8")])
        .status()
        .expect("chown");
    assert!(chowned.success());
    let out = token(&host, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("belongs to user 4242"), "{stderr}");
    assert_eq!(host.az_runs(), 0);
}

#[test]
fn falls_back_to_the_home_cache_directory() {
    let host = Host::with_az("0");
    token(&host, &[]);
    token(&host, &[]);
    assert_eq!(host.az_runs(), 1);
    let dir = host.home().join(".cache/credchain");
    assert_eq!(
        std::fs::metadata(dir).expect("dir").permissions().mode() & 0o777,
        0o700
    );
}

// ---------------------------------------------------------------------------------------------
// The real Azure CLI

/// `az` (the real one) behind a wrapper that counts `get-access-token` calls.
fn wrap_real_az(host: &Host, real: &Path) {
    let script = format!(
        "#!/bin/sh\n\
         case \"$*\" in *get-access-token*) echo \"$@\" >> '{root}/az.log';; esac\n\
         exec '{real}' \"$@\"\n",
        root = host.root().display(),
        real = real.display()
    );
    let az = host.root().join("bin/az");
    std::fs::write(&az, script).expect("write");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_az_hit_after_fetch_and_invalidated_by_logout_and_account_change() {
    let Some(real) = std::env::var_os("CREDCHAIN_REAL_AZ") else {
        eprintln!("skipped: set CREDCHAIN_REAL_AZ=\"$(.ci/install-azure-cli.sh)\" to run");
        return;
    };
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const ADA: &str = "0bc2a8f1-5f5e-4b8a-9a3d-5a6b0d2c3e4f";
    const GRACE: &str = "8c3e5d4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
    let entra = credchain_fake_entra::FakeEntra::builder()
        .client_secret(TENANT, ADA, "ada-secret")
        .client_secret(TENANT, GRACE, "grace-secret")
        .start()
        .await
        .expect("fake entra");
    let mut host = cached_host("0");
    wrap_real_az(&host, Path::new(&real));
    let config = host.root().join("azure");
    for (name, value) in [
        ("AZURE_CONFIG_DIR", config.display().to_string()),
        (
            "XDG_CACHE_HOME",
            host.root().join("xdg-cache").display().to_string(),
        ),
        ("REQUESTS_CA_BUNDLE", entra.ca_pem_path().display().to_string()),
        ("AZURE_CORE_INSTANCE_DISCOVERY", "false".to_owned()),
        ("AZURE_CORE_COLLECT_TELEMETRY", "false".to_owned()),
        ("AZURE_CORE_NO_COLOR", "true".to_owned()),
        ("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential".to_owned()),
    ] {
        host.env.push((name.to_owned(), value));
    }
    // az itself runs in the same clean environment as credchain.
    let az = |args: &[&str]| {
        let cmd = host.command(&[]);
        let mut real_cmd = std::process::Command::new(&real);
        real_cmd.env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                real_cmd.env(k, v);
            }
        }
        let out = real_cmd.args(args).output().expect("run az");
        assert!(
            out.status.success(),
            "az {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let authority = entra.authority();
    let resource = format!("{authority}/");
    tokio::task::block_in_place(|| {
        az(&[
            "cloud",
            "register",
            "--name",
            "FakeCloud",
            "--skip-endpoint-discovery",
            "--endpoint-active-directory",
            &authority,
            "--endpoint-active-directory-resource-id",
            &resource,
            "--endpoint-resource-manager",
            &resource,
            "--endpoint-management",
            &resource,
            "--endpoint-active-directory-graph-resource-id",
            "https://graph.fake.local/",
            "--endpoint-microsoft-graph-resource-id",
            "https://graph.fake.local/",
        ]);
        az(&["cloud", "set", "--name", "FakeCloud"]);
        az(&[
            "login",
            "--service-principal",
            "-u",
            ADA,
            "-p",
            "ada-secret",
            "--tenant",
            TENANT,
            "--allow-no-subscriptions",
        ]);
    });
    let scope = ["--scope", "api://app/.default"];
    let run = |host: &Host| tokio::task::block_in_place(|| token(host, &scope));

    let first = run(&host);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let ada_token = stdout(&first);
    assert_eq!(host.az_runs(), 1);
    // az rewrote its MSAL token cache while fetching; the next run is still a hit.
    let second = run(&host);
    assert_eq!(stdout(&second), ada_token);
    assert_eq!(host.az_runs(), 1, "the run right after a fetch is a cache hit");

    // Another account signs in: the next run fetches that account's token.
    tokio::task::block_in_place(|| {
        az(&[
            "login",
            "--service-principal",
            "-u",
            GRACE,
            "-p",
            "grace-secret",
            "--tenant",
            TENANT,
            "--allow-no-subscriptions",
        ]);
    });
    let third = run(&host);
    assert_eq!(third.status.code(), Some(0), "{third:?}");
    assert_ne!(stdout(&third), ada_token);
    assert_eq!(host.az_runs(), 2);

    let grace_token = stdout(&third);

    // After `az logout` (of Grace, the current account) Grace's token is not returned.
    tokio::task::block_in_place(|| az(&["logout"]));
    let fourth = run(&host);
    assert_ne!(stdout(&fourth), grace_token, "{fourth:?}");
    assert_eq!(host.az_runs(), 3);
    // With nobody signed in, no token at all.
    tokio::task::block_in_place(|| az(&["account", "clear"]));
    let fifth = run(&host);
    assert_ne!(fifth.status.code(), Some(0), "{fifth:?}");
    assert_eq!(stdout(&fifth), "");
    assert_eq!(host.az_runs(), 4);
}
