//! The real Azure CLI signs in against the fake and gets tokens from it.
//!
//! Gated: set `CREDCHAIN_REAL_AZ=/path/to/az` (e.g. from the repository's
//! `.ci/install-azure-cli.sh`); without it the test prints a notice and passes.

use crate::common;

use std::path::Path;

use common::*;
use credchain_fake_entra::{FakeEntra, decode_jwt};

const SUBSCRIPTION: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

struct Az<'a> {
    program: String,
    config: &'a Path,
    ca: &'a Path,
}

impl Az<'_> {
    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = tokio::process::Command::new(&self.program)
            .args(args)
            .env("AZURE_CONFIG_DIR", self.config.join("azure"))
            .env("XDG_CACHE_HOME", self.config.join("cache"))
            .env("REQUESTS_CA_BUNDLE", self.ca)
            .env("AZURE_CORE_INSTANCE_DISCOVERY", "false")
            .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
            .env("AZURE_CORE_NO_COLOR", "true")
            .output()
            .await
            .expect("az runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    async fn register_cloud(&self, authority: &str) {
        let resource = format!("{authority}/");
        let (code, _, stderr) = self
            .run(&[
                "cloud",
                "register",
                "--name",
                "FakeCloud",
                "--skip-endpoint-discovery",
                "--endpoint-active-directory",
                authority,
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
            ])
            .await;
        assert_eq!(code, 0, "cloud register: {stderr}");
        let (code, _, stderr) = self.run(&["cloud", "set", "--name", "FakeCloud"]).await;
        assert_eq!(code, 0, "cloud set: {stderr}");
    }
}

#[tokio::test]
async fn real_az_logs_in_and_gets_tokens_from_the_fake() {
    let Ok(program) = std::env::var("CREDCHAIN_REAL_AZ") else {
        eprintln!("skipping: set CREDCHAIN_REAL_AZ=/path/to/az to run the real Azure CLI against the fake");
        return;
    };
    let entra = FakeEntra::builder()
        .client_secret(TENANT, CLIENT, SECRET)
        .client_secret(OTHER_TENANT, CLIENT, SECRET)
        .subscription(SUBSCRIPTION, "Dev", TENANT)
        .start()
        .await
        .expect("starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let az = Az {
        program,
        config: dir.path(),
        ca: entra.ca_pem_path(),
    };
    az.register_cloud(&entra.authority()).await;

    // Wrong secret first, while MSAL's cache is still empty.
    let (code, _, stderr) = az
        .run(&[
            "login",
            "--service-principal",
            "-u",
            CLIENT,
            "-p",
            "wrong",
            "--tenant",
            TENANT,
            "--allow-no-subscriptions",
        ])
        .await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("AADSTS7000215: Invalid client secret provided."),
        "{stderr}"
    );

    let (code, stdout, stderr) = az
        .run(&[
            "login",
            "--service-principal",
            "-u",
            CLIENT,
            "-p",
            SECRET,
            "--tenant",
            TENANT,
            "--allow-no-subscriptions",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(code, 0, "login: {stderr}");
    let accounts: serde_json::Value = serde_json::from_str(&stdout).expect("login prints JSON");
    assert_eq!(accounts[0]["id"], SUBSCRIPTION);
    assert_eq!(accounts[0]["name"], "Dev");
    let requests = entra.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path == format!("/{TENANT}/v2.0/.well-known/openid-configuration"))
    );
    let listing = requests
        .iter()
        .find(|r| r.path == "/subscriptions")
        .expect("az listed subscriptions");
    assert!(
        listing
            .header("authorization")
            .is_some_and(|h| h.starts_with("Bearer "))
    );
    let login = requests
        .iter()
        .find(|r| r.is_token_request() && r.form_value("client_secret") == Some(SECRET));
    assert_eq!(login.and_then(|r| r.form_value("client_info")), Some("1"));

    for tenant in [TENANT, OTHER_TENANT] {
        let (code, stdout, stderr) = az
            .run(&[
                "account",
                "get-access-token",
                "--scope",
                "api://x/.default",
                "--tenant",
                tenant,
                "-o",
                "json",
            ])
            .await;
        assert_eq!(code, 0, "get-access-token --tenant {tenant}: {stderr}");
        let output: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        let token = output["accessToken"].as_str().expect("accessToken");
        assert!(
            entra.issued_tokens().iter().any(|t| t == token),
            "az returned a token the fake issued"
        );
        assert_eq!(decode_jwt(token).expect("jwt").claims["tid"], tenant);
    }

    let (code, _, stderr) = az
        .run(&[
            "account",
            "get-access-token",
            "--scope",
            "api://x/.default",
            "--tenant",
            "00000000-0000-0000-0000-00000000dead",
        ])
        .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("AADSTS90002"), "{stderr}");
}
