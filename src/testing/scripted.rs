use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use credchain_core::{AccessToken, Clock, Error, SystemClock, TokenCredential, TokenRequestOptions};
use parking_lot::Mutex;

/// One request a [`ScriptedCredential`] received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The scopes, in order.
    pub scopes: Vec<String>,
    /// The tenant it was asked for (below the tenant middleware: the resolved tenant).
    pub tenant_id: Option<String>,
    /// The claims challenge, if any.
    pub claims: Option<String>,
    /// Whether CAE was requested.
    pub enable_cae: bool,
}

#[derive(Clone, Debug)]
enum Outcome {
    /// A token with this secret, valid for the script's lifetime from the clock's now.
    Secret(Arc<str>),
    Token(AccessToken),
    Error(Error),
}

#[derive(Clone, Debug)]
struct Step {
    delay: Duration,
    outcome: Outcome,
}

#[derive(Debug)]
struct Script {
    name: Arc<str>,
    clock: Arc<dyn Clock>,
    lifetime: Duration,
    delay: Duration,
    steps: VecDeque<Step>,
    fallback: Option<Step>,
    requests: Vec<RecordedRequest>,
}

/// A provider that plays a programmed sequence of outcomes, with delays, counting calls and
/// recording every request. Clones share the script, so keep one to inspect it.
///
/// Steps are consumed in order; after the last, the [`always_ok`](Self::always_ok) /
/// [`always_err`](Self::always_err) fallback repeats, or, without one, calls fail with an
/// authentication error saying the script ran out. Delays use `tokio::time::sleep`, so paused
/// tokio time makes them instant and deterministic.
///
/// ```
/// use credchain::testing::ScriptedCredential;
/// use credchain::{TokenCredential, TokenRequestOptions};
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let provider = ScriptedCredential::new("Scripted")
///     .then_unavailable("not signed in")
///     .then_ok("token-2")
///     .with_delay(Duration::from_millis(1));
/// let options = TokenRequestOptions::new();
/// assert!(provider.get_token(&["s"], &options).await.unwrap_err().is_unavailable());
/// assert_eq!(provider.get_token(&["s"], &options).await.unwrap().secret(), "token-2");
/// assert_eq!(provider.calls(), 2);
/// assert_eq!(provider.requests()[0].scopes, ["s"]);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ScriptedCredential {
    name: Arc<str>,
    home_tenant: Option<Arc<str>>,
    script: Arc<Mutex<Script>>,
    calls: Arc<AtomicUsize>,
}

impl ScriptedCredential {
    /// An empty script for a provider named `name`: tokens last an hour, no delay.
    pub fn new(name: &str) -> Self {
        ScriptedCredential {
            name: name.into(),
            home_tenant: None,
            script: Arc::new(Mutex::new(Script {
                name: name.into(),
                clock: Arc::new(SystemClock),
                lifetime: Duration::from_secs(3600),
                delay: Duration::ZERO,
                steps: VecDeque::new(),
                fallback: None,
                requests: Vec::new(),
            })),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn push(self, outcome: Outcome) -> Self {
        {
            let mut script = self.script.lock();
            let delay = script.delay;
            script.steps.push_back(Step { delay, outcome });
        }
        self
    }

    /// Next, a token with this secret.
    pub fn then_ok(self, secret: &str) -> Self {
        self.push(Outcome::Secret(secret.into()))
    }

    /// Next, exactly `token`.
    pub fn then_token(self, token: AccessToken) -> Self {
        self.push(Outcome::Token(token))
    }

    /// Next, `error`.
    pub fn then_err(self, error: Error) -> Self {
        self.push(Outcome::Error(error))
    }

    /// Next, an unavailable error with `message`.
    pub fn then_unavailable(self, message: &str) -> Self {
        let error = Error::unavailable(&self.name, message);
        self.then_err(error)
    }

    /// Next, an authentication failure with `message`.
    pub fn then_fail(self, message: &str) -> Self {
        let error = Error::authentication_failed(&self.name, message);
        self.then_err(error)
    }

    /// After the script, always a token with this secret.
    pub fn always_ok(self, secret: &str) -> Self {
        self.set_fallback(Outcome::Secret(secret.into()))
    }

    /// After the script, always `error`.
    pub fn always_err(self, error: Error) -> Self {
        self.set_fallback(Outcome::Error(error))
    }

    fn set_fallback(self, outcome: Outcome) -> Self {
        {
            let mut script = self.script.lock();
            let delay = script.delay;
            script.fallback = Some(Step { delay, outcome });
        }
        self
    }

    /// Every call (already scripted ones and later ones) waits `delay` before answering.
    pub fn with_delay(self, delay: Duration) -> Self {
        {
            let mut script = self.script.lock();
            script.delay = delay;
            script.steps.iter_mut().for_each(|step| step.delay = delay);
            if let Some(fallback) = &mut script.fallback {
                fallback.delay = delay;
            }
        }
        self
    }

    /// Tokens made from secrets expire `lifetime` after the call (default one hour).
    pub fn with_lifetime(self, lifetime: Duration) -> Self {
        self.script.lock().lifetime = lifetime;
        self
    }

    /// Computes expiry times from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.script.lock().clock = clock;
        self
    }

    /// Reports `tenant` as the home tenant.
    pub fn with_home_tenant(mut self, tenant: &str) -> Self {
        self.home_tenant = Some(tenant.into());
        self
    }

    /// How many times `get_token` has been called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.script.lock().requests.clone()
    }
}

#[async_trait::async_trait]
impl TokenCredential for ScriptedCredential {
    fn name(&self) -> &str {
        &self.name
    }

    fn home_tenant(&self) -> Option<&str> {
        self.home_tenant.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (step, clock, lifetime, name) = {
            let mut script = self.script.lock();
            script.requests.push(RecordedRequest {
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                tenant_id: options.tenant_id().map(str::to_owned),
                claims: options.claims().map(str::to_owned),
                enable_cae: options.enable_cae(),
            });
            let step = script.steps.pop_front().or_else(|| script.fallback.clone());
            (
                step,
                Arc::clone(&script.clock),
                script.lifetime,
                Arc::clone(&script.name),
            )
        };
        let Some(step) = step else {
            return Err(Error::authentication_failed(
                &name,
                "the scripted credential has no outcomes left",
            ));
        };
        if !step.delay.is_zero() {
            tokio::time::sleep(step.delay).await;
        }
        match step.outcome {
            Outcome::Secret(secret) => Ok(AccessToken::new(&*secret, clock.now() + lifetime)),
            Outcome::Token(token) => Ok(token),
            Outcome::Error(error) => Err(error),
        }
    }
}
