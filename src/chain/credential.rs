use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use credchain_core::{
    AccessToken, Attempt, AttemptOutcome, Error, ErrorKind, TokenCredential, TokenRequestOptions,
};
use futures::FutureExt;
use futures::future::{BoxFuture, Either, Shared, WeakShared, ready};
use parking_lot::Mutex;
use tracing::Instrument;

use super::ChainedCredentialBuilder;

const NONE_SELECTED: usize = usize::MAX;

type Walk = BoxFuture<'static, Result<AccessToken, Error>>;

/// One provider in the chain.
pub(super) struct Entry {
    pub(super) name: Box<str>,
    pub(super) credential: Arc<dyn TokenCredential>,
    pub(super) developer_tool: bool,
}

impl Entry {
    /// Whether the chain moves on after `error` from this provider.
    fn moves_on(&self, error: &Error) -> bool {
        error.is_unavailable() || (self.developer_tool && error.kind() != ErrorKind::InvalidInput)
    }
}

/// Identifies requests that may share one selection walk.
#[derive(Clone, PartialEq, Eq, Hash)]
struct WalkKey {
    scopes: Vec<String>,
    tenant: Option<String>,
    claims: Option<String>,
    cae: bool,
}

struct Chain {
    name: Box<str>,
    entries: Box<[Entry]>,
    sticky: bool,
    selected: AtomicUsize,
    walks: Mutex<HashMap<WalkKey, WeakShared<Walk>>>,
}

/// An ordered list of providers, tried one after another until one returns a token.
///
/// * A provider that reports [`ErrorKind::Unavailable`] (cannot try here) is skipped.
/// * Any other error stops the chain; the remaining providers are not tried. Providers marked
///   as [developer tools](super::ProviderEntry::developer_tool) are the exception: their
///   failures count as unavailable (invalid input still stops the chain).
/// * When no provider succeeds, the error lists every attempt in order — provider, outcome,
///   time taken and reason — through [`Error::attempts`] and a multi-line `Display`.
/// * In [sticky](ChainedCredentialBuilder::sticky) mode the chain remembers the provider that
///   succeeded and goes to it directly; if it later reports unavailable, the chain selects
///   again from the top. Concurrent callers share one selection walk.
///
/// By default every provider is wrapped in a [`TenantPolicy`](crate::TenantPolicy) over a
/// [`TokenCache`](crate::TokenCache). Build a chain once and share it (it is cheap to clone):
/// building one per request throws the cache away.
///
/// ```
/// use credchain::{ChainedCredential, Error, TokenRequestOptions};
/// use credchain::testing::StaticCredential;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let chain = ChainedCredential::builder()
///     .provider(StaticCredential::unavailable("First", "nothing configured"))
///     .provider(StaticCredential::new("Second", "token-from-second"))
///     .build()?;
/// let token = chain.get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new()).await?;
/// assert_eq!(token.secret(), "token-from-second");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ChainedCredential {
    chain: Arc<Chain>,
}

impl fmt::Debug for ChainedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainedCredential")
            .field("name", &self.chain.name)
            .field(
                "providers",
                &self.chain.entries.iter().map(|e| &*e.name).collect::<Vec<_>>(),
            )
            .field("sticky", &self.chain.sticky)
            .field("selected", &self.selected())
            .finish()
    }
}

impl ChainedCredential {
    /// Starts building a chain.
    pub fn builder() -> ChainedCredentialBuilder {
        ChainedCredentialBuilder::default()
    }

    pub(super) fn from_entries(name: String, entries: Vec<Entry>, sticky: bool) -> Self {
        ChainedCredential {
            chain: Arc::new(Chain {
                name: name.into(),
                entries: entries.into_boxed_slice(),
                sticky,
                selected: AtomicUsize::new(NONE_SELECTED),
                walks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The providers' names, in order.
    pub fn provider_names(&self) -> impl Iterator<Item = &str> {
        self.chain.entries.iter().map(|e| &*e.name)
    }

    /// In sticky mode, the provider currently selected, if any.
    pub fn selected(&self) -> Option<&str> {
        self.chain
            .entries
            .get(self.chain.selected.load(Ordering::Acquire))
            .map(|e| &*e.name)
    }

    /// Gets a token from the first provider that can give one (see the type's docs for the rules).
    ///
    /// This is the same as the [`TokenCredential`] method, except that a cache hit neither boxes
    /// nor allocates: the returned future is ready at once.
    ///
    /// # Errors
    ///
    /// A chain error whose [`attempts`](Error::attempts) list every provider tried. Its kind is
    /// [`ErrorKind::Unavailable`] when no provider could try (so an outer chain moves on), else
    /// the kind of the error that stopped the chain.
    pub fn get_token<'a>(
        &'a self,
        scopes: &'a [&'a str],
        options: &'a TokenRequestOptions,
    ) -> impl Future<Output = Result<AccessToken, Error>> + Send + 'a {
        // A hit on the selected provider's cache completes here, with a future small enough that
        // building and polling it costs next to nothing; everything else goes to the boxed slow path.
        if let Some(token) = TokenCredential::get_token_now(self, scopes, options) {
            return Either::Left(ready(Ok(token)));
        }
        Either::Right(Box::pin(self.get_token_slow(scopes, options)) as BoxFuture<'a, _>)
    }

    async fn get_token_slow(
        &self,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken, Error> {
        let chain = &*self.chain;
        if !chain.sticky {
            return chain.walk(scopes, options).await;
        }
        let index = chain.selected.load(Ordering::Acquire);
        if let Some(entry) = chain.entries.get(index) {
            let started = Instant::now();
            match entry.credential.get_token(scopes, options).await {
                Ok(token) => return Ok(token),
                Err(error) if entry.moves_on(&error) => {
                    let _ = chain.selected.compare_exchange(
                        index,
                        NONE_SELECTED,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    tracing::info!(
                        chain = %chain.name, provider = %entry.name, reason = %error.message(),
                        "the selected provider can no longer get tokens; selecting again from the top"
                    );
                }
                Err(error) => {
                    let attempt =
                        Attempt::new(&*entry.name, AttemptOutcome::Failed, started.elapsed(), error);
                    return Err(chain.stopped(vec![attempt]));
                }
            }
        }
        Chain::select(&self.chain, scopes, options).await
    }
}

impl Chain {
    /// Runs (or joins) the selection walk for this request.
    async fn select(
        chain: &Arc<Chain>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken, Error> {
        let key = WalkKey {
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            tenant: options.tenant_id().map(str::to_owned),
            claims: options.claims().map(str::to_owned),
            cae: options.enable_cae(),
        };
        let walk: Shared<Walk> = {
            let mut walks = chain.walks.lock();
            match walks.get(&key).and_then(WeakShared::upgrade) {
                Some(walk) => walk,
                None => {
                    let walk = Chain::shared_walk(Arc::clone(chain), &key, options);
                    if let Some(weak) = walk.downgrade() {
                        walks.insert(key, weak);
                    }
                    walk
                }
            }
        };
        match options.deadline() {
            None => walk.await,
            Some(deadline) => tokio::time::timeout_at(deadline.into(), walk)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::timeout(
                        &chain.name,
                        "the caller's deadline passed while the chain was selecting a provider",
                    ))
                }),
        }
    }

    fn shared_walk(chain: Arc<Chain>, key: &WalkKey, options: &TokenRequestOptions) -> Shared<Walk> {
        let remove_key = key.clone();
        let mut shared_options = TokenRequestOptions::new().with_enable_cae(options.enable_cae());
        shared_options.set_tenant_id(options.tenant_id_shared().cloned());
        if let Some(claims) = options.claims() {
            shared_options = shared_options.with_claims(claims);
        }
        async move {
            let scopes: Vec<&str> = remove_key.scopes.iter().map(String::as_str).collect();
            let result = chain.walk(&scopes, &shared_options).await;
            chain.walks.lock().remove(&remove_key);
            result
        }
        .boxed()
        .shared()
    }

    /// Tries every provider in order.
    async fn walk(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        let mut attempts = Vec::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let span = tracing::debug_span!(
                "credential_attempt",
                chain = %self.name,
                provider = %entry.name,
                outcome = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let started = Instant::now();
            let result = match entry.credential.get_token_now(scopes, options) {
                Some(token) => Ok(token),
                None => {
                    entry
                        .credential
                        .get_token(scopes, options)
                        .instrument(span.clone())
                        .await
                }
            };
            let elapsed = started.elapsed();
            span.record("elapsed_ms", elapsed.as_secs_f64() * 1000.0);
            let _entered = span.enter();
            match result {
                Ok(token) => {
                    span.record("outcome", "token");
                    tracing::debug!(expires_on = ?token.expires_on(), "provider returned a token");
                    if self.sticky {
                        self.selected.store(index, Ordering::Release);
                    }
                    return Ok(token);
                }
                Err(error) if entry.moves_on(&error) => {
                    let outcome = if error.is_unavailable() {
                        AttemptOutcome::Unavailable
                    } else {
                        AttemptOutcome::FailedContinued
                    };
                    span.record("outcome", outcome.as_str());
                    tracing::debug!(reason = %error.message(), "provider could not get a token; trying the next one");
                    attempts.push(Attempt::new(&*entry.name, outcome, elapsed, error));
                }
                Err(error) => {
                    span.record("outcome", "failed");
                    attempts.push(Attempt::new(&*entry.name, AttemptOutcome::Failed, elapsed, error));
                    drop(_entered);
                    return Err(self.stopped(attempts));
                }
            }
        }
        let error = Error::from_attempts(
            &self.name,
            ErrorKind::Unavailable,
            "no provider in the chain could get a token; set up one of them (each line says how)",
            attempts,
        );
        tracing::warn!(chain = %self.name, error = %error, "no provider could get a token");
        Err(error)
    }

    /// The chain's error after the last attempt in `attempts` failed.
    #[cold]
    fn stopped(&self, attempts: Vec<Attempt>) -> Error {
        let (provider, kind) = match attempts.last() {
            Some(last) => (last.provider().to_owned(), last.error().kind()),
            None => (String::new(), ErrorKind::AuthenticationFailed),
        };
        let error = Error::from_attempts(
            &self.name,
            kind,
            format!("`{provider}` failed, so the chain stopped there (providers after it were not tried)"),
            attempts,
        );
        tracing::warn!(chain = %self.name, error = %error, "a provider failed; the chain stopped");
        error
    }
}

#[async_trait::async_trait]
impl TokenCredential for ChainedCredential {
    fn name(&self) -> &str {
        &self.chain.name
    }

    fn get_token_now(&self, scopes: &[&str], options: &TokenRequestOptions) -> Option<AccessToken> {
        let index = if self.chain.sticky {
            self.chain.selected.load(Ordering::Acquire)
        } else {
            0
        };
        self.chain
            .entries
            .get(index)?
            .credential
            .get_token_now(scopes, options)
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        match TokenCredential::get_token_now(self, scopes, options) {
            Some(token) => Ok(token),
            None => self.get_token_slow(scopes, options).await,
        }
    }
}
