//! The real OS secret store on Linux: a freedesktop Secret Service (gnome-keyring) on a private
//! D-Bus session, started by `.ci/with-secret-service.sh`, which sets `CREDCHAIN_SECRET_SERVICE=1`.
//! Without it these tests print a notice and skip, except the dead-bus test, which needs no
//! Secret Service at all.
#![cfg(all(unix, not(any(target_os = "macos", target_os = "ios"))))]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use credchain_core::{Env, ErrorKind, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::FakeEntra;
use credchain_vscode::{
    KEYRING_SERVICE, OsSecretStore, SecretStore, SecretStoreErrorKind, VSCODE_CLIENT_ID, VsCodeCredential,
};
use secret_service::{EncryptionType, SecretService};

const ARM: &str = "https://management.azure.com/.default";

fn enabled(test: &str) -> bool {
    let on = std::env::var("CREDCHAIN_SECRET_SERVICE").as_deref() == Ok("1");
    if !on {
        println!(
            "skipping {test}: no private Secret Service; run it through `.ci/with-secret-service.sh cargo test -p \
             credchain-vscode`"
        );
    }
    on
}

/// Stores `secret` exactly as VS Code's Azure Account extension (keytar) did: attributes
/// `service` and `account` in the default collection. (The async client, on the test's Tokio
/// runtime: the crate's secret-service is built for Tokio.)
async fn seed(attributes: &[(&str, &str)], secret: &str) {
    let ss = SecretService::connect(EncryptionType::Dh)
        .await
        .expect("connect to the Secret Service");
    let collection = ss.get_default_collection().await.expect("default collection");
    collection.ensure_unlocked().await.expect("unlocked keyring");
    collection
        .create_item(
            "credchain test item",
            HashMap::from_iter(attributes.iter().copied()),
            secret.as_bytes(),
            true,
            "text/plain",
        )
        .await
        .expect("store the item");
}

/// Reads the item through the crate's store; called from inside the test's runtime, which the
/// store must survive (it must not start a runtime on a runtime thread).
fn stored(account: &str) -> Option<String> {
    OsSecretStore::new()
        .find_password(KEYRING_SERVICE, account)
        .expect("lookup")
        .map(|s| s.expose().to_owned())
}

/// A credential for `cloud` (a custom cloud name keeps each test's item apart), pointed at
/// the fake endpoint, reading the real OS store.
fn credential(fake: &FakeEntra, home: &Path, cloud: &str) -> VsCodeCredential {
    let settings = home.join("settings.json");
    std::fs::write(
        &settings,
        format!("{{ \"azure.cloud\": \"{cloud}\", // custom\n }}"),
    )
    .expect("settings");
    VsCodeCredential::builder()
        .env(Env::from_pairs([
            ("HOME", home.display().to_string()),
            ("SSL_CERT_FILE", fake.ca_pem_path().display().to_string()),
        ]))
        .settings_path(settings)
        .authority(fake.authority())
        .build()
        .expect("build")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_vs_code_item_and_redeems_it() {
    if !enabled("reads_the_vs_code_item_and_redeems_it") {
        return;
    }
    let cloud = "CredchainRedeemCloud";
    let seeded = "secret-service-refresh-token-1";
    seed(&[("service", KEYRING_SERVICE), ("account", cloud)], seeded).await;
    let fake = FakeEntra::builder()
        .tenant("tenant-one")
        .refresh_token(VSCODE_CLIENT_ID, seeded)
        .start()
        .await
        .expect("fake Entra");
    let home = tempfile::tempdir().expect("temp dir");
    let credential = credential(&fake, home.path(), cloud);

    let first = credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .expect("first token");
    let second = credential
        .get_token(&[ARM], &TokenRequestOptions::new().with_tenant_id("tenant-one"))
        .await
        .expect("second token");
    assert_eq!(fake.issued_tokens(), [first.secret(), second.secret()]);

    let forms: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is_token_request())
        .collect();
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[0].form_value("grant_type"), Some("refresh_token"));
    assert_eq!(forms[0].form_value("client_id"), Some(VSCODE_CLIENT_ID));
    assert_eq!(forms[0].form_value("refresh_token"), Some(seeded));
    let rotated = forms[1].form_value("refresh_token").unwrap_or_default();
    assert!(
        !rotated.is_empty() && rotated != seeded,
        "the rotated token is used next"
    );
    assert_eq!(forms[1].path, "/tenant-one/oauth2/v2.0/token");
    assert_eq!(
        stored(cloud).as_deref(),
        Some(seeded),
        "the user's store is never written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_keyed_by_username_is_not_vs_codes() {
    if !enabled("an_item_keyed_by_username_is_not_vs_codes") {
        return;
    }
    // What the `keyring` crate writes; VS Code's extension used `account`, not `username`.
    let cloud = "CredchainUsernameCloud";
    seed(
        &[("service", KEYRING_SERVICE), ("username", cloud)],
        "not-this-one",
    )
    .await;
    let fake = FakeEntra::builder().start().await.expect("fake Entra");
    let home = tempfile::tempdir().expect("temp dir");
    let e = credential(&fake, home.path(), cloud)
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message().contains(&format!(
            "the Secret Service has no item with service `VS Code Azure` and account `{cloud}`"
        )),
        "{e}"
    );
    assert!(e.message().contains("`az login`"), "{e}");
    assert_eq!(fake.token_request_count(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn an_item_with_an_empty_secret_is_reported_as_empty() {
    if !enabled("an_item_with_an_empty_secret_is_reported_as_empty") {
        return;
    }
    let cloud = "CredchainEmptyCloud";
    seed(&[("service", KEYRING_SERVICE), ("account", cloud)], "").await;
    let fake = FakeEntra::builder().start().await.expect("fake Entra");
    let home = tempfile::tempdir().expect("temp dir");
    // A current-thread runtime: the lookup must not need (or block) the caller's runtime.
    let e = credential(&fake, home.path(), cloud)
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message().contains(&format!(
            "the Secret Service has an item with service `VS Code Azure` and account `{cloud}`, but its \
             secret is empty"
        )),
        "{e}"
    );
    assert_eq!(fake.token_request_count(), 0);
}

/// Runs [`dead_bus_child`] in a child process whose session bus address points at a socket
/// nobody listens on (the Secret Service connection reads the process environment, so this
/// cannot be injected in-process).
#[test]
fn dead_bus_is_unavailable_not_a_hang_or_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("dead-bus");
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
    // The child test's name as the harness knows it: its module path without the crate name.
    let child = format!(
        "{}::dead_bus_child",
        module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, rest)| rest)
    );
    for address in [
        format!("unix:path={}", socket.display()),
        format!("unix:path={}", dir.path().join("none").display()),
    ] {
        let output = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                &child,
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_RUNTIME_DIR", dir.path())
            .output()
            .expect("run the child test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "{address}\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
#[ignore = "run by dead_bus_is_unavailable_not_a_hang_or_a_panic in a child process"]
async fn dead_bus_child() {
    let home = tempfile::tempdir().expect("temp dir");
    let credential = VsCodeCredential::builder()
        .env(Env::from_pairs([("HOME", home.path().display().to_string())]))
        .build()
        .expect("build");
    let e = credential
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.message()
            .contains("the Secret Service is not available: cannot connect to the Secret Service"),
        "{e}"
    );
    assert!(e.message().contains("`az login`"), "{e}");

    // Called directly on a runtime thread, the store must not start a second runtime there
    // (that would panic); it reports the dead bus instead.
    let direct = OsSecretStore::new()
        .find_password(KEYRING_SERVICE, "AzureCloud")
        .unwrap_err();
    assert_eq!(direct.kind(), SecretStoreErrorKind::NotAvailable, "{direct}");
}

/// Runs [`hung_bus_child`] against a session bus that accepts connections and never answers
/// (a socket that is listened on but never read), as a hung D-Bus peer would.
#[test]
fn a_hung_bus_keeps_one_lookup_thread_however_many_requests_time_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("hung-bus");
    // Held open for the child's whole run: the kernel completes its connects, nobody replies.
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            &child_test("hung_bus_child"),
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", socket.display()),
        )
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "run by a_hung_bus_keeps_one_lookup_thread_however_many_requests_time_out in a child process"]
async fn hung_bus_child() {
    let threads = || std::fs::read_dir("/proc/self/task").map(Iterator::count).ok();
    let home = tempfile::tempdir().expect("temp dir");
    let credential = VsCodeCredential::builder()
        .env(Env::from_pairs([("HOME", home.path().display().to_string())]))
        .secret_store_timeout(std::time::Duration::from_millis(100))
        .build()
        .expect("build");
    let before = threads();
    for attempt in 0..6 {
        let e = credential
            .get_token(&[ARM], &TokenRequestOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        let expected = if attempt == 0 {
            "the Secret Service did not answer within 0.1 s; it may be locked"
        } else {
            "an earlier request's lookup, running for"
        };
        assert!(e.message().contains(expected), "attempt {attempt}: {e}");
    }
    // One stuck lookup thread (and whatever its private runtime started), not one per request.
    if let (Some(before), Some(after)) = (before, threads()) {
        assert!(
            after.saturating_sub(before) <= 3,
            "{before} threads before, {after} after six timed-out requests"
        );
    }
}

/// Runs [`locked_keyring_child`] on a bus and keyring of its own (locking the shared keyring
/// would break the other tests running in parallel).
#[test]
fn locked_keyring_is_unavailable_and_says_so() {
    if !enabled("locked_keyring_is_unavailable_and_says_so") {
        return;
    }
    let home = tempfile::tempdir().expect("temp dir");
    let runtime = tempfile::tempdir().expect("temp dir");
    let script = r#"printf %s locked-test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$0" --exact "$1" --include-ignored --nocapture --test-threads=1"#;
    let output = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .arg(std::env::current_exe().expect("test binary"))
        .arg(child_test("locked_keyring_child"))
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("run dbus-run-session");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by locked_keyring_is_unavailable_and_says_so on a private bus"]
async fn locked_keyring_child() {
    let cloud = "CredchainLockedCloud";
    seed(
        &[("service", KEYRING_SERVICE), ("account", cloud)],
        "locked-away-refresh-token",
    )
    .await;
    {
        let ss = SecretService::connect(EncryptionType::Dh).await.expect("connect");
        ss.get_default_collection()
            .await
            .expect("collection")
            .lock()
            .await
            .expect("lock the keyring");
    }
    let fake = FakeEntra::builder().start().await.expect("fake Entra");
    let home = tempfile::tempdir().expect("temp dir");
    let e = credential(&fake, home.path(), cloud)
        .get_token(&[ARM], &TokenRequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.message().contains("the Secret Service is locked"), "{e}");
    assert!(e.message().contains("unlock your keyring"), "{e}");
    assert!(!e.to_string().contains("locked-away-refresh-token"), "{e}");
    assert_eq!(fake.token_request_count(), 0);
}

/// A test's name as the harness knows it (its module path without the crate name), for running
/// one ignored child test in a process of its own.
fn child_test(name: &str) -> String {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    format!("{module}::{name}")
}
