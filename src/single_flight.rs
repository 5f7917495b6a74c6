//! Single-flight: concurrent callers that want the same token share one future.
//!
//! The token cache (one load per key) and the chain (one selection walk per request) both use
//! this module, so the rules are written once:
//!
//! * A *flight* is a boxed future shared with [`futures::future::Shared`]: every caller that
//!   joins it gets a clone of its one result, success or error.
//! * Whoever tracks a flight (a cache slot's [`FlightCell`], a [`FlightMap`]) holds it
//!   **weakly**. When every caller waiting on it has gone away, the flight is dropped, and with
//!   it whatever it was doing (say, a running `az` process).
//! * A flight runs with the request's options [without a
//!   deadline](TokenRequestOptions::without_deadline): it is shared, so no single caller's
//!   deadline may cut it short. Each caller applies its own deadline while it [`wait`]s (the
//!   blocking API waits for its requests the same way).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

#[cfg(doc)]
use credchain_core::TokenRequestOptions;
use credchain_core::{AccessToken, Error};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};
use parking_lot::Mutex;

/// The work one flight does.
pub(crate) type Flight = BoxFuture<'static, Result<AccessToken, Error>>;

/// A handle on a flight; every handle resolves to the same result.
pub(crate) type SharedFlight = Shared<Flight>;

/// Tracks at most one flight, weakly. Callers keep it behind their own lock.
#[derive(Default)]
pub(crate) struct FlightCell(Option<WeakShared<Flight>>);

impl FlightCell {
    /// The flight in progress, if some caller still waits for it.
    pub(crate) fn current(&self) -> Option<SharedFlight> {
        self.0.as_ref().and_then(WeakShared::upgrade)
    }

    /// Starts `work` as this cell's flight and returns the first handle on it.
    pub(crate) fn start(
        &mut self,
        work: impl Future<Output = Result<AccessToken, Error>> + Send + 'static,
    ) -> SharedFlight {
        let flight = work.boxed().shared();
        self.0 = flight.downgrade();
        flight
    }

    /// Forgets the flight (it finished: later callers must start a new one).
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }
}

/// Flights by key, for work that has no per-key home of its own (the chain's walks).
pub(crate) struct FlightMap<K> {
    flights: Mutex<HashMap<K, FlightCell>>,
}

impl<K> Default for FlightMap<K> {
    fn default() -> Self {
        FlightMap {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash> FlightMap<K> {
    /// Joins the flight for `key` if one is in progress, else starts `start(&key)`.
    ///
    /// Entries of flights every caller abandoned are dropped when a new flight starts, so the
    /// map holds only live flights (and ones that finished but were never joined again).
    pub(crate) fn join_or_start<W>(&self, key: K, start: impl FnOnce(&K) -> W) -> SharedFlight
    where
        W: Future<Output = Result<AccessToken, Error>> + Send + 'static,
    {
        let mut flights = self.flights.lock();
        if let Some(flight) = flights.get(&key).and_then(FlightCell::current) {
            return flight;
        }
        flights.retain(|_, cell| cell.current().is_some());
        let work = start(&key);
        flights.entry(key).or_default().start(work)
    }

    /// Forgets the flight for `key`; a flight calls this as its last step, so callers that
    /// arrive after it finished start a new one.
    pub(crate) fn finish(&self, key: &K) {
        self.flights.lock().remove(key);
    }

    /// How many flights are tracked (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.flights.lock().len()
    }
}

/// Waits for `work` (a flight, or any token request), giving up at this caller's `deadline`.
/// Giving up drops this caller's handle only: a shared flight goes on for the others.
///
/// `timed_out` builds the error returned when the deadline passes first. Needs a Tokio runtime
/// with the time driver when a deadline is given.
pub(crate) async fn wait(
    work: impl Future<Output = Result<AccessToken, Error>>,
    deadline: Option<Instant>,
    timed_out: impl FnOnce() -> Error,
) -> Result<AccessToken, Error> {
    match deadline {
        None => work.await,
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
            .await
            .unwrap_or_else(|_| Err(timed_out())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, SystemTime};

    use super::*;

    fn token() -> AccessToken {
        AccessToken::new("t", SystemTime::now() + Duration::from_secs(3600))
    }

    #[tokio::test(start_paused = true)]
    async fn joiners_share_one_run_and_its_result() {
        let runs = Arc::new(AtomicUsize::new(0));
        let map = FlightMap::<u8>::default();
        let start = |runs: Arc<AtomicUsize>| {
            move |_: &u8| async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(token())
            }
        };
        let a = map.join_or_start(1, start(runs.clone()));
        let b = map.join_or_start(1, start(runs.clone()));
        let other = map.join_or_start(2, start(runs.clone()));
        let (a, b, other) = futures::join!(a, b, other);
        assert_eq!(a.unwrap().secret(), "t");
        assert_eq!(b.unwrap().secret(), "t");
        assert!(other.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 2, "one run per key");
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_flight_is_dropped_and_the_next_caller_starts_again() {
        let map = FlightMap::<u8>::default();
        let never = map.join_or_start(1, |_| futures::future::pending());
        assert!(
            map.join_or_start(1, |_| async { Ok(token()) })
                .now_or_never()
                .is_none()
        );
        drop(never);
        // Every handle is gone: the next caller runs its own work.
        let fresh = map.join_or_start(1, |_| async { Ok(token()) });
        assert!(fresh.await.is_ok());
        // Abandoned entries are pruned when another flight starts.
        drop(map.join_or_start(3, |_| futures::future::pending()));
        let _live = map.join_or_start(4, |_| futures::future::pending());
        assert_eq!(
            map.len(),
            1,
            "only the live flight: finished and abandoned ones were pruned"
        );
        map.finish(&4);
        assert_eq!(map.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_bounds_only_this_callers_wait() {
        let mut cell = FlightCell::default();
        let flight = cell.start(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(token())
        });
        let deadline = Instant::now() + Duration::from_secs(1);
        let err = wait(flight.clone(), Some(deadline), || Error::timeout("P", "gave up"))
            .await
            .unwrap_err();
        assert_eq!(err.message(), "gave up");
        assert!(cell.current().is_some(), "the flight goes on for the others");
        assert!(
            wait(flight, None, || Error::timeout("P", "no deadline"))
                .await
                .is_ok()
        );
        cell.clear();
        assert!(cell.current().is_none());
    }
}
