use std::sync::Arc;
use std::time::Duration;

use credchain_core::{Clock, TokenCredential};

use super::{
    CoarseSystemClock, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_JITTER, DEFAULT_REFRESH_WINDOW, DEFAULT_RETRY_DELAY,
    TokenCache,
};
use crate::Layer;

/// Builds [`TokenCache`] wrappers. Holds only configuration.
///
/// ```
/// use credchain::{Layer, TokenCacheLayer};
/// use credchain::testing::StaticCredential;
/// use std::time::Duration;
/// let cache = TokenCacheLayer::new()
///     .refresh_window(Duration::from_secs(600))
///     .layer(StaticCredential::new("Mine", "token"));
/// # let _ = cache;
/// ```
#[derive(Clone, Debug)]
pub struct TokenCacheLayer {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) refresh_window: Duration,
    pub(crate) max_jitter: Duration,
    pub(crate) retry_delay: Duration,
    pub(crate) max_entries: usize,
}

impl Default for TokenCacheLayer {
    fn default() -> Self {
        TokenCacheLayer {
            clock: Arc::new(CoarseSystemClock),
            refresh_window: DEFAULT_REFRESH_WINDOW,
            max_jitter: DEFAULT_MAX_JITTER,
            retry_delay: DEFAULT_RETRY_DELAY,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

impl TokenCacheLayer {
    /// The defaults: the [coarse system clock](CoarseSystemClock), a 300 s refresh window with up to 60 s jitter, 30 s between
    /// failed proactive refreshes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `clock` instead of the system clock (tests use [`FakeClock`](crate::testing::FakeClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Starts refreshing this long before expiry when a token has no `refresh_on`
    /// (default [`DEFAULT_REFRESH_WINDOW`](super::DEFAULT_REFRESH_WINDOW)).
    pub fn refresh_window(mut self, window: Duration) -> Self {
        self.refresh_window = window;
        self
    }

    /// The largest random delay added to each token's refresh time
    /// (default [`DEFAULT_MAX_JITTER`](super::DEFAULT_MAX_JITTER); zero turns jitter off).
    pub fn max_jitter(mut self, jitter: Duration) -> Self {
        self.max_jitter = jitter;
        self
    }

    /// How long to wait after a failed proactive refresh before trying again
    /// (default [`DEFAULT_RETRY_DELAY`](super::DEFAULT_RETRY_DELAY)).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Above this many keys, expired entries are dropped when a new key arrives
    /// (default [`DEFAULT_MAX_ENTRIES`](super::DEFAULT_MAX_ENTRIES)).
    pub fn max_entries(mut self, max: usize) -> Self {
        self.max_entries = max;
        self
    }
}

impl<C: TokenCredential + 'static> Layer<C> for TokenCacheLayer {
    type Credential = TokenCache<C>;

    fn layer(&self, inner: C) -> TokenCache<C> {
        TokenCache::with_layer(inner, self)
    }
}
