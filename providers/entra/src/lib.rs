//! A small client for the Microsoft Entra ID token endpoint, shared by credchain's providers.
//!
//! [`EntraClient`] sends `POST {authority}/{tenant}/oauth2/v2.0/token` for one of five
//! [`Grant`]s and turns the answer into a [`TokenResponse`] (an
//! [`AccessToken`](credchain_core::AccessToken) with `expires_on` and `refresh_on`, plus a
//! rotated refresh token when there is one), or into a credchain [`Error`](credchain_core::Error)
//! whose kind tells a chain what to do.
//!
//! | Item | What it is |
//! |---|---|
//! | [`EntraClient`], [`EntraClientBuilder`] | the token client: validation, retries, `Retry-After`, timeout, error mapping |
//! | [`EntraHttpClient`] | credchain's [`HttpClient`](credchain_core::http::HttpClient): rustls roots, proxy, bounded bodies; `http://` too (for loopback/IMDS endpoints) |
//! | [`Grant`] | client secret, client certificate, caller-supplied client assertion, refresh token, username/password |
//! | [`ClientAssertionSource`], [`AssertionFn`] | where a [`Grant::ClientAssertion`] gets its assertion (a fixed [`Secret`](credchain_core::Secret) is one) |
//! | [`Authority`] | an https authority host (`AZURE_AUTHORITY_HOST`, known clouds) |
//! | [`ClientCertificate`] | a PEM or PKCS#12 certificate with its RSA key, signing assertions |
//! | [`TokenResponse`], [`EntraErrorResponse`] | what came back |
//!
//! # HTTP
//!
//! Every request goes through one [`SharedHttpClient`](credchain_core::http::SharedHttpClient):
//! the one in the [`ProviderContext`](credchain_core::ProviderContext) given to
//! [`EntraClientBuilder::context`] (or [`EntraClientBuilder::http_client`]), else an
//! [`EntraHttpClient`] built from the builder's environment. Tests answer requests in-process
//! that way.
//!
//! # What it reads
//!
//! Only through the injected [`Env`](credchain_core::Env): `AZURE_AUTHORITY_HOST` (when no
//! authority is given), and, for the default HTTP client, `SSL_CERT_FILE` / `SSL_CERT_DIR`
//! (trusted roots, replacing the system store when set; read with
//! [`read_bounded`](credchain_core::fs::read_bounded), at most 16 MiB per file),
//! `https_proxy` / `HTTPS_PROXY` / `all_proxy` / `ALL_PROXY` and `no_proxy` / `NO_PROXY`.
//!
//! # Secrets in memory
//!
//! What is wiped, exactly: the request form is built in one buffer of its exact encoded size
//! (no reallocation, so no partial copies) and wiped when the HTTP client drops it;
//! [`EntraHttpClient`] reads the response body into a buffer that is grown only by copying into
//! a new wiping buffer;
//! the access and refresh tokens are read from it without a `serde_json::Value` (borrowed, or
//! a wiped copy when they hold JSON escapes) into [`Secret`](credchain_core::Secret)s; signed
//! or supplied assertions are `Secret`s. What is not: copies made inside reqwest, hyper and
//! rustls (see [`EntraHttpClient`]), serde_json's scratch buffer for escaped strings, and the
//! text a server or proxy echoes back: the request's secrets (of 4 characters or more) are
//! replaced by `***` in every encoding they were sent in before any message is made from it.
//!
//! # What it does not do
//!
//! No token cache, no tenant allow-list and no single-flight: credchain's middleware does that
//! once for every provider. Instance discovery and regional endpoints are not used.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use credchain_core::{Secret, TokenRequestOptions};
//! use credchain_entra::{Authority, ClientCertificate, EntraClient, Grant};
//!
//! let client = EntraClient::builder().authority(Authority::public()).build()?;
//! let cert = ClientCertificate::load(&std::fs::read("app.pem")?, None)?;
//! let grant = Grant::ClientCertificate {
//!     client_id: "00000000-0000-0000-0000-000000000001",
//!     certificate: &cert,
//!     send_certificate_chain: false,
//! };
//! let response = client
//!     .request_token("MyCredential", "contoso.onmicrosoft.com", &grant,
//!         &["https://management.azure.com/.default"], &TokenRequestOptions::default())
//!     .await?;
//! # let _ = response; Ok(()) }
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod authority;
mod builder;
mod certificate;
mod client;
mod errors;
mod form;
mod grant;
mod http;
mod net;
mod parse;
mod pinned;
mod retry;
mod scrub;
mod success;

pub use authority::{AZURE_AUTHORITY_HOST, Authority, CHINA_HOST, PUBLIC_HOST, US_GOVERNMENT_HOST};
pub use builder::{DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DELAY, DEFAULT_TIMEOUT, EntraClientBuilder};
pub use certificate::{ASSERTION_LIFETIME, CertificateError, CertificateErrorKind, ClientCertificate};
pub use client::EntraClient;
pub use grant::{AssertionFn, ClientAssertionSource, Grant};
pub use http::{DEFAULT_MAX_BODY, EntraHttpClient, EntraHttpClientBuilder};
pub use net::{NO_PROXY_VARS, PROXY_VARS};
pub use parse::EntraErrorResponse;
pub use retry::MAX_RETRY_DELAY;
pub use success::{HALF_LIFE_REFRESH_THRESHOLD, TokenResponse};
