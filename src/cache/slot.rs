//! One cache entry: the current token, the in-flight load and the refresh bookkeeping.

use std::sync::Arc;
use std::time::SystemTime;

use credchain_core::AccessToken;
use parking_lot::{Mutex, RwLock};

use crate::single_flight::{FlightCell, SharedFlight};

/// A token and the moment a caller should start refreshing it.
#[derive(Debug)]
pub(crate) struct Cached {
    pub(crate) token: AccessToken,
    /// `token.expires_on()` less [`EXPIRY_MARGIN`](super::EXPIRY_MARGIN): not served from then on.
    pub(crate) usable_until: SystemTime,
    /// Never after `usable_until`.
    pub(crate) refresh_at: SystemTime,
}

/// Everything the cache keeps for one key.
#[derive(Default)]
pub(crate) struct Slot {
    /// Read on every hit; written only to store a new token (never held across I/O).
    pub(crate) current: RwLock<Option<Arc<Cached>>>,
    /// The load in progress, if any. Weak, so that when every waiter has gone the load is dropped
    /// (and with it, say, a running `az` process).
    pub(crate) inflight: Mutex<FlightCell>,
    /// When the last proactive refresh started; limits retries after failures.
    pub(crate) last_proactive_attempt: Mutex<Option<SystemTime>>,
}

impl Slot {
    /// The cached token if it is not yet due for refresh at `now`.
    #[inline]
    pub(crate) fn fresh(&self, now: SystemTime) -> Option<AccessToken> {
        match &*self.current.read() {
            Some(cached) if now < cached.refresh_at => Some(cached.token.clone()),
            _ => None,
        }
    }

    /// The cached token if it is still usable at `now`, with its refresh time.
    pub(crate) fn valid(&self, now: SystemTime) -> Option<Arc<Cached>> {
        self.current
            .read()
            .clone()
            .filter(|cached| now < cached.usable_until)
    }

    /// The load in progress, if one is still wanted by someone.
    pub(crate) fn inflight(&self) -> Option<SharedFlight> {
        self.inflight.lock().current()
    }

    /// `true` when the slot holds nothing worth keeping at `now`.
    pub(crate) fn is_idle(&self, now: SystemTime) -> bool {
        self.valid(now).is_none() && self.inflight().is_none()
    }
}
