//! Which answers are retried, how long to wait, and the injectable timer the waits go through.
//!
//! Statuses 404, 410, 429 and 5xx and requests that got no answer are retried with exponential
//! backoff or the server's `Retry-After`, within a total budget and the caller's deadline. IMDS
//! answers 410 while it restarts; azure-identity keeps retrying it for at least 70 s (Python
//! `imds.py`: backoff factor 2.5 for 410), and so does this policy: 2.5 + 5 + 10 + 20 + 40 s.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use credchain_core::http::HttpResponse;

/// The time source retries wait on. The default is tokio's timer; tests inject one whose
/// sleeps return at once (feature `test-util`: `FakeTimer`), so no test waits for real.
#[async_trait::async_trait]
pub trait Timer: Send + Sync + Debug {
    /// The current instant, compared with [`TokenRequestOptions::deadline`](credchain_core::TokenRequestOptions::deadline).
    fn now(&self) -> Instant;
    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The real timer: [`Instant::now`] and [`tokio::time::sleep`].
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

#[async_trait::async_trait]
impl Timer for TokioTimer {
    fn now(&self) -> Instant {
        Instant::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[cfg(feature = "test-util")]
pub use fake::FakeTimer;

#[cfg(feature = "test-util")]
mod fake {
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::{Duration, Instant};

    /// A timer whose sleeps return at once and move its clock forward (feature `test-util`).
    /// Clones share the clock and the record of sleeps.
    #[derive(Clone, Debug)]
    pub struct FakeTimer {
        start: Instant,
        slept: Arc<Mutex<Vec<Duration>>>,
    }

    impl Default for FakeTimer {
        fn default() -> Self {
            FakeTimer {
                start: Instant::now(),
                slept: Arc::default(),
            }
        }
    }

    impl FakeTimer {
        /// A timer starting at the real current instant.
        pub fn new() -> Self {
            Self::default()
        }

        /// Every sleep so far, in order.
        pub fn sleeps(&self) -> Vec<Duration> {
            self.slept.lock().unwrap_or_else(PoisonError::into_inner).clone()
        }

        /// The sum of all sleeps.
        pub fn total_slept(&self) -> Duration {
            self.sleeps().iter().sum()
        }
    }

    #[async_trait::async_trait]
    impl super::Timer for FakeTimer {
        fn now(&self) -> Instant {
            self.start + self.total_slept()
        }

        async fn sleep(&self, duration: Duration) {
            self.slept
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(duration);
        }
    }
}

/// The retry schedule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub(crate) max_retries: u32,
    /// First backoff; doubled each retry.
    pub(crate) initial: Duration,
    /// First backoff after a 410 (IMDS restarting).
    pub(crate) gone_initial: Duration,
    /// The most all waits of one call may add up to.
    pub(crate) max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial: Duration::from_millis(800),
            gone_initial: Duration::from_millis(2500),
            max_total: Duration::from_secs(80),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based) after `status` (`None`: no answer), or
    /// `None` when this answer is not retried or the retries are used up. `slept` is what this
    /// call has waited so far; `retry_after` is the server's request.
    pub(crate) fn delay(
        &self,
        retry: u32,
        status: Option<u16>,
        retry_after: Option<Duration>,
        slept: Duration,
    ) -> Option<Duration> {
        if retry >= self.max_retries || !status.is_none_or(is_retryable) {
            return None;
        }
        let base = if status == Some(410) {
            self.gone_initial
        } else {
            self.initial
        };
        let delay = retry_after.unwrap_or_else(|| base.saturating_mul(2u32.saturating_pow(retry)));
        (slept.saturating_add(delay) <= self.max_total).then_some(delay)
    }
}

/// 404, 410, 429 and 5xx: the answers managed identity endpoints give while starting or busy.
pub(crate) fn is_retryable(status: u16) -> bool {
    matches!(status, 404 | 410 | 429 | 500..=599)
}

/// The server's requested wait: `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds) or
/// `Retry-After` (whole seconds; an HTTP date is ignored and the backoff applies).
pub(crate) fn retry_after(response: &HttpResponse) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = response.header(name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(policy: &RetryPolicy, status: u16) -> Vec<Duration> {
        let mut slept = Duration::ZERO;
        let mut out = Vec::new();
        let mut retry = 0;
        while let Some(d) = policy.delay(retry, Some(status), None, slept) {
            slept += d;
            out.push(d);
            retry += 1;
        }
        out
    }

    #[test]
    fn exponential_backoff_for_5xx_and_429() {
        let policy = RetryPolicy::default();
        let ms = |v: u64| Duration::from_millis(v);
        assert_eq!(
            schedule(&policy, 503),
            [ms(800), ms(1600), ms(3200), ms(6400), ms(12_800)]
        );
        assert_eq!(schedule(&policy, 429).len(), 5);
        assert_eq!(schedule(&policy, 404).len(), 5);
    }

    #[test]
    fn imds_410_is_retried_for_at_least_70_seconds() {
        let total: Duration = schedule(&RetryPolicy::default(), 410).iter().sum();
        assert!(total >= Duration::from_secs(70), "{total:?}");
        assert!(total <= RetryPolicy::default().max_total);
    }

    #[test]
    fn other_statuses_are_not_retried() {
        for status in [200, 400, 401, 403, 409] {
            assert!(schedule(&RetryPolicy::default(), status).is_empty(), "{status}");
        }
    }

    #[test]
    fn no_answer_is_retried() {
        assert_eq!(
            RetryPolicy::default().delay(0, None, None, Duration::ZERO),
            Some(Duration::from_millis(800))
        );
    }

    #[test]
    fn retry_after_wins_but_the_budget_holds() {
        let policy = RetryPolicy::default();
        let s = Duration::from_secs;
        assert_eq!(policy.delay(0, Some(429), Some(s(7)), Duration::ZERO), Some(s(7)));
        assert_eq!(policy.delay(0, Some(429), Some(s(81)), Duration::ZERO), None);
        assert_eq!(policy.delay(1, Some(429), Some(s(10)), s(75)), None);
    }

    #[test]
    fn retry_after_headers() {
        let r = HttpResponse::new(429, "").with_header("Retry-After", "3");
        assert_eq!(retry_after(&r), Some(Duration::from_secs(3)));
        let r = HttpResponse::new(429, "")
            .with_header("retry-after-ms", "250")
            .with_header("Retry-After", "3");
        assert_eq!(retry_after(&r), Some(Duration::from_millis(250)));
        let r = HttpResponse::new(429, "").with_header("Retry-After", "Fri, 27 Nov 2026 10:00:00 GMT");
        assert_eq!(retry_after(&r), None);
    }
}
