//! Gets a token from a plain `fn main`: no async runtime, no `.await`.
//!
//! ```text
//! cargo run --example blocking --features blocking
//! ```
//!
//! `credchain::blocking::DefaultCredential` runs the usual default chain (environment → workload
//! identity → managed identity → VS Code → Azure CLI) on a small runtime of its own. Sign in with `az login` first, or set the
//! `AZURE_*` variables of a service principal.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use credchain::TokenRequestOptions;
use credchain::blocking;

fn main() -> ExitCode {
    let credential = match blocking::DefaultCredential::new_default() {
        Ok(credential) => credential,
        Err(error) => {
            eprintln!("cannot set up the default chain: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Give up after 30 s, whatever the providers are doing.
    let options = TokenRequestOptions::new().with_deadline(Instant::now() + Duration::from_secs(30));
    match credential.get_token(&["https://management.azure.com/.default"], &options) {
        Ok(token) => {
            // Never print the token itself.
            println!("got a token that expires at {:?}", token.expires_on());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
