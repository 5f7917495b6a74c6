//! A custom chain for code that runs on developer machines and in CI: VS Code first, the Azure
//! CLI as fallback, then environment variables (a service principal in CI).
//!
//! ```text
//! cargo run --example custom_chain
//! ```
//!
//! VS Code and the CLI are *developer tools*: when one is set up but fails (an expired sign-in,
//! a hung `az`), the chain notes it and moves on. The environment credential is not: a wrong
//! `AZURE_CLIENT_SECRET` stops the chain with the reason.

use std::process::ExitCode;
use std::time::Duration;

use credchain::{
    AzureCliCredential, ChainedCredential, EnvironmentCredential, TokenRequestOptions, VsCodeCredential,
};

#[tokio::main]
async fn main() -> ExitCode {
    let vscode = match VsCodeCredential::new() {
        Ok(vscode) => vscode,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let cli = match AzureCliCredential::builder()
        .process_timeout(Duration::from_secs(15))
        .build()
    {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let chain = ChainedCredential::builder()
        .name("DevThenCi")
        .developer_tool(vscode)
        .developer_tool(cli)
        .provider(EnvironmentCredential::new())
        // Remember the provider that worked; it is asked first next time.
        .sticky(true)
        .build();
    let chain = match chain {
        Ok(chain) => chain,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    println!(
        "order: {}",
        chain.provider_names().collect::<Vec<_>>().join(" → ")
    );

    let scope = "https://management.azure.com/.default";
    match chain.get_token(&[scope], &TokenRequestOptions::new()).await {
        Ok(token) => {
            println!(
                "got a token from {} (expires {:?})",
                chain.selected().unwrap_or("?"),
                token.expires_on()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            // One line per provider: what it said and how long it took.
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
