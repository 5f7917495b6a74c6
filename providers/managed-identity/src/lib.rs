//! `ManagedIdentityCredential` for credchain: tokens for the managed identity of the Azure
//! resource the program runs on, without any secret in the program.
//!
//! # Sources
//!
//! The source is detected once, when the credential is built, from these variables (read
//! through [`ProviderContext::env`](credchain_core::ProviderContext::env); blank counts as unset),
//! in this order (azure-identity's `managed_identity.py`):
//!
//! | variables set | source | request |
//! |---|---|---|
//! | `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `IDENTITY_SERVER_THUMBPRINT` | Service Fabric | `GET $IDENTITY_ENDPOINT?api-version=2019-07-01-preview&resource=…`, header `Secret`; only the server certificate whose SHA-1 (or SHA-256) thumbprint is `IDENTITY_SERVER_THUMBPRINT` is accepted |
//! | `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` | App Service, Functions, Container Apps | `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=…`, header `X-IDENTITY-HEADER` |
//! | `IDENTITY_ENDPOINT`, `IMDS_ENDPOINT`, or the Arc agent installed (`/opt/azcmagent/bin/himds`) | Azure Arc | `GET …?api-version=2020-06-01&resource=…`, `Metadata: true`; answers the agent's `401` key-file challenge |
//! | `MSI_ENDPOINT`, `MSI_SECRET` | Azure ML | `GET …?api-version=2017-09-01&resource=…`, header `secret`; `clientid` defaults to `DEFAULT_IDENTITY_CLIENT_ID` |
//! | `MSI_ENDPOINT` | Cloud Shell | `POST $MSI_ENDPOINT`, form `resource=…`, `Metadata: true` |
//! | none of these | IMDS (VMs, scale sets, AKS) | `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`, `Metadata: true`; `AZURE_POD_IDENTITY_AUTHORITY_HOST` replaces the host |
//!
//! `resource` is the one scope without `/.default`. A user-assigned identity is chosen with one of
//! the builder's `client_id`, `object_id`, `resource_id`: IMDS takes all three (`client_id`,
//! `object_id`, `msi_res_id`), App Service all three (`client_id`, `object_id`, `mi_res_id`),
//! Azure ML `client_id` only (`clientid`); Arc, Cloud Shell and Service Fabric only have the system-assigned
//! identity. The request's tenant and claims are checked and then ignored: a managed identity
//! belongs to one tenant and its endpoints take no claims.
//!
//! # Retries and the chain probe
//!
//! 404, 410, 429, 5xx and requests that got no answer are retried up to 5 times with backoff
//! (0.8 s doubling; 2.5 s doubling after 410, so IMDS restarts are waited out for over 70 s) or
//! the server's `Retry-After`, at most 80 s of waiting in all and never past the caller's
//! deadline. Built with [`probe(true)`](ManagedIdentityCredentialBuilder::probe) (for chains),
//! the first IMDS request is a probe without `Metadata`, 1 s timeout and no retries: no answer
//! makes the credential *unavailable* for the rest of its life; any HTTP answer proves IMDS is
//! there and the real request follows.
//!
//! # Errors
//!
//! | situation | kind |
//! |---|---|
//! | no scope, several scopes, bad scope or tenant characters | invalid input |
//! | several of `client_id` / `object_id` / `resource_id`, or one the source cannot take | invalid input |
//! | an endpoint variable that is not an `http(s)` URL or not Unicode | invalid input |
//! | Service Fabric with an HTTP client given through the context (it cannot pin the certificate) | unavailable |
//! | Service Fabric: `IDENTITY_SERVER_THUMBPRINT` not 40 or 64 hex digits | invalid input |
//! | a failure other than connecting or timing out (a certificate without the pinned thumbprint, an answer over 64 KiB), except from IMDS: not retried | authentication failed |
//! | chain probe: no answer from IMDS (refused, unreachable, timed out) | unavailable |
//! | IMDS used alone: no answer after the retries (an answer that cannot be read — cut short, not HTTP, over 64 KiB — counts as none; the message says "no usable response") | unavailable |
//! | IMDS `400` (no identity, or not the requested one, assigned) | unavailable |
//! | IMDS `403` whose body says the network is unreachable (Docker Desktop) | unavailable |
//! | in a chain (`probe(true)`): a `2xx` that is not JSON | unavailable |
//! | any other non-2xx, including 5xx/429/410/404 still failing after the retries | authentication failed, with the endpoint's text |
//! | a `2xx` without a usable `access_token` / expiry, or (alone) not JSON | authentication failed |
//! | the answer echoes a `client_id` other than the requested one | authentication failed |
//! | Arc: a challenge naming a file outside the agent's token directory, not `.key`, or over 4 KiB | authentication failed |
//! | App Service / Arc / Azure ML / Cloud Shell, or IMDS after a successful probe: no answer, or none that can be read | transient (timed out for a timeout) |
//! | the caller's deadline passed, or came too near for the retry that would have followed (the message keeps the last attempt's reason) | timed out |
//!
//! No token, header secret or Arc key ever appears in a log line, an error or `Debug` output.
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod arc;
mod credential;
#[cfg(test)]
mod credential_tests;
mod errors;
mod parse;
mod probe;
mod request;
mod retry;
mod source;

pub use credential::{
    DEFAULT_PROBE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Description, ManagedIdentityCredential,
    ManagedIdentityCredentialBuilder, NAME,
};
pub use probe::ProbeReport;
pub use request::UserAssignedId;
#[cfg(feature = "test-util")]
pub use retry::FakeTimer;
pub use retry::{Timer, TokioTimer};
pub use source::SourceKind;
