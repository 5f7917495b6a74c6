//! One context object carrying every seam a provider reads the outside world through.

use std::sync::Arc;

use crate::fs::{FileSystem, RealFileSystem, SharedFileSystem};
use crate::http::SharedHttpClient;
use crate::{Clock, Env, SystemClock};

/// The environment, clock, file system and HTTP client a provider uses, in one value.
///
/// Builders take one (`.context(ctx)`), so a test replaces the whole outside world in one
/// place: variables from a map, a fake clock, files from memory, HTTP answered in-process.
/// Like aws-config's `ProviderConfig`, it is cheap to clone and shared between providers.
///
/// ```
/// use credchain_core::{Env, ProviderContext};
/// let context = ProviderContext::new().with_env(Env::from_pairs([("AZURE_CLIENT_ID", "app")]));
/// assert_eq!(context.env().var("AZURE_CLIENT_ID").as_deref(), Some("app"));
/// assert!(context.http().is_none()); // the provider's own default HTTP client applies
/// ```
#[derive(Clone, Debug)]
pub struct ProviderContext {
    env: Env,
    clock: Arc<dyn Clock>,
    fs: SharedFileSystem,
    http: Option<SharedHttpClient>,
}

impl Default for ProviderContext {
    fn default() -> Self {
        ProviderContext {
            env: Env::process(),
            clock: Arc::new(SystemClock),
            fs: Arc::new(RealFileSystem),
            http: None,
        }
    }
}

impl ProviderContext {
    /// The real process environment, system clock and file system, and no HTTP client override.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads environment variables from `env`.
    #[must_use]
    pub fn with_env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Reads the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Reads files from `fs`.
    #[must_use]
    pub fn with_fs(mut self, fs: impl FileSystem + 'static) -> Self {
        self.fs = Arc::new(fs);
        self
    }

    /// Sends HTTP requests through `http` instead of the provider's default client.
    #[must_use]
    pub fn with_http(mut self, http: SharedHttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The file system.
    pub fn fs(&self) -> &dyn FileSystem {
        &*self.fs
    }

    /// The HTTP client override, if one was given.
    pub fn http(&self) -> Option<&SharedHttpClient> {
        self.http.as_ref()
    }
}
