//! `WorkloadIdentityCredential`: Microsoft Entra workload identity federation for credchain.
//!
//! A workload that already holds a token from a trusted issuer (an AKS pod's projected service
//! account token, a GitHub Actions OIDC token) exchanges it for an access token:
//! `POST {authority}/{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`,
//! `client_assertion=<file contents, trimmed>`,
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, `client_id`
//! and `scope`, sent by [`credchain_entra`].
//!
//! | Item | What it is |
//! |---|---|
//! | [`WorkloadIdentityCredential`] | the provider (name `WorkloadIdentityCredential`) |
//! | [`WorkloadIdentityCredentialBuilder`] | options; `build()` alone, `build_for_chain()` in chains |
//! | [`WorkloadIdentityInfo`], [`Setting`], [`Source`] | what `describe()` found, for `credchain doctor` |
//! | [`VARIABLES`] and the `AZURE_*` constants | the variables it reads |
//!
//! # What it reads
//!
//! Through the [`ProviderContext`](credchain_core::ProviderContext) (so tests inject them):
//! `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE` (builder options
//! `tenant_id`, `client_id`, `token_file_path` win), `AZURE_AUTHORITY_HOST` (option
//! `authority`; default the public cloud), and the token file itself (at most
//! [`MAX_TOKEN_FILE_SIZE`], through the bounded reader; its contents are never logged).
//! Blank values count as unset.
//!
//! # When the token file is read
//!
//! Kubernetes rotates the projected token file (at 80% of a lifetime of at least an hour);
//! a CI job's token lives minutes. The file is read when a token is needed and:
//!
//! * the cached assertion is used only while it was read less than [`MAX_ASSERTION_AGE`]
//!   (5 min) ago **and** its `exp` claim (decoded without verifying) is more than
//!   [`EXPIRY_MARGIN`] (5 min) away;
//! * a file that is not a JWT is read every time it is needed;
//! * when Entra refuses the assertion as expired (`AADSTS700024`), the file is read once more
//!   and, if it changed, the request is retried once (if it did not change, no retry: the error
//!   says the file is not being rotated);
//! * callers that arrive while the file is being read share that read.
//!
//! The official Rust SDK read the file once from 0.20.0 (azure-sdk-for-rust#1739) and Python
//! re-reads only every 10 minutes, never on a refusal (azure-sdk-for-python#44488, open); both
//! fail in long-running pods with `AADSTS700024`. Access tokens are cached by credchain's token cache, not here.
//!
//! # Errors
//!
//! | Situation | Kind | Chain |
//! |---|---|---|
//! | tenant, client ID or token file not configured (blank counts as unset) | `Unavailable`, naming every missing variable (and any bad value among the others); `build()` returns it as an error | moves on |
//! | every piece set, but a value is unusable: invalid tenant, blank option, tenant or client ID not Unicode, bad `AZURE_AUTHORITY_HOST` or proxy variable | `AuthenticationFailed` (`InvalidInput` from `build()`) | stops |
//! | token file missing, unreadable, not a regular file, larger than 64 KiB, empty or not text | `AuthenticationFailed`, naming the path and the variable or option it came from | stops |
//! | `AADSTS70021` (no federated credential matches `iss`/`sub`), `AADSTS700212` (audience) | `AuthenticationFailed`, saying what to change | stops |
//! | other refusals (`AADSTS700016` unknown app, `AADSTS90002` unknown tenant, …) | `AuthenticationFailed` with the code and correlation ID | stops |
//! | `AADSTS700024` with an unchanged file, or again after the one retry | `AuthenticationFailed`, saying to check rotation and the clock | stops |
//! | bad scope, requested tenant or claims | `InvalidInput` (nothing read or sent) | stops |
//! | 429/5xx/connection errors after retries; timeout | `Transient`; `Timeout` | stops |
//!
//! # Differences from azure-identity
//!
//! * The re-read rule above and the retry on `AADSTS700024` (Python azure-identity 1.27.0
//!   `TokenFileMixin`: every 600 s, no retry; Rust azure_identity 1.1.0-beta.1: at
//!   construction, then every 600 s on a helper thread).
//! * The file is never read at construction (Rust 1.1.0-beta.1 fails to construct without
//!   it): a missing file is reported by `get_token`.
//! * No `additionally_allowed_tenants` option: tenant allow-lists are set on the chain,
//!   `DefaultCredential` or the `TenantPolicy` middleware.
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod assertion;
mod config;
mod credential;
mod exchange;
mod jwt;
mod refusal;

pub use assertion::{EXPIRY_MARGIN, MAX_ASSERTION_AGE, MAX_TOKEN_FILE_SIZE};
pub use config::{
    AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID, Setting, Source, VARIABLES,
    WorkloadIdentityInfo,
};
pub use credchain_entra::AZURE_AUTHORITY_HOST;
pub use credential::{NAME, WorkloadIdentityCredential, WorkloadIdentityCredentialBuilder};
