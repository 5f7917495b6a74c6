//! The `fake-entra` binary serves what its flags register and reports bad flags.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_fake-entra");

/// Kills the child when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_tokens_and_arm_listings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_path = dir.path().join("ca.pem");
    let mut child = Killed(
        Command::new(BIN)
            .args([
                "--tenant",
                TENANT,
                "--client-id",
                CLIENT,
                "--client-secret",
                SECRET,
            ])
            .args([
                "--subscription",
                &format!("sub-1,Dev,{TENANT}"),
                "--token-lifetime",
                "120",
            ])
            .arg("--ca-out")
            .arg(&ca_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let authority = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line.trim().to_owned())
    })
    .await
    .expect("joined")
    .expect("reads the authority line");
    assert!(authority.starts_with("https://127.0.0.1:"), "{authority}");
    let ca = std::fs::read_to_string(&ca_path).expect("CA written");

    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(&ca))
        .no_proxy()
        .build()
        .expect("client");
    let response = http
        .post(format!("{authority}/{TENANT}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}&scope=api%3A%2F%2Fx%2F.default"))
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("json");
    assert_eq!(body["expires_in"], 120);
    let token = body["access_token"].as_str().expect("token");
    let listing = http
        .get(format!("{authority}/subscriptions?api-version=2022-12-01"))
        .bearer_auth(token)
        .send()
        .await
        .expect("ARM request");
    let listing: serde_json::Value =
        serde_json::from_slice(&listing.bytes().await.expect("body")).expect("json");
    assert_eq!(listing["value"][0]["displayName"], "Dev");
}

#[test]
fn bad_flags_exit_with_status_2_and_a_message() {
    for args in [
        &["--port", "not-a-port"][..],
        &["--client-secret", "s"],
        &["--tenant", "t", "--client-secret", "s"],
        &["--user", "missing-parts"],
        &["--no-such-flag"],
    ] {
        let output = Command::new(BIN).args(args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("fake-entra: "), "{args:?}: {stderr}");
    }
    let help = Command::new(BIN).arg("--help").output().expect("runs");
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--client-secret"));
}
