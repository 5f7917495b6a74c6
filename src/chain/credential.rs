use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use credchain_core::{
    AccessToken, Attempt, AttemptOutcome, Error, ErrorKind, TokenCredential, TokenRequestOptions,
};
use futures::future::{BoxFuture, Either, ready};
use tracing::Instrument;

use super::ChainedCredentialBuilder;
use crate::single_flight::{self, FlightMap};

const NONE_SELECTED: usize = usize::MAX;

/// One provider in the chain.
pub(super) struct Entry {
    pub(super) name: Box<str>,
    pub(super) credential: Arc<dyn TokenCredential>,
    pub(super) developer_tool: bool,
}

impl Entry {
    /// Asks this provider for a token inside a `credential_attempt` span (its cache answers a
    /// hit synchronously, without the span) and records the outcome and time in the span. An
    /// error comes back with the chain's verdict on it ([`AttemptOutcome::of`]).
    async fn attempt(
        &self,
        chain: &str,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> (Result<AccessToken, (AttemptOutcome, Error)>, Duration) {
        if let Some(token) = self.credential.get_token_now(scopes, options) {
            return (Ok(token), Duration::ZERO);
        }
        let span = tracing::debug_span!(
            "credential_attempt",
            chain = %chain,
            provider = %self.name,
            outcome = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self
            .credential
            .get_token(scopes, options)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        span.record("elapsed_ms", elapsed.as_secs_f64() * 1000.0);
        let _entered = span.enter();
        let result = match result {
            Ok(token) => {
                span.record("outcome", "token");
                tracing::debug!(expires_on = ?token.expires_on(), "provider returned a token");
                Ok(token)
            }
            Err(error) => {
                let outcome = AttemptOutcome::of(&error, self.developer_tool);
                span.record("outcome", outcome.as_str());
                tracing::debug!(reason = %error.message(), outcome = outcome.as_str(), "provider could not get a token");
                Err((outcome, error))
            }
        };
        (result, elapsed)
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
    walks: FlightMap<WalkKey>,
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
/// * Every provider call, in a walk or to the selected provider, runs in a `credential_attempt`
///   debug span with fields `chain`, `provider`, `outcome` and `elapsed_ms`. A cache hit, answered
///   synchronously, has no span (so it stays allocation-free).
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
                walks: FlightMap::default(),
            }),
        }
    }

    /// The providers' names, in order.
    pub fn provider_names(&self) -> impl Iterator<Item = &str> {
        self.chain.entries.iter().map(|e| &*e.name)
    }

    /// The credential the chain calls for the provider at `index` (with the tenant policy and
    /// cache the builder added, unless the entry was added without middleware).
    pub(crate) fn entry_credential(&self, index: usize) -> Option<&Arc<dyn TokenCredential>> {
        self.chain.entries.get(index).map(|e| &e.credential)
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
            match entry.attempt(&chain.name, scopes, options).await {
                (Ok(token), _) => return Ok(token),
                (Err((outcome, error)), _) if outcome.moves_on() => {
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
                (Err((outcome, error)), elapsed) => {
                    let attempt = Attempt::new(&*entry.name, outcome, elapsed, error);
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
        let walk = chain.walks.join_or_start(key, |key| {
            let chain = Arc::clone(chain);
            let key = key.clone();
            let options = options.without_deadline();
            async move {
                let scopes: Vec<&str> = key.scopes.iter().map(String::as_str).collect();
                let result = chain.walk(&scopes, &options).await;
                chain.walks.finish(&key);
                result
            }
        });
        single_flight::wait(walk, options.deadline(), || {
            Error::timeout(
                &chain.name,
                "the caller's deadline passed while the chain was selecting a provider",
            )
        })
        .await
    }

    /// Tries every provider in order.
    async fn walk(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        let mut attempts = Vec::new();
        for (index, entry) in self.entries.iter().enumerate() {
            match entry.attempt(&self.name, scopes, options).await {
                (Ok(token), _) => {
                    if self.sticky {
                        self.selected.store(index, Ordering::Release);
                    }
                    return Ok(token);
                }
                (Err((outcome, error)), elapsed) => {
                    attempts.push(Attempt::new(&*entry.name, outcome, elapsed, error));
                    if !outcome.moves_on() {
                        return Err(self.stopped(attempts));
                    }
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
            format!(
                "{}, so the chain stopped there (providers after it were not tried)",
                what_happened(&provider, kind)
            ),
            attempts,
        );
        tracing::warn!(chain = %self.name, error = %error, "a provider failed; the chain stopped");
        error
    }
}

/// The first half of a stopped chain's message, naming what the provider's error was.
fn what_happened(provider: &str, kind: ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidInput => format!("`{provider}` rejected its input or configuration"),
        ErrorKind::Timeout => format!("`{provider}` timed out"),
        ErrorKind::Transient => format!("`{provider}` hit a transient failure (retrying later may work)"),
        _ => format!("`{provider}` failed"),
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
