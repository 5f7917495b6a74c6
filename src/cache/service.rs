use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use credchain_core::{AccessToken, Error, TokenCredential, TokenRequestOptions};
use futures::FutureExt;
use parking_lot::RwLock;
use tracing::Instrument;

use super::key::KeyRef;
use super::map::SlotMap;
use super::slot::{Cached, SharedLoad, Slot};
use super::{EXPIRY_MARGIN, TokenCacheLayer};
use crate::Layer;

/// Middleware that caches tokens per key, shares one provider call among concurrent callers and
/// refreshes tokens before they expire.
///
/// * **Hit**: a token not yet due for refresh is returned with no lock held across I/O and no
///   allocation.
/// * **Single-flight**: when N callers miss the same key at once, the provider is called once
///   and every caller receives that call's result, success or error.
/// * **Proactive refresh**: from the token's `refresh_on`, or [`refresh_window`](TokenCacheLayer::refresh_window)
///   before expiry (minus jitter), one caller refreshes while every other caller keeps getting
///   the still-valid token without waiting. A failed proactive refresh is logged and retried at
///   most once per [`retry_delay`](TokenCacheLayer::retry_delay); the caller that tried gets the
///   old token. An expired token is never returned.
/// * **Isolation**: loading one key never blocks readers or loads of another.
/// * **Claims**: requests carrying claims bypass the cache entirely.
/// * **Cancellation**: if every caller waiting for a load goes away, the load is dropped.
/// * **Deadlines**: a caller's [`deadline`](TokenRequestOptions::deadline) bounds only its own
///   wait; the shared load goes on for the others.
///
/// Put it *inside* a [`TenantPolicy`](crate::TenantPolicy): keys use the resolved tenant.
///
/// ```
/// use credchain::{TokenCache, TokenCredential, TokenRequestOptions};
/// use credchain::testing::ScriptedCredential;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), credchain::Error> {
/// let provider = ScriptedCredential::new("Mine").always_ok("token");
/// let cache = TokenCache::new(provider.clone());
/// let options = TokenRequestOptions::new();
/// cache.get_token(&["api://x/.default"], &options).await?;
/// cache.get_token(&["api://x/.default"], &options).await?;
/// assert_eq!(provider.calls(), 1);
/// # Ok(()) }
/// ```
pub struct TokenCache<C> {
    inner: Arc<C>,
    state: Arc<State>,
}

struct State {
    slots: RwLock<SlotMap>,
    config: TokenCacheLayer,
}

impl<C> Clone for TokenCache<C> {
    /// Clones share the cached tokens.
    fn clone(&self) -> Self {
        TokenCache {
            inner: Arc::clone(&self.inner),
            state: Arc::clone(&self.state),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for TokenCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("inner", &self.inner)
            .field("keys", &self.state.slots.read().len())
            .finish_non_exhaustive()
    }
}

impl<C: TokenCredential + 'static> TokenCache<C> {
    /// Wraps `inner` with the default settings (see [`TokenCacheLayer`]).
    pub fn new(inner: C) -> Self {
        TokenCacheLayer::new().layer(inner)
    }

    pub(crate) fn with_layer(inner: C, config: &TokenCacheLayer) -> Self {
        TokenCache {
            inner: Arc::new(inner),
            state: Arc::new(State {
                slots: RwLock::new(SlotMap::default()),
                config: config.clone(),
            }),
        }
    }

    /// The wrapped credential.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// Drops every cached token (loads in progress finish and store their result).
    pub fn clear(&self) {
        self.state.slots.write().clear();
    }

    fn slot(&self, key: &KeyRef<'_>) -> Arc<Slot> {
        if let Some(slot) = self.state.slots.read().get(key) {
            return Arc::clone(slot);
        }
        let mut slots = self.state.slots.write();
        if let Some(slot) = slots.get(key) {
            return Arc::clone(slot);
        }
        if slots.len() >= self.state.config.max_entries {
            let now = self.state.config.clock.now();
            slots.retain(|slot| Arc::strong_count(slot) > 1 || !slot.is_idle(now));
        }
        let slot = Arc::new(Slot::default());
        slots.insert(key.to_owned_key(), Arc::clone(&slot));
        slot
    }

    /// Starts a provider call for `slot` whose result every waiter shares and whose token is stored.
    fn start_load(&self, slot: &Arc<Slot>, scopes: &[&str], options: &TokenRequestOptions) -> SharedLoad {
        let inner = Arc::clone(&self.inner);
        let state = Arc::clone(&self.state);
        let slot = Arc::clone(slot);
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        // The load is shared, so no single caller's deadline may cut it short.
        let mut shared_options = TokenRequestOptions::new().with_enable_cae(options.enable_cae());
        shared_options.set_tenant_id(options.tenant_id_shared().cloned());
        let span = tracing::debug_span!("token_cache_load", provider = %inner.name());
        async move {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let result = inner.get_token(&scopes, &shared_options).await;
            if let Ok(token) = &result {
                let cached = state.cached(token.clone());
                tracing::debug!(expires_on = ?token.expires_on(), refresh_at = ?cached.refresh_at, "token cached");
                *slot.current.write() = Some(Arc::new(cached));
            }
            *slot.inflight.lock() = None;
            result
        }
        .instrument(span)
        .boxed()
        .shared()
    }

    /// The in-flight load for a cold key, or a new one; or the token if one landed meanwhile.
    fn join_or_start(
        &self,
        slot: &Arc<Slot>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken, SharedLoad> {
        let mut inflight = slot.inflight.lock();
        if let Some(load) = inflight.as_ref().and_then(|weak| weak.upgrade()) {
            return Err(load);
        }
        if let Some(cached) = slot.valid(self.state.config.clock.now()) {
            return Ok(cached.token.clone());
        }
        let load = self.start_load(slot, scopes, options);
        *inflight = load.downgrade();
        Err(load)
    }

    /// A proactive refresh this caller should run, unless one is running or one failed recently.
    fn start_refresh(
        &self,
        slot: &Arc<Slot>,
        now: SystemTime,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Option<SharedLoad> {
        let mut inflight = slot.inflight.lock();
        if inflight.as_ref().and_then(|weak| weak.upgrade()).is_some() {
            return None;
        }
        let mut last = slot.last_proactive_attempt.lock();
        if last.is_some_and(|at| now < at + self.state.config.retry_delay) {
            return None;
        }
        *last = Some(now);
        let load = self.start_load(slot, scopes, options);
        *inflight = load.downgrade();
        Some(load)
    }

    async fn wait(&self, load: SharedLoad, deadline: Option<Instant>) -> Result<AccessToken, Error> {
        match deadline {
            None => load.await,
            Some(deadline) => tokio::time::timeout_at(deadline.into(), load).await.unwrap_or_else(|_| {
                Err(Error::timeout(
                    self.inner.name(),
                    "the caller's deadline passed while waiting for a token (the request goes on for other callers)",
                ))
            }),
        }
    }
}

impl State {
    fn cached(&self, token: AccessToken) -> Cached {
        let usable_until = token
            .expires_on()
            .checked_sub(EXPIRY_MARGIN)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let max_jitter = u64::try_from(self.config.max_jitter.as_millis()).unwrap_or(u64::MAX);
        let jitter = Duration::from_millis(if max_jitter == 0 {
            0
        } else {
            fastrand::u64(..=max_jitter)
        });
        let base = match token.refresh_on() {
            Some(refresh_on) => refresh_on,
            None => token
                .expires_on()
                .checked_sub(self.config.refresh_window)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        };
        Cached {
            refresh_at: (base + jitter).min(usable_until),
            usable_until,
            token,
        }
    }
}

#[async_trait::async_trait]
impl<C: TokenCredential + 'static> TokenCredential for TokenCache<C> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn home_tenant(&self) -> Option<&str> {
        self.inner.home_tenant()
    }

    #[inline]
    fn get_token_now(&self, scopes: &[&str], options: &TokenRequestOptions) -> Option<AccessToken> {
        if options.claims().is_some() {
            return None;
        }
        let key = KeyRef {
            scopes,
            tenant: options.tenant_id(),
            cae: options.enable_cae(),
        };
        let now = self.state.config.clock.now();
        self.state.slots.read().get(&key)?.fresh(now)
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        if options.claims().is_some() {
            return self.inner.get_token(scopes, options).await;
        }
        if let Some(token) = self.get_token_now(scopes, options) {
            return Ok(token);
        }
        let key = KeyRef {
            scopes,
            tenant: options.tenant_id(),
            cae: options.enable_cae(),
        };
        let slot = self.slot(&key);
        let now = self.state.config.clock.now();
        if let Some(cached) = slot.valid(now) {
            if now < cached.refresh_at {
                return Ok(cached.token.clone());
            }
            let Some(refresh) = self.start_refresh(&slot, now, scopes, options) else {
                return Ok(cached.token.clone());
            };
            return match self.wait(refresh, options.deadline()).await {
                Ok(token) => Ok(token),
                Err(error) if self.state.config.clock.now() < cached.usable_until => {
                    tracing::warn!(
                        provider = %self.inner.name(),
                        error = %error,
                        "proactive token refresh failed; serving the cached token until it expires"
                    );
                    Ok(cached.token.clone())
                }
                Err(error) => Err(error),
            };
        }
        match self.join_or_start(&slot, scopes, options) {
            Ok(token) => Ok(token),
            Err(load) => self.wait(load, options.deadline()).await,
        }
    }
}
