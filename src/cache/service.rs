use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use credchain_core::{AccessToken, Error, TokenCredential, TokenRequestOptions};
use parking_lot::RwLock;
use tracing::Instrument;

use super::key::KeyRef;
use super::map::SlotMap;
use super::slot::{Cached, Slot};
use super::{EXPIRY_MARGIN, TokenCacheLayer};
use crate::Layer;
use crate::single_flight::{self, FlightCell, SharedFlight};

/// Middleware that caches tokens per key, shares one provider call among concurrent callers and
/// refreshes tokens before they expire.
///
/// * **Hit**: a token not yet due for refresh is returned with no lock held across I/O and no
///   allocation.
/// * **Single-flight**: when N callers miss the same key at once, the provider is called once
///   and every caller receives that call's result, success or error (the crate's one
///   single-flight helper, shared with the chain's selection walk).
/// * **Proactive refresh**: from the token's `refresh_on`, or [`refresh_window`](TokenCacheLayer::refresh_window)
///   before expiry (minus jitter), one caller refreshes while every other caller keeps getting
///   the still-valid token without waiting. A failed proactive refresh is logged and retried at
///   most once per [`retry_delay`](TokenCacheLayer::retry_delay); the caller that tried gets the
///   old token. An expired token is never returned.
/// * **Arrival check**: a token that is already expired, or within [`EXPIRY_MARGIN`] of expiry,
///   when the provider returns it is refused with
///   [`ErrorKind::AuthenticationFailed`](credchain_core::ErrorKind::AuthenticationFailed) (and
///   not stored): retrying at once would get the same token, so it is not *transient*; the usual
///   causes are a wrong system clock or a provider's stale sign-in, and the message says so. In
///   a chain, a developer tool's refused token moves the chain on. A chain entry added
///   [`without_middleware`](crate::ProviderEntry::without_middleware) has no cache and so no
///   such check: the chain passes its provider's tokens on as they are.
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

    /// Starts a provider call for `slot` (under its `inflight` lock) whose result every waiter
    /// shares and whose token is stored.
    fn start_load(
        &self,
        inflight: &mut FlightCell,
        slot: &Arc<Slot>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> SharedFlight {
        let inner = Arc::clone(&self.inner);
        let state = Arc::clone(&self.state);
        let slot = Arc::clone(slot);
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let options = options.without_deadline();
        let span = tracing::debug_span!("token_cache_load", provider = %inner.name());
        inflight.start(
            async move {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let result = inner.get_token(&scopes, &options).await.and_then(|token| {
                    let cached = state.cached(token);
                    let now = state.config.clock.now();
                    if now >= cached.usable_until {
                        return Err(expired_on_arrival(inner.name(), &cached, now));
                    }
                    tracing::debug!(expires_on = ?cached.token.expires_on(), refresh_at = ?cached.refresh_at, "token cached");
                    let token = cached.token.clone();
                    *slot.current.write() = Some(Arc::new(cached));
                    Ok(token)
                });
                slot.inflight.lock().clear();
                result
            }
            .instrument(span),
        )
    }

    /// The in-flight load for a cold key, or a new one; or the token if one landed meanwhile.
    fn join_or_start(
        &self,
        slot: &Arc<Slot>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken, SharedFlight> {
        let mut inflight = slot.inflight.lock();
        if let Some(load) = inflight.current() {
            return Err(load);
        }
        if let Some(cached) = slot.valid(self.state.config.clock.now()) {
            return Ok(cached.token.clone());
        }
        Err(self.start_load(&mut inflight, slot, scopes, options))
    }

    /// A proactive refresh this caller should run, unless one is running or one failed recently.
    fn start_refresh(
        &self,
        slot: &Arc<Slot>,
        now: SystemTime,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Option<SharedFlight> {
        let mut inflight = slot.inflight.lock();
        if inflight.current().is_some() {
            return None;
        }
        let mut last = slot.last_proactive_attempt.lock();
        // A retry delay too long to add to `now` means "not again".
        if last.is_some_and(|at| {
            at.checked_add(self.state.config.retry_delay)
                .is_none_or(|next| now < next)
        }) {
            return None;
        }
        *last = Some(now);
        Some(self.start_load(&mut inflight, slot, scopes, options))
    }

    async fn wait(&self, load: SharedFlight, deadline: Option<Instant>) -> Result<AccessToken, Error> {
        single_flight::wait(load, deadline, || {
            Error::timeout(
                self.inner.name(),
                "the caller's deadline passed while waiting for a token (the request goes on only while other \
                 callers still wait for it)",
            )
        })
        .await
    }
}

/// The error for a token that is already expired (or within [`EXPIRY_MARGIN`] of it) when the
/// provider returns it.
#[cold]
fn expired_on_arrival(provider: &str, cached: &Cached, now: SystemTime) -> Error {
    let seconds = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    Error::authentication_failed(
        provider,
        format!(
            "the provider returned a token that expires at {} (Unix time) while it is {} here: expired or \
             less than {} s from expiry, so it cannot be used; check this machine's clock, then sign in to the \
             provider again (for the Azure CLI: `az login`)",
            seconds(cached.token.expires_on()),
            seconds(now),
            EXPIRY_MARGIN.as_secs(),
        ),
    )
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
        // Checked: a `refresh_on` near the end of representable time must not panic the load
        // (and with it every waiter); past the end means "refresh when it stops being usable".
        let refresh_at = base.checked_add(jitter).unwrap_or(usable_until).min(usable_until);
        Cached {
            refresh_at,
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
