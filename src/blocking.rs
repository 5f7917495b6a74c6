//! A synchronous API for programs without an async runtime (feature `blocking`).
//!
//! [`Credential`] wraps any credchain credential — usually a
//! [`DefaultCredential`](crate::DefaultCredential) or a
//! [`ChainedCredential`](crate::ChainedCredential) — and gives it a blocking
//! [`get_token`](Credential::get_token). It owns a small Tokio runtime (one current-thread
//! runtime on one dedicated thread, shared by its clones) that runs the async credential, so:
//!
//! * it works in a plain `fn main` with no runtime of your own;
//! * the blocking and the async API share one credential, so they share its token cache and
//!   single-flight: 100 threads asking at once still make one provider call
//!   ([`as_async`](Credential::as_async), [`from_arc`](Credential::from_arc));
//! * a request's [deadline](credchain_core::TokenRequestOptions::with_deadline) is honoured:
//!   the call returns [`ErrorKind::Timeout`](credchain_core::ErrorKind::Timeout) by then, and the
//!   abandoned work is dropped (a running `az` is killed);
//! * called from inside an async runtime, where blocking would stall (or deadlock) the
//!   runtime, it returns an [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput)
//!   error naming the async API to use instead. This includes `spawn_blocking` threads, which
//!   also run inside a runtime: there, use `Handle::block_on(credential.as_async().get_token(…))`.
//!
//! When the last clone is dropped, the runtime thread stops and any work still running on it
//! is dropped.
//!
//! ```
//! use credchain::blocking;
//! use credchain::testing::StaticCredential;
//! use credchain::{ChainedCredential, TokenRequestOptions};
//! let chain = ChainedCredential::builder()
//!     .provider(StaticCredential::new("Mine", "token"))
//!     .build()?;
//! let credential = blocking::Credential::new(chain)?;
//! let token = credential.get_token(&["api://x/.default"], &TokenRequestOptions::new())?;
//! assert_eq!(token.secret(), "token");
//! # Ok::<(), credchain::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use credchain_core::{AccessToken, Error, TokenCredential, TokenRequestOptions};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::single_flight;

/// The name errors from the blocking layer itself carry.
const NAME: &str = "blocking::Credential";

/// [`crate::DefaultCredential`] with a blocking `get_token`.
pub type DefaultCredential = Credential<crate::DefaultCredential>;

/// [`crate::ChainedCredential`] with a blocking `get_token`.
pub type ChainedCredential = Credential<crate::ChainedCredential>;

/// A credential with a blocking [`get_token`](Credential::get_token); see the [module
/// docs](self). Cheap to clone: clones share the credential and the runtime.
pub struct Credential<C> {
    credential: Arc<C>,
    runtime: Arc<RuntimeThread>,
}

impl<C> Clone for Credential<C> {
    fn clone(&self) -> Self {
        Credential {
            credential: Arc::clone(&self.credential),
            runtime: Arc::clone(&self.runtime),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for Credential<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Credential")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl Credential<crate::DefaultCredential> {
    /// The default chain ([`crate::DefaultCredential::new`]) with a blocking `get_token`.
    ///
    /// # Errors
    ///
    /// [`crate::DefaultCredential::new`]'s errors, or a
    /// [`Transient`](credchain_core::ErrorKind::Transient) error when the runtime thread cannot
    /// be started.
    pub fn new_default() -> Result<Self, Error> {
        Self::new(crate::DefaultCredential::new()?)
    }
}

impl<C: TokenCredential + 'static> Credential<C> {
    /// Wraps `credential`, starting the runtime thread.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Transient`](credchain_core::ErrorKind::Transient) when the operating system
    /// refuses the thread or the runtime (out of threads or file descriptors).
    pub fn new(credential: C) -> Result<Self, Error> {
        Self::from_arc(Arc::new(credential))
    }

    /// Wraps a credential you also use from async code: both share its cache and single-flight.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn from_arc(credential: Arc<C>) -> Result<Self, Error> {
        Ok(Credential {
            credential,
            runtime: Arc::new(RuntimeThread::start()?),
        })
    }

    /// The async credential, to `.await` from async code.
    pub fn as_async(&self) -> &Arc<C> {
        &self.credential
    }

    /// The async credential; the runtime thread stops when no other clone holds it.
    pub fn into_async(self) -> Arc<C> {
        self.credential
    }

    /// Gets a token, blocking this thread until it arrives, fails, or `options`' deadline passes.
    ///
    /// # Errors
    ///
    /// * The credential's own errors, as the async `get_token` returns them.
    /// * [`ErrorKind::Timeout`](credchain_core::ErrorKind::Timeout) when the deadline passed first.
    /// * [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when called from
    ///   inside a Tokio runtime: use [`as_async`](Self::as_async)`().get_token(…).await` there.
    pub fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        if Handle::try_current().is_ok() {
            return Err(Error::invalid_input(
                self.credential.name(),
                "the blocking `get_token` was called from inside an async (Tokio) runtime, where blocking \
                 would stall it; call `.as_async().get_token(scopes, &options).await` instead",
            ));
        }
        let credential = Arc::clone(&self.credential);
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let options = options.clone();
        let (reply, result) = mpsc::sync_channel(1);
        self.runtime.handle.spawn(async move {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let request = credential.get_token(&scopes, &options);
            let result = single_flight::wait(request, options.deadline(), || {
                Error::timeout(
                    credential.name(),
                    "the request's deadline passed before a token arrived",
                )
            })
            .await;
            // The caller may be gone only if it panicked; nothing to do then.
            let _ = reply.send(result);
        });
        result.recv().unwrap_or_else(|_| {
            Err(Error::transient(
                NAME,
                "the credential's runtime stopped before the request finished; try again",
            ))
        })
    }
}

/// A current-thread Tokio runtime driven by its own thread until dropped.
struct RuntimeThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RuntimeThread {
    fn start() -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| cannot_start(&error))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("credchain-blocking".to_owned())
            .spawn(move || {
                // Runs every spawned request until told to stop (or every sender is gone), then
                // drops whatever is still running without waiting for its blocking-pool work
                // (a DNS lookup, say), so dropping the last clone never blocks on it.
                let _ = runtime.block_on(stopped);
                runtime.shutdown_background();
            })
            .map_err(|error| cannot_start(&error))?;
        Ok(RuntimeThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Joining from the runtime thread itself (the last clone dropped by a task) would wait
        // forever; that thread stops on its own once this returns.
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

#[cold]
fn cannot_start(error: &std::io::Error) -> Error {
    Error::transient(
        NAME,
        format!(
            "cannot start the thread that runs credential requests: {error}; free some threads or file descriptors and try again"
        ),
    )
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant, SystemTime};

    use super::*;
    use crate::testing::{FnCredential, ScriptedCredential};
    use crate::{ErrorKind, TokenCache};

    const SCOPE: &[&str] = &["api://x/.default"];

    #[test]
    fn works_without_a_runtime_and_shares_the_async_cache() {
        let provider = ScriptedCredential::new("Scripted")
            .always_ok("token")
            .with_delay(Duration::from_millis(5));
        let credential = Credential::new(TokenCache::new(provider.clone())).unwrap();
        assert_eq!(
            credential
                .get_token(SCOPE, &TokenRequestOptions::new())
                .unwrap()
                .secret(),
            "token"
        );
        // The async side of the same credential hits the cache the blocking call filled.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let asynchronous = Arc::clone(credential.as_async());
        let token = runtime
            .block_on(async move { asynchronous.get_token(SCOPE, &TokenRequestOptions::new()).await })
            .unwrap();
        assert_eq!(token.secret(), "token");
        assert_eq!(provider.calls(), 1);
    }

    #[test]
    fn inside_an_async_runtime_it_refuses_instead_of_blocking() {
        let (done, result) = mpsc::channel();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let outcome = runtime.block_on(async {
                let never = FnCredential::new("Never", |_| futures::future::pending());
                let credential = Credential::new(never).unwrap();
                credential.get_token(SCOPE, &TokenRequestOptions::new())
            });
            let _ = done.send(outcome);
        });
        // Our own timeout: a deadlock fails the test instead of hanging it.
        let err = result
            .recv_timeout(Duration::from_secs(60))
            .expect("the blocking call inside a runtime must return, not block")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.message().contains("as_async().get_token"), "{err}");
    }

    #[test]
    fn the_deadline_ends_the_call_with_a_timeout() {
        let never = FnCredential::new("Never", |_| futures::future::pending());
        let credential = Credential::new(never).unwrap();
        let options = TokenRequestOptions::new().with_deadline(Instant::now() + Duration::from_millis(20));
        let err = credential.get_token(SCOPE, &options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert_eq!(err.provider(), "Never");
    }

    /// Counts the callers that reached the credential (above the cache).
    #[derive(Debug)]
    struct Counting<C> {
        inner: C,
        entered: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl<C: TokenCredential> TokenCredential for Counting<C> {
        fn name(&self) -> &str {
            self.inner.name()
        }

        async fn get_token(
            &self,
            scopes: &[&str],
            options: &TokenRequestOptions,
        ) -> Result<AccessToken, Error> {
            self.entered.fetch_add(1, Ordering::SeqCst);
            self.inner.get_token(scopes, options).await
        }
    }

    #[test]
    fn a_hundred_threads_at_once_make_one_provider_call() {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = {
            let (gate, calls) = (Arc::clone(&gate), Arc::clone(&calls));
            FnCredential::new("Gated", move |_| {
                let (gate, calls) = (Arc::clone(&gate), Arc::clone(&calls));
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let _permit = gate.acquire().await;
                    Ok(AccessToken::new(
                        "token",
                        SystemTime::now() + Duration::from_secs(3600),
                    ))
                }
            })
        };
        let entered = Arc::new(AtomicUsize::new(0));
        let credential = Credential::new(Counting {
            inner: TokenCache::new(provider),
            entered: Arc::clone(&entered),
        })
        .unwrap();
        thread::scope(|scope| {
            let callers: Vec<_> = (0..100)
                .map(|_| {
                    let credential = credential.clone();
                    scope.spawn(move || credential.get_token(SCOPE, &TokenRequestOptions::new()))
                })
                .collect();
            // Open the gate only once every caller is waiting on the load (a guard, not a timing
            // goal: a caller that never arrives fails the test instead of hanging it).
            let give_up = Instant::now() + Duration::from_secs(60);
            while entered.load(Ordering::SeqCst) < 100 && Instant::now() < give_up {
                thread::yield_now();
            }
            gate.add_permits(1000);
            assert_eq!(
                entered.load(Ordering::SeqCst),
                100,
                "not every caller reached the credential"
            );
            for caller in callers {
                assert_eq!(caller.join().unwrap().unwrap().secret(), "token");
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
