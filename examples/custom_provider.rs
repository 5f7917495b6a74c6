//! Your own provider in a chain: `TokenFileCredential` from the example crate
//! `examples/custom-provider` (which depends only on `credchain-core`) reads a token that a
//! sidecar keeps in a file. This run writes such a file itself, so it works anywhere:
//!
//! ```text
//! cargo run --example custom_provider
//! ```

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use credchain::testing::StaticCredential;
use credchain::{ChainedCredential, Env, TokenRequestOptions};
use credchain_example_provider::{TOKEN_FILE_VAR, TokenFileCredential};

const SCOPE: &str = "https://management.azure.com/.default";

#[tokio::main]
async fn main() -> ExitCode {
    // What the sidecar would write.
    let path = std::env::temp_dir().join(format!("credchain-example-token-{}", std::process::id()));
    let expires_on = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + 3600);
    let contents =
        format!("# written by the sidecar\nscope={SCOPE}\nexpires_on={expires_on}\ntoken=token-from-file\n");
    if let Err(err) = std::fs::write(&path, contents) {
        eprintln!("cannot write `{}`: {err}", path.display());
        return ExitCode::FAILURE;
    }

    // A plugin is just another provider: it gets the chain's tenant policy, cache and
    // single-flight like the built-in ones.
    let env = Env::from_pairs([(TOKEN_FILE_VAR, path.display().to_string())]);
    let chain = ChainedCredential::builder()
        .provider(TokenFileCredential::builder().env(env).build())
        // A stand-in for the next provider (in an application: the Azure CLI, …).
        .provider(StaticCredential::unavailable("NextProvider", "not reached"))
        .build();
    let result = match chain {
        Ok(chain) => chain.get_token(&[SCOPE], &TokenRequestOptions::new()).await,
        Err(err) => Err(err),
    };
    let _ = std::fs::remove_file(&path);

    match result {
        Ok(token) => {
            let left = token
                .expires_on()
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            println!(
                "TokenFileCredential answered; the token is good for {} more minutes",
                left.as_secs() / 60
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
