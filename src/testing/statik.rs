use std::sync::Arc;
use std::time::Duration;

use credchain_core::{AccessToken, Clock, Error, SystemClock, TokenCredential, TokenRequestOptions};

/// A provider that always returns the same token (valid for an hour from each call) or error.
///
/// ```
/// use credchain::testing::StaticCredential;
/// use credchain::{TokenCredential, TokenRequestOptions};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ok = StaticCredential::new("Fake", "token-1");
/// assert_eq!(ok.get_token(&["s"], &TokenRequestOptions::new()).await.unwrap().secret(), "token-1");
/// let missing = StaticCredential::unavailable("Fake", "nothing configured");
/// assert!(missing.get_token(&["s"], &TokenRequestOptions::new()).await.unwrap_err().is_unavailable());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct StaticCredential {
    name: Arc<str>,
    home_tenant: Option<Arc<str>>,
    result: Result<(Arc<str>, Option<AccessToken>), Error>,
    clock: Arc<dyn Clock>,
}

impl StaticCredential {
    /// Returns a `Bearer` token with this secret, expiring an hour after each call.
    pub fn new(name: &str, secret: &str) -> Self {
        StaticCredential {
            name: name.into(),
            home_tenant: None,
            result: Ok((secret.into(), None)),
            clock: Arc::new(SystemClock),
        }
    }

    /// Returns exactly `token` every time.
    pub fn with_token(name: &str, token: AccessToken) -> Self {
        StaticCredential {
            name: name.into(),
            home_tenant: None,
            result: Ok((Arc::from(""), Some(token))),
            clock: Arc::new(SystemClock),
        }
    }

    /// Always reports unavailable with `message`.
    pub fn unavailable(name: &str, message: &str) -> Self {
        Self::failing(name, Error::unavailable(name, message))
    }

    /// Always returns `error`.
    pub fn failing(name: &str, error: Error) -> Self {
        StaticCredential {
            name: name.into(),
            home_tenant: None,
            result: Err(error),
            clock: Arc::new(SystemClock),
        }
    }

    /// Reports `tenant` as the home tenant.
    pub fn with_home_tenant(mut self, tenant: &str) -> Self {
        self.home_tenant = Some(tenant.into());
        self
    }

    /// Computes expiry times from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticCredential {
    fn name(&self) -> &str {
        &self.name
    }

    fn home_tenant(&self) -> Option<&str> {
        self.home_tenant.as_deref()
    }

    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: &TokenRequestOptions,
    ) -> Result<AccessToken, Error> {
        match &self.result {
            Ok((_, Some(token))) => Ok(token.clone()),
            Ok((secret, None)) => Ok(AccessToken::new(&**secret, self.clock.now() + HOUR)),
            Err(error) => Err(error.clone()),
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);
