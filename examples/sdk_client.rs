//! An application that reads a Key Vault secret with the official Azure SDK for Rust, signed in
//! by credchain's `DefaultCredential` (environment, workload identity, managed identity, VS Code,
//! then the Azure CLI).
//!
//! ```text
//! cargo run --example sdk_client --features azure-core -- https://myvault.vault.azure.net/ db-password
//! ```
//!
//! It needs a real vault and a way to sign in (`az login` is enough); CI only builds it.

use std::process::ExitCode;

use azure_security_keyvault_secrets::SecretClient;
use credchain::DefaultCredential;
use credchain::azure_core_interop::{AzureCoreCredential, find_credchain_error};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(vault_url), Some(name)) = (args.next(), args.next()) else {
        eprintln!("usage: sdk_client <vault-url> <secret-name>");
        return ExitCode::from(2);
    };

    // azure_core builds its own reqwest client here. credchain uses rustls on `ring` without a
    // built-in default, so choose the process-wide provider once, before any client exists.
    let _ = rustls::crypto::ring::default_provider().install_default();

    // Build the credential once and share it: its cache and single-flight live inside it.
    let credential = match DefaultCredential::new() {
        Ok(credential) => AzureCoreCredential::shared(credential),
        Err(err) => {
            eprintln!("credchain configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let client = match SecretClient::new(&vault_url, credential, None) {
        Ok(client) => client,
        Err(err) => {
            eprintln!("cannot create the Key Vault client: {err}");
            return ExitCode::from(2);
        }
    };

    match client.get_secret(&name, None).await.and_then(|r| r.into_model()) {
        Ok(secret) => {
            // Never print the secret itself.
            let length = secret.value.map_or(0, |v| v.len());
            println!("`{name}` has a value of {length} characters");
            ExitCode::SUCCESS
        }
        Err(err) => {
            // The SDK wraps credential errors; credchain's own error lists every provider tried.
            match find_credchain_error(&err) {
                Some(ours) => eprintln!("could not sign in:\n{ours}"),
                None => eprintln!("Key Vault request failed: {err}"),
            }
            ExitCode::FAILURE
        }
    }
}
