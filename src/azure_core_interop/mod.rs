//! Interop with the official Azure SDK for Rust (`azure_core` 1.x), behind the `azure-core`
//! feature.
//!
//! | item | direction |
//! |---|---|
//! | [`AzureCoreCredential`] | any credchain credential (a provider, a chain, `DefaultCredential`) → an `azure_core::credentials::TokenCredential` for SDK clients |
//! | [`FromAzureCore`] | any `Arc<dyn azure_core::credentials::TokenCredential>` (e.g. an `azure_identity` credential) → a credchain provider |
//! | [`into_azure_error`], [`classify`] | the error mapping each direction uses |
//! | [`find_credchain_error`] | digs credchain's error (kind, attempts) out of an SDK client's error |
//!
//! The feature adds `azure_core` without default features: the credential types and errors
//! only, no HTTP client and no TLS backend. Your SDK client crates bring their own.
//!
//! # Example: an SDK client with credchain's chain
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use credchain::ChainedCredential;
//! use credchain::azure_core_interop::AzureCoreCredential;
//! # use credchain::testing::StaticCredential;
//! # let provider = StaticCredential::new("EnvironmentCredential", "t");
//! let chain = ChainedCredential::builder().provider(provider).build()?;
//! let credential = AzureCoreCredential::shared(chain);
//! // let client = azure_security_keyvault_secrets::SecretClient::new(vault_url, credential, None)?;
//! # let _ = credential; Ok(()) }
//! ```
//!
//! # How things map
//!
//! | credchain | `azure_core` 1.1 |
//! |---|---|
//! | `TokenCredential::get_token(scopes, &TokenRequestOptions)` | `TokenCredential::get_token(scopes, Option<TokenRequestOptions>)` |
//! | `AccessToken` secret, `expires_on` | `AccessToken { token, expires_on }` (nanosecond precision both ways; clamped to the years -9999..=9999) |
//! | `Error` of any [`ErrorKind`](crate::ErrorKind) | `Error` of kind `Credential`, same text, the credchain error as source (downcast to read the kind and attempts) |
//! | `Unavailable` / `AuthenticationFailed` / `Timeout` / `Transient` | from `azure_core`: see [`classify`] (I/O `NotFound` → `Unavailable`; `Connection`, `Io`, 429, 5xx → `Transient`; 408, I/O `TimedOut` → `Timeout`; the rest → `AuthenticationFailed`) |
//!
//! # What cannot map
//!
//! * **Tenant, claims, CAE.** `azure_core`'s `TokenRequestOptions` holds only a `Context`.
//!   Towards SDK clients, [`AzureCoreCredential`] reads a credchain `TokenRequestOptions` from
//!   that `Context` if you put one there, or uses fixed options. From official credentials,
//!   [`FromAzureCore`] refuses (`Unavailable`) a tenant other than the one you tell it and any
//!   claims challenge, and drops the CAE flag.
//! * **`refresh_on` and the token type.** `azure_core`'s `AccessToken` has neither: tokens from
//!   official credentials come back without `refresh_on` (credchain's cache then refreshes
//!   by expiry alone); credchain tokens that are not `Bearer` are refused with a `Credential`
//!   error, since SDK clients send every token as `Bearer`.
//! * **Error kinds towards `azure_core`.** Every credchain error becomes `Credential`, as the
//!   official credentials' errors do; the finer kind (and whether a retry may help) is only in
//!   the source. Deliberately not `Connection`/`Io` for `Transient`: the SDK retry policy would
//!   then call the credential again up to its retry limit, on top of the provider's own retries.
//! * **The message SDK callers see.** An SDK client's retry policy wraps the credential's error
//!   as "non-transport error occurred which will not be retried"; credchain's message (with
//!   every attempt of a chain) is its source. Print the source chain, or use
//!   [`find_credchain_error`].
//! * **Error kinds from `azure_core`.** The official credentials report nearly everything as
//!   `Credential`, including "not signed in" and "`az` not found" as text only. By default
//!   those stop a chain (`AuthenticationFailed`); add such a credential with
//!   [`developer_tool`](crate::ChainedCredentialBuilder::developer_tool) or give
//!   [`FromAzureCore::classify_with`] a rule.
//! * **Cancellation.** [`FromAzureCore`] enforces deadlines by dropping the call. The official
//!   CLI credentials run `az` on a thread or task of their own that keeps running until `az`
//!   exits; credchain's own [`AzureCliCredential`](https://docs.rs/credchain-azure-cli) kills it.
//! * **Secret hygiene.** `azure_core`'s `Secret` is not zeroized on drop, so the copy of a token
//!   handed to an SDK client is not either.
//! * **Caching.** An SDK client's authorization policy caches one token per client on its own;
//!   credchain's cache sits underneath, so a policy refresh usually costs a cache hit.
//!
//! # TLS with `azure_core`'s default HTTP client
//!
//! credchain's providers use reqwest with rustls on the `ring` provider and no default
//! provider compiled in. If your SDK client lets `azure_core` build its reqwest client and your
//! build does not enable `azure_core/reqwest_rustls` (which brings `aws-lc-rs`), install a
//! process-wide rustls provider first, e.g.
//! `rustls::crypto::ring::default_provider().install_default()`, or give the client options a
//! `Transport` around your own `reqwest::Client`.

mod convert;
mod from_azure;
mod to_azure;

pub use convert::{classify, find_credchain_error, into_azure_error};
pub use from_azure::FromAzureCore;
pub use to_azure::AzureCoreCredential;
