use std::fmt;
use std::future::Future;
use std::sync::Arc;

use credchain_core::{AccessToken, Error, TokenCredential, TokenRequestOptions};
use futures::future::BoxFuture;

/// An owned copy of one token request, handed to an [`FnCredential`]'s closure.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The requested scopes.
    pub scopes: Vec<String>,
    /// The request's options (below the tenant middleware: with the resolved tenant).
    pub options: TokenRequestOptions,
}

type Callback = dyn Fn(TokenRequest) -> BoxFuture<'static, Result<AccessToken, Error>> + Send + Sync;

/// A provider whose results come from an async closure.
///
/// ```
/// use credchain::testing::FnCredential;
/// use credchain::{AccessToken, TokenCredential, TokenRequestOptions};
/// use std::time::{Duration, SystemTime};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let provider = FnCredential::new("Echo", |request| async move {
///     let secret = format!("token-for-{}", request.scopes.join(" "));
///     Ok(AccessToken::new(secret, SystemTime::now() + Duration::from_secs(60)))
/// });
/// let token = provider.get_token(&["api://x/.default"], &TokenRequestOptions::new()).await.unwrap();
/// assert_eq!(token.secret(), "token-for-api://x/.default");
/// # }
/// ```
#[derive(Clone)]
pub struct FnCredential {
    name: Arc<str>,
    home_tenant: Option<Arc<str>>,
    callback: Arc<Callback>,
}

impl FnCredential {
    /// A provider named `name` that answers each request with `callback`.
    pub fn new<F, Fut>(name: &str, callback: F) -> Self
    where
        F: Fn(TokenRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AccessToken, Error>> + Send + 'static,
    {
        FnCredential {
            name: name.into(),
            home_tenant: None,
            callback: Arc::new(move |request| Box::pin(callback(request))),
        }
    }

    /// Reports `tenant` as the home tenant.
    pub fn with_home_tenant(mut self, tenant: &str) -> Self {
        self.home_tenant = Some(tenant.into());
        self
    }
}

impl fmt::Debug for FnCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCredential")
            .field("name", &self.name)
            .field("home_tenant", &self.home_tenant)
            .finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for FnCredential {
    fn name(&self) -> &str {
        &self.name
    }

    fn home_tenant(&self) -> Option<&str> {
        self.home_tenant.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        let request = TokenRequest {
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            options: options.clone(),
        };
        (self.callback)(request).await
    }
}
