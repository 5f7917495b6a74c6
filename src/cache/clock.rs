//! The cache's default clock: the wall clock at its coarse (cheap) resolution.

use std::time::{Duration, SystemTime};

use credchain_core::Clock;

/// The system wall clock read at its coarse resolution.
///
/// On Linux this is `CLOCK_REALTIME_COARSE`: the same time as [`SystemTime::now`] (it follows
/// clock adjustments and counts time spent suspended), updated every few milliseconds, and
/// about five times cheaper to read. Elsewhere it is [`SystemTime::now`]. The cache treats tokens
/// as expired [`EXPIRY_MARGIN`](super::EXPIRY_MARGIN) early, which covers the coarseness.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoarseSystemClock;

impl Clock for CoarseSystemClock {
    #[inline]
    fn now(&self) -> SystemTime {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
            if let (Ok(secs), Ok(nanos)) = (u64::try_from(now.tv_sec), u32::try_from(now.tv_nsec)) {
                return SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
            }
        }
        SystemTime::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_precise_clock_within_a_second() {
        let coarse = CoarseSystemClock.now();
        let precise = SystemTime::now();
        let gap = precise
            .duration_since(coarse)
            .or_else(|e| Ok::<_, ()>(e.duration()))
            .unwrap_or_default();
        assert!(gap < Duration::from_secs(1), "{gap:?}");
    }
}
