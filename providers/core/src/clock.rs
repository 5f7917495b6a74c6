//! The wall-clock seam.

use std::fmt::Debug;
use std::time::SystemTime;

/// A source of the current time. Caches and token parsers take one so tests can step time.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real clock ([`SystemTime::now`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[cfg(feature = "test-util")]
pub use fake::FakeClock;

#[cfg(feature = "test-util")]
mod fake {
    use super::Clock;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime};

    /// A clock that only moves when told to. Clones share the same time.
    ///
    /// ```
    /// use credchain_core::{Clock, FakeClock};
    /// use std::time::Duration;
    /// let clock = FakeClock::at_unix(1_700_000_000);
    /// let later = clock.clone();
    /// clock.advance(Duration::from_secs(10));
    /// assert_eq!(later.unix_seconds(), 1_700_000_010);
    /// ```
    #[derive(Clone, Debug)]
    pub struct FakeClock {
        nanos: Arc<AtomicU64>,
    }

    impl FakeClock {
        /// A clock reading `secs` seconds after the Unix epoch.
        pub fn at_unix(secs: u64) -> Self {
            FakeClock {
                nanos: Arc::new(AtomicU64::new(secs.saturating_mul(1_000_000_000))),
            }
        }

        /// Moves the clock forward.
        pub fn advance(&self, by: Duration) {
            let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
            self.nanos.fetch_add(by, Ordering::SeqCst);
        }

        /// Sets the clock to `time` (which must not be before the epoch; earlier times clamp to it).
        pub fn set(&self, time: SystemTime) {
            let nanos = time
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            self.nanos
                .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::SeqCst);
        }

        /// The current reading in whole seconds since the epoch.
        pub fn unix_seconds(&self) -> u64 {
            self.nanos.load(Ordering::SeqCst) / 1_000_000_000
        }
    }

    impl Default for FakeClock {
        /// 2026-01-01T00:00:00Z.
        fn default() -> Self {
            FakeClock::at_unix(1_767_225_600)
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH + Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
        }
    }
}
