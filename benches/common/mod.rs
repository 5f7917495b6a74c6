//! Helpers shared by the benches.

use std::time::{Duration, Instant};

use credchain::{ChainedCredential, TokenRequestOptions};

/// Starts `callers` tasks that all ask `chain` for a token for `scope` at once, waits for every
/// one (each must get a token) and returns the wall time.
pub fn stampede(
    runtime: &tokio::runtime::Runtime,
    chain: &ChainedCredential,
    scope: &'static [&'static str],
    callers: usize,
) -> Duration {
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let chain = chain.clone();
                tokio::spawn(async move { chain.get_token(scope, &TokenRequestOptions::new()).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("token");
        }
    });
    started.elapsed()
}
