//! Ordered Azure credential chains with the cross-cutting rules written once.
//!
//! credchain gets Azure access tokens from wherever they can be had — environment variables,
//! workload identity, managed identity, VS Code, the Azure CLI, your own sources — through one
//! async trait, [`TokenCredential`]. [`DefaultCredential`] tries the built-in ones in
//! azure-identity's order: environment → workload identity → managed identity → VS Code →
//! Azure CLI.
//!
//! * [`ChainedCredential`] tries providers in order: a provider that *cannot* try reports
//!   unavailable and the chain moves on; one that tried and *failed* stops the chain with an
//!   error listing every attempt.
//! * Middleware wraps any provider: [`TenantPolicy`] (the tenant allow-list, with
//!   azure-identity's rules; tenants compare ignoring ASCII case) and [`TokenCache`] (per-key
//!   single-flight, proactive refresh, allocation-free hits). Compose them with [`Layer`].
//! * [`testing`] (feature `testing`) has fake providers and a fake clock for your tests.
//! * `blocking` (feature `blocking`) gives any of them a synchronous `get_token` for programs
//!   without an async runtime.
//!
//! The provider API ([`TokenCredential`], [`AccessToken`], [`Error`], …) lives in the small
//! `credchain-core` crate and is re-exported here; provider authors depend on that crate alone.
//!
//! # Example
//!
//! ```
//! use credchain::{ChainedCredential, TokenRequestOptions};
//! use credchain::testing::StaticCredential;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), credchain::Error> {
//! let chain = ChainedCredential::builder()
//!     .provider(StaticCredential::unavailable("EnvironmentCredential", "`AZURE_CLIENT_ID` is not set"))
//!     .developer_tool(StaticCredential::new("AzureCliCredential", "token"))
//!     .build()?;
//! let token = chain.get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new()).await?;
//! println!("expires at {:?}", token.expires_on());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

#[cfg(feature = "azure-core")]
pub mod azure_core_interop;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod cache;
pub mod chain;
pub mod default;
mod layer;
mod single_flight;
pub mod tenant;
#[cfg(feature = "testing")]
pub mod testing;

pub use cache::{TokenCache, TokenCacheLayer};
pub use chain::{ChainedCredential, ChainedCredentialBuilder, ProviderEntry};
pub use default::{DefaultCredential, DefaultCredentialBuilder};

#[cfg(feature = "azure-cli")]
#[doc(inline)]
pub use credchain_azure_cli::{self as azure_cli, AzureCliCredential};
#[cfg(feature = "azure-developer-cli")]
#[doc(inline)]
pub use credchain_azure_developer_cli::{self as azure_developer_cli, AzureDeveloperCliCredential};
#[doc(inline)]
pub use credchain_core::{
    AccessToken, Attempt, AttemptOutcome, Clock, Env, Error, ErrorKind, Secret, SystemClock, TokenCredential,
    TokenRequestOptions, async_trait, validate,
};
#[cfg(any(
    feature = "environment",
    feature = "vscode",
    feature = "workload-identity",
    feature = "managed-identity"
))]
#[doc(inline)]
pub use credchain_entra::{self as entra, Authority};
#[cfg(feature = "environment")]
#[doc(inline)]
pub use credchain_environment::{self as environment, EnvironmentCredential};
#[cfg(feature = "managed-identity")]
#[doc(inline)]
pub use credchain_managed_identity::{self as managed_identity, ManagedIdentityCredential};
#[cfg(feature = "vscode")]
#[doc(inline)]
pub use credchain_vscode::{self as vscode, VsCodeCredential};
#[cfg(feature = "workload-identity")]
#[doc(inline)]
pub use credchain_workload_identity::{self as workload_identity, WorkloadIdentityCredential};
pub use layer::Layer;
pub use tenant::{TenantPolicy, TenantPolicyLayer};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
