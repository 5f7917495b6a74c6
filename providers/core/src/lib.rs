//! The provider API of credchain: what every credential provider implements.
//!
//! **Applications** should depend on [`credchain`](https://docs.rs/credchain), which re-exports
//! everything here together with the chain, the middleware and the built-in providers.
//! **Provider authors** (including third parties) depend on this crate alone: it is small,
//! stable and has no runtime or HTTP dependencies.
//!
//! | item | what it is |
//! |---|---|
//! | [`TokenCredential`] | the async trait every provider implements |
//! | [`AccessToken`] | a token; cheap to clone, never shown by `Debug` or `Display` |
//! | [`TokenRequestOptions`] | per-request tenant, claims, CAE and deadline |
//! | [`Error`], [`ErrorKind`] | *unavailable* vs *authentication failed* vs *invalid input* … |
//! | [`Secret`] | a string that is redacted in `Debug` and zeroized on drop |
//! | [`validate`] | the request check ([`validate::request`]) and the character sets for scopes, tenants and subscriptions |
//! | [`tenant`] | the one tenant comparison rule ([`tenant::same_tenant`]) |
//! | [`fs`] | the bounded file reader ([`fs::read_bounded`]) and the file-system seam |
//! | [`http`] | the HTTP seam ([`http::HttpClient`]) |
//! | [`ProviderContext`], [`Env`], [`Clock`] | injectable seams in one context object, so providers never read the process state directly |
//!
//! # Writing a provider
//!
//! ```
//! use credchain_core::{AccessToken, Error, TokenCredential, TokenRequestOptions};
//! use std::time::{Duration, SystemTime};
//!
//! #[derive(Debug)]
//! struct MyCredential;
//!
//! #[async_trait::async_trait]
//! impl TokenCredential for MyCredential {
//!     fn name(&self) -> &str {
//!         "MyCredential"
//!     }
//!
//!     async fn get_token(
//!         &self,
//!         scopes: &[&str],
//!         options: &TokenRequestOptions,
//!     ) -> Result<AccessToken, Error> {
//!         if scopes.is_empty() {
//!             return Err(Error::invalid_input(self.name(), "at least one scope is required"));
//!         }
//!         // Most providers fetch the token from somewhere; this one makes it up.
//!         let _tenant = options.tenant_id();
//!         Ok(AccessToken::new("secret-token", SystemTime::now() + Duration::from_secs(3600)))
//!     }
//! }
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod clock;
mod context;
mod credential;
mod env;
mod error;
pub mod fs;
pub mod http;
mod options;
pub mod tenant;
mod token;
pub mod validate;

#[cfg(feature = "test-util")]
pub use clock::FakeClock;
pub use clock::{Clock, SystemClock};
pub use context::ProviderContext;
pub use credential::TokenCredential;
pub use env::Env;
pub use error::{Attempt, AttemptOutcome, Error, ErrorKind};
pub use options::TokenRequestOptions;
pub use token::{AccessToken, Secret};

/// Re-exported so provider authors use the same `async_trait` version as this crate.
pub use async_trait::async_trait;
