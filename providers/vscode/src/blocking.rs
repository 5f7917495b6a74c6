//! Running a blocking call (a secret-store lookup) off the async runtime, under a timeout.
//!
//! The call runs on a fresh OS thread, never on an executor's worker, and a second thread
//! waits for it with a deadline. This needs no particular async runtime (no tokio timer, no
//! `spawn_blocking`), so the credential works under any executor and never panics for want of
//! one. A call that overruns is abandoned: its thread finishes (or stays blocked on a prompt)
//! in the background, and its result is dropped.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// Why a blocking call gave no result.
#[derive(Debug)]
pub(crate) enum BlockingError {
    /// It did not finish in time.
    TimedOut,
    /// No thread could be started.
    Spawn(std::io::Error),
    /// It panicked.
    Panicked,
}

/// Runs `f` on its own thread and waits up to `timeout` for its result without blocking the
/// calling task.
pub(crate) async fn run_blocking<T, F>(name: &str, timeout: Duration, f: F) -> Result<T, BlockingError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done_tx, done_rx) = futures::channel::oneshot::channel();
    let worker_name = format!("{name}-worker");
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let (tx, rx) = mpsc::sync_channel(1);
            let spawned = thread::Builder::new().name(worker_name).spawn(move || {
                // The receiver is gone when the call timed out; the result is dropped then.
                let _ = tx.send(f());
            });
            let outcome = match spawned {
                Err(e) => Err(BlockingError::Spawn(e)),
                Ok(_) => match rx.recv_timeout(timeout) {
                    Ok(value) => Ok(value),
                    Err(RecvTimeoutError::Timeout) => Err(BlockingError::TimedOut),
                    Err(RecvTimeoutError::Disconnected) => Err(BlockingError::Panicked),
                },
            };
            // The caller may have stopped waiting (its future was dropped).
            let _ = done_tx.send(outcome);
        })
        .map_err(BlockingError::Spawn)?;
    done_rx.await.unwrap_or(Err(BlockingError::Panicked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test(flavor = "current_thread")]
    async fn returns_the_value() {
        let got = run_blocking("t", Duration::from_secs(5), || 41 + 1).await;
        assert_eq!(got.ok(), Some(42));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn gives_up_after_the_timeout() {
        let start = Instant::now();
        let got = run_blocking("t", Duration::from_millis(50), || {
            thread::sleep(Duration::from_secs(3));
            1
        })
        .await;
        assert!(matches!(got, Err(BlockingError::TimedOut)), "{got:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panic_is_an_error() {
        let got: Result<(), _> = run_blocking("t", Duration::from_secs(5), || panic!("boom")).await;
        assert!(matches!(got, Err(BlockingError::Panicked)), "{got:?}");
    }

    #[test]
    fn works_without_tokio() {
        let got = futures::executor::block_on(run_blocking("t", Duration::from_secs(5), || "ok"));
        assert_eq!(got.ok(), Some("ok"));
    }
}
