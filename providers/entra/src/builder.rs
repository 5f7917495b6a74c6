//! [`EntraClientBuilder`]: the token client's options and where its HTTP client comes from.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use credchain_core::http::SharedHttpClient;
use credchain_core::{Clock, Env, Error, ProviderContext, SystemClock};

use crate::client::{EntraClient, Inner};
use crate::{Authority, EntraHttpClient};

/// The default overall timeout of one `request_token` call, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default number of retries after the first attempt (on 429, 5xx and connection errors).
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The default first backoff delay; it doubles on every retry, with jitter.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(800);
/// The name used for errors from [`EntraClientBuilder::build`] unless one is set.
const DEFAULT_PROVIDER: &str = "EntraClient";

/// Builds an [`EntraClient`].
///
/// Defaults: the authority from `AZURE_AUTHORITY_HOST` (else the public cloud), the process
/// environment, the system clock, an [`EntraHttpClient`] set up from that environment, a 30 s
/// overall timeout and 3 retries.
pub struct EntraClientBuilder {
    authority: Option<Authority>,
    env: Env,
    clock: Arc<dyn Clock>,
    http: Option<SharedHttpClient>,
    extra_roots: Vec<Vec<u8>>,
    timeout: Duration,
    max_retries: u32,
    retry_delay: Duration,
    provider: String,
}

impl fmt::Debug for EntraClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraClientBuilder")
            .field("authority", &self.authority)
            .field("http", &self.http)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("extra_roots", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl Default for EntraClientBuilder {
    fn default() -> Self {
        EntraClientBuilder {
            authority: None,
            env: Env::process(),
            clock: Arc::new(SystemClock),
            http: None,
            extra_roots: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_delay: DEFAULT_RETRY_DELAY,
            provider: DEFAULT_PROVIDER.into(),
        }
    }
}

impl EntraClientBuilder {
    /// Uses `authority` instead of `AZURE_AUTHORITY_HOST` or the public cloud.
    pub fn authority(mut self, authority: Authority) -> Self {
        self.authority = Some(authority);
        self
    }

    /// Takes the environment, the clock and, when the context has one, the HTTP client from
    /// `context` (its file system is not used). Later calls to [`env`](Self::env),
    /// [`clock`](Self::clock) or [`http_client`](Self::http_client) override it.
    pub fn context(mut self, context: &ProviderContext) -> Self {
        self.env = context.env().clone();
        self.clock = Arc::clone(context.clock());
        if let Some(http) = context.http() {
            self.http = Some(Arc::clone(http));
        }
        self
    }

    /// Reads `AZURE_AUTHORITY_HOST` from `env`, and, unless an HTTP client is given,
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their
    /// lowercase forms) for the default one (default: the process).
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// The clock used for token lifetimes and assertion times (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sends every request through `http` instead of a default [`EntraHttpClient`] (retries,
    /// `Retry-After` and error mapping stay in the token client).
    pub fn http_client(mut self, http: SharedHttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Trusts the certificates in `pem` as roots, in addition to the system's (or
    /// `SSL_CERT_FILE`'s). Can be called more than once. Only for the default HTTP client:
    /// [`build`](Self::build) refuses it together with [`http_client`](Self::http_client).
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.extra_roots.push(pem.to_vec());
        self
    }

    /// The overall time one `request_token` call may take, retries and backoff included
    /// (default 30 s). A request's own [`deadline`](credchain_core::TokenRequestOptions::deadline)
    /// also applies.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times to retry after the first attempt (default 3). `0` disables retries.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The first backoff delay (default 800 ms), doubled on each retry with ±25 % jitter and
    /// capped at 60 s. A `Retry-After` header replaces it.
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// The provider name put on errors from [`build`](Self::build) (default `EntraClient`).
    /// Errors from `request_token` carry the name passed to it instead.
    pub fn provider_name(mut self, name: impl Into<String>) -> Self {
        self.provider = name.into();
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when
    /// `AZURE_AUTHORITY_HOST` or the proxy variable is not a valid URL, an added root
    /// certificate is not valid PEM, or roots were added together with an HTTP client.
    pub fn build(self) -> Result<EntraClient, Error> {
        let provider = self.provider.as_str();
        let authority = match self.authority {
            Some(a) => a,
            None => Authority::from_env(&self.env).map_err(|e| Error::invalid_input(provider, e))?,
        };
        let http: SharedHttpClient = match self.http {
            Some(_) if !self.extra_roots.is_empty() => {
                return Err(Error::invalid_input(
                    provider,
                    "`add_root_certificate_pem` has no effect on a given HTTP client; add the roots to \
                     that client (for example `EntraHttpClient::builder().add_root_certificate_pem`)",
                ));
            }
            Some(http) => http,
            None => {
                let mut http = EntraHttpClient::builder().env(self.env.clone());
                for pem in &self.extra_roots {
                    http = http.add_root_certificate_pem(pem);
                }
                Arc::new(http.build_for(provider)?)
            }
        };
        Ok(EntraClient {
            inner: Arc::new(Inner {
                authority,
                http,
                clock: self.clock,
                timeout: self.timeout,
                max_retries: self.max_retries,
                retry_delay: self.retry_delay,
            }),
        })
    }
}
