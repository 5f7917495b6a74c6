//! Gets a token from the Azure CLI and prints its expiry (never the token), or the error.
//!
//! ```text
//! cargo run -p credchain-azure-cli --example az_token -- [scope] [tenant]
//! ```
//!
//! `AZ_PATH` overrides where `az` is found. The point is the message a user would see.
use credchain_azure_cli::AzureCliCredential;
use credchain_core::{TokenCredential, TokenRequestOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let scope = args
        .next()
        .unwrap_or_else(|| "https://management.azure.com/.default".to_owned());
    let mut options = TokenRequestOptions::new();
    if let Some(tenant) = args.next() {
        options = options.with_tenant_id(tenant);
    }
    let mut builder = AzureCliCredential::builder();
    if let Some(path) = std::env::var_os("AZ_PATH") {
        builder = builder.az_path(path);
    }
    let credential = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    match credential.get_token(&[scope.as_str()], &options).await {
        Ok(token) => {
            println!("{} token, expires {:?}", token.token_type(), token.expires_on());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{} [{}]", e, e.kind());
            std::process::ExitCode::from(1)
        }
    }
}
