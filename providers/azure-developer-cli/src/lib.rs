//! Azure access tokens from the Azure Developer CLI (`azd`), for
//! [credchain](https://example.invalid/credchain).
//!
//! [`AzureDeveloperCliCredential`] runs `azd auth token` for the account you signed in to with
//! `azd auth login` and turns its JSON into an [`AccessToken`](credchain_core::AccessToken).
//!
//! # Example
//!
//! ```no_run
//! use credchain_azure_developer_cli::AzureDeveloperCliCredential;
//! use credchain_core::{TokenCredential, TokenRequestOptions};
//!
//! # async fn example() -> Result<(), credchain_core::Error> {
//! let credential = AzureDeveloperCliCredential::new();
//! let token = credential
//!     .get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new())
//!     .await?;
//! assert!(!token.secret().is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! Every `get_token` runs `azd` once; credchain's token cache (which also makes concurrent callers
//! share one run) and tenant allow-lists are the chain's middleware, not this crate's.
//!
//! # What it runs
//!
//! ```text
//! <azd> auth token --output json --no-prompt --scope <scope> [--scope <scope> …] [--tenant-id <tenant>] [--claims <base64>]
//! ```
//!
//! * **Input** is checked before anything is spawned: `credchain_core::validate::request` (at
//!   least one scope, the scope and tenant character sets, the claims' shape), and no scope or
//!   tenant may start with `-` (azd would read it as an option).
//! * **Tenant**: the request's ([`TokenRequestOptions::tenant_id`](credchain_core::TokenRequestOptions::tenant_id)),
//!   else the configured [`tenant_id`](AzureDeveloperCliCredentialBuilder::tenant_id), else none
//!   (azd then uses its environment's or account's tenant).
//! * **Claims** (a Conditional Access challenge) are passed base64-encoded as `--claims`, which
//!   azd accepts from 1.18.1; an older azd is reported as unavailable, saying to upgrade.
//! * **How it runs** (shared with the Azure CLI provider through `credchain-process`): found via
//!   [`azd_path`](AzureDeveloperCliCredentialBuilder::azd_path), else `PATH`, else the usual
//!   install locations; executed directly (no shell) with stdin on nothing, from `/bin`
//!   (`%SYSTEMROOT%` on Windows), with `NO_COLOR=1`; stdout capped at 1 MiB, stderr at 64 KiB; the
//!   whole process group is killed when the future is dropped and at the time limit: the request's
//!   deadline when sooner than [`process_timeout`](AzureDeveloperCliCredentialBuilder::process_timeout)
//!   (10 s); a request's deadline also replaces the *default* 10 s when later, while a configured
//!   `process_timeout` caps every request.
//! * **Output**: stdout `{"token": "…", "expiresOn": "<RFC 3339>"}`; `expiresOn` is read as the
//!   instant it names (`Z` or an offset), never as local time.
//!
//! For diagnostics (`credchain doctor`): [`locate_azd`](AzureDeveloperCliCredential::locate_azd),
//! [`command_args`](AzureDeveloperCliCredential::command_args) and
//! [`azd_version`](AzureDeveloperCliCredential::azd_version) show what would run, without a token.
//!
//! # Errors
//!
//! | situation | kind | message says |
//! |---|---|---|
//! | no scope; bad characters in a scope or tenant; claims not a JSON object | `InvalidInput` | what is wrong; nothing was run |
//! | `azd` not on `PATH` or in the usual places; exit status 127; `'azd' is not recognized` | `Unavailable` | "Azure Developer CLI not found", where it looked, how to install |
//! | azd says "not logged in, run \`azd auth login\`" (no `AADSTS` code) | `Unavailable` | what azd said; run `azd auth login` |
//! | claims sent to an azd older than 1.18.1 (`unknown flag: --claims`) | `Unavailable` | upgrade azd to 1.18.1 or later |
//! | `process_timeout` passed | `Unavailable` | raise `process_timeout` |
//! | the request's deadline passed (it was the limit) | `Timeout` | the deadline passed; the process was stopped |
//! | `azd` could not be executed | `Unavailable` | the path |
//! | any other failure (an `AADSTS` error, network, …) | `AuthenticationFailed` | the exit status and azd's messages without JSON (message, error, suggestion, links), ≤ 800 chars, JWTs hidden |
//! | exit 0 but stdout is not a token | `AuthenticationFailed` | "unexpected output" and what was wrong, never the output |
//!
//! Inside a default chain, credchain treats this developer tool's failures as unavailable so the
//! chain moves on; that is the chain's job, not this crate's.
//!
//! # Runtime
//!
//! `get_token` must run inside a Tokio runtime with the IO and time drivers enabled.
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod builder;
mod classify;
mod credential;
mod install;
mod output;
mod stderr;
mod version;

pub use builder::AzureDeveloperCliCredentialBuilder;
pub use credential::{AzureDeveloperCliCredential, DEFAULT_PROCESS_TIMEOUT, NAME};
