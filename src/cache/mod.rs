//! Token cache with per-key single-flight and proactive refresh.
//!
//! [`TokenCache`] wraps a provider. Tokens are kept per *(scopes, resolved tenant, CAE)*; put the
//! cache *inside* a [`TenantPolicy`](crate::TenantPolicy) so the tenant is resolved (and checked)
//! before the cache is consulted. Requests with claims bypass the cache.

mod clock;
mod key;
mod layer;
mod map;
mod service;
mod slot;

pub use clock::CoarseSystemClock;
pub use layer::TokenCacheLayer;
pub use service::TokenCache;

use std::time::Duration;

/// Refresh this long before expiry when the token gives no `refresh_on` (azure-identity's 300 s).
pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(300);
/// Up to this much random jitter shortens the refresh window, so many processes do not refresh at
/// the same second (azure-core's 60 s).
pub const DEFAULT_MAX_JITTER: Duration = Duration::from_secs(60);
/// After a failed proactive refresh, wait this long before trying again (azure-identity's 30 s).
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Above this many keys, entries whose token has expired are dropped when a new key is added.
pub const DEFAULT_MAX_ENTRIES: usize = 1024;
/// Tokens are treated as expired this long before their `expires_on`, so a token is never handed
/// out after it expires, even by a coarse clock or to a caller that uses it a moment later.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(1);
