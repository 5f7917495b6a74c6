//! Running a blocking secret-store lookup off the async runtime: at most one at a time, on an
//! OS thread of its own, with every caller waiting under its own timeout.
//!
//! A store can block for a long time (an unlock prompt nobody answers, a hung D-Bus peer), and a
//! blocking call cannot be cancelled, so a caller that times out leaves the call running. If
//! every timed-out request started a new lookup, a store that never answers would pile up one
//! stuck thread per request. Here a request that finds a lookup still running joins it instead
//! of starting another, so at most one thread per [`SingleLookup`] is ever outstanding; the next
//! lookup starts only once that thread has returned.
//!
//! The thread is a plain `std::thread`, never a Tokio worker or `spawn_blocking` (an abandoned
//! blocking task would hold up the caller's runtime shutdown), and waiting uses Tokio's timer,
//! so this works under a multi-thread or a current-thread runtime and never blocks either.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::Shared;

/// Why a lookup gave no result.
#[derive(Debug)]
pub(crate) enum LookupError {
    /// It did not finish within the caller's timeout. `running_for` is how long the lookup had
    /// been running when the caller gave up; `joined` is true when an earlier request started it.
    TimedOut {
        /// How long the lookup had been running.
        running_for: Duration,
        /// Whether this caller joined a lookup an earlier request had started.
        joined: bool,
    },
    /// No thread could be started.
    Spawn(std::io::Error),
    /// The lookup panicked.
    Panicked,
    /// The caller is not inside a Tokio runtime, whose timer the wait needs.
    NoRuntime,
}

/// One lookup that is still running: when it started and its result, shared by every waiter.
#[derive(Clone)]
struct Running<T: Clone> {
    started: Instant,
    result: Shared<oneshot::Receiver<T>>,
}

/// Runs at most one blocking lookup at a time; see the [module docs](self).
pub(crate) struct SingleLookup<T: Clone> {
    running: Arc<Mutex<Option<Running<T>>>>,
}

impl<T: Clone> Default for SingleLookup<T> {
    fn default() -> Self {
        SingleLookup {
            running: Arc::new(Mutex::new(None)),
        }
    }
}

impl<T: Clone> fmt::Debug for SingleLookup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleLookup")
            .field("running", &lock(&self.running).is_some())
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> SingleLookup<T> {
    /// Waits up to `timeout` for the lookup already running, or starts `lookup` on a new thread
    /// named `name` when none is. A lookup that outlives its callers keeps its thread until it
    /// returns; its result is then dropped.
    pub(crate) async fn run<F>(&self, name: &str, timeout: Duration, lookup: F) -> Result<T, LookupError>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(LookupError::NoRuntime);
        }
        let (running, joined) = self.join_or_start(name, lookup)?;
        match tokio::time::timeout(timeout, running.result).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(oneshot::Canceled)) => Err(LookupError::Panicked),
            Err(_elapsed) => Err(LookupError::TimedOut {
                running_for: running.started.elapsed(),
                joined,
            }),
        }
    }

    /// Whether a lookup is running now (for tests).
    #[cfg(test)]
    pub(crate) fn is_running(&self) -> bool {
        lock(&self.running).is_some()
    }

    fn join_or_start<F>(&self, name: &str, lookup: F) -> Result<(Running<T>, bool), LookupError>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        // The slot stays locked until the new lookup is recorded, so its thread cannot clear
        // the slot before it is filled.
        let mut slot = lock(&self.running);
        if let Some(running) = slot.as_ref() {
            return Ok((running.clone(), true));
        }
        let (tx, rx) = oneshot::channel();
        let clear = ClearOnExit(Arc::clone(&self.running));
        thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let value = lookup();
                // Cleared before the result is sent: whoever asks after this point starts a
                // fresh lookup rather than joining a finished one (the value may be stale for
                // them, e.g. a refresh token that was just refused). On a panic the guard clears
                // the slot while unwinding and the dropped sender wakes the waiters.
                drop(clear);
                // Nobody may be waiting any more; the result is dropped then.
                let _ = tx.send(value);
            })
            .map_err(LookupError::Spawn)?;
        let running = Running {
            started: Instant::now(),
            result: rx.shared(),
        };
        *slot = Some(running.clone());
        Ok((running, false))
    }
}

/// Empties the slot when the lookup thread ends, however it ends.
struct ClearOnExit<T: Clone>(Arc<Mutex<Option<Running<T>>>>);

impl<T: Clone> Drop for ClearOnExit<T> {
    fn drop(&mut self) {
        *lock(&self.0) = None;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Condvar;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A gate a lookup blocks on until the test opens it.
    #[derive(Clone, Default)]
    struct Gate(Arc<(Mutex<bool>, Condvar)>);

    impl Gate {
        fn wait(&self) {
            let (open, changed) = &*self.0;
            let mut guard = lock(open);
            while !*guard {
                guard = changed.wait(guard).unwrap_or_else(PoisonError::into_inner);
            }
        }

        fn open(&self) {
            let (open, changed) = &*self.0;
            *lock(open) = true;
            changed.notify_all();
        }
    }

    const LONG: Duration = Duration::from_secs(30);
    const SHORT: Duration = Duration::from_millis(20);

    #[tokio::test(flavor = "current_thread")]
    async fn returns_the_value_and_frees_the_slot() {
        let lookups = SingleLookup::default();
        assert_eq!(lookups.run("t", LONG, || 41 + 1).await.ok(), Some(42));
        assert!(!lookups.is_running());
        assert_eq!(
            lookups.run("t", LONG, || 7).await.ok(),
            Some(7),
            "a new lookup runs"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_stuck_lookup_is_joined_not_repeated() {
        let lookups = SingleLookup::default();
        let started = Arc::new(AtomicUsize::new(0));
        let gate = Gate::default();
        let start = |value: u32| {
            let (started, gate) = (Arc::clone(&started), gate.clone());
            move || {
                started.fetch_add(1, Ordering::SeqCst);
                gate.wait();
                value
            }
        };
        let first = lookups.run("t", SHORT, start(1)).await;
        assert!(
            matches!(first, Err(LookupError::TimedOut { joined: false, .. })),
            "{first:?}"
        );
        for _ in 0..3 {
            let again = lookups.run("t", SHORT, start(2)).await;
            assert!(
                matches!(again, Err(LookupError::TimedOut { joined: true, .. })),
                "{again:?}"
            );
        }
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "one thread, however many timeouts"
        );

        // A caller still waiting when the stuck lookup returns gets its result.
        let waiting = lookups.run("t", LONG, start(3));
        let opener = async {
            gate.open();
        };
        // `join!` polls `waiting` first, so it has joined before the gate opens.
        let (waited, ()) = tokio::join!(waiting, opener);
        assert_eq!(waited.ok(), Some(1));
        assert_eq!(started.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_lookup() {
        let lookups = SingleLookup::default();
        let started = Arc::new(AtomicUsize::new(0));
        let gate = Gate::default();
        let make = || {
            let (started, gate) = (Arc::clone(&started), gate.clone());
            move || {
                started.fetch_add(1, Ordering::SeqCst);
                gate.wait();
                "found"
            }
        };
        let a = lookups.run("t", LONG, make());
        let b = lookups.run("t", LONG, make());
        let opener = async {
            gate.open();
        };
        let (a, b, ()) = tokio::join!(a, b, opener);
        assert_eq!((a.ok(), b.ok()), (Some("found"), Some("found")));
        assert_eq!(started.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panic_is_an_error_and_frees_the_slot() {
        let lookups: SingleLookup<()> = SingleLookup::default();
        let got = lookups.run("t", LONG, || panic!("boom")).await;
        assert!(matches!(got, Err(LookupError::Panicked)), "{got:?}");
        assert_eq!(lookups.run("t", LONG, || ()).await.ok(), Some(()));
    }

    #[test]
    fn outside_a_tokio_runtime_it_refuses_instead_of_panicking() {
        let lookups = SingleLookup::default();
        let got = futures::executor::block_on(lookups.run("t", LONG, || "ok"));
        assert!(matches!(got, Err(LookupError::NoRuntime)), "{got:?}");
        assert!(!lookups.is_running(), "nothing was started");
    }
}
