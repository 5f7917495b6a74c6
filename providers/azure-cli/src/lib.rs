//! Azure access tokens from the Azure CLI, for [credchain](https://example.invalid/credchain).
//!
//! [`AzureCliCredential`] runs `az account get-access-token` for the account you signed in to with
//! `az login`, and turns its JSON into an [`AccessToken`](credchain_core::AccessToken). It is the
//! provider credchain's developer chain uses on a workstation.
//!
//! # Example
//!
//! ```no_run
//! use credchain_azure_cli::AzureCliCredential;
//! use credchain_core::{TokenCredential, TokenRequestOptions};
//!
//! # async fn example() -> Result<(), credchain_core::Error> {
//! let credential = AzureCliCredential::new();
//! let token = credential
//!     .get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new())
//!     .await?;
//! assert!(!token.secret().is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! Every `get_token` runs `az` once (about half a second for the real CLI). Wrap the credential in
//! credchain's token cache, which also makes concurrent callers share one run.
//!
//! # What it runs
//!
//! ```text
//! <az> account get-access-token --output json --scope <scope> [--tenant <tenant> | --subscription <subscription>]
//! ```
//!
//! * **Which `az`**: [`az_path`](AzureCliCredentialBuilder::az_path) if set; else `PATH` (`az.cmd`
//!   before `az` on Windows); else the usual install locations (`/opt/homebrew/bin`,
//!   `/usr/local/bin`, `~/.local/bin`, `/home/linuxbrew/.linuxbrew/bin`, `/usr/bin`; on Windows
//!   `%ProgramFiles%\Microsoft SDKs\Azure\CLI2\wbin` and the `(x86)` one), because apps started from
//!   an IDE or the desktop often have a thin `PATH`. `PATH`, `HOME` and `ProgramFiles` are read
//!   through the injected [`Env`](credchain_core::Env). On Unix an `az` from an install location
//!   is refused (unavailable, naming the path and the fix) unless it and its directory are owned by
//!   root or the current user and not writable by others.
//! * **How**: by the shared developer-CLI runner [`credchain_process`]: executed directly, never
//!   through a shell, with stdin connected to nothing, from a directory nobody can plant an `az` in
//!   (`/bin`; `%SYSTEMROOT%` on Windows), with `NO_COLOR=1` and `AZURE_CORE_NO_COLOR=true`.
//! * **Environment of the child**: with [`Env::Process`](credchain_core::Env::Process) (the
//!   default) `az` inherits the process environment. With an [`Env::Map`](credchain_core::Env::Map)
//!   the map is the child's *whole* environment, so what the credential reads is exactly what `az`
//!   sees (for example `AZURE_CONFIG_DIR`, `REQUESTS_CA_BUNDLE`, `PATH`, `TZ`).
//! * **`--scope`, not `--resource`**: azure-identity passes `--resource` with `/.default` cut off,
//!   which only works for `/.default` scopes (`api://x/user_impersonation` would silently become
//!   `api://x/user_impersonation/.default`). `--scope` hands the scope to the CLI unchanged and is
//!   supported by every CLI recent enough to print `expires_on` (2.54.0+).
//! * **Tenant**: the request's tenant ([`TokenRequestOptions::tenant_id`](credchain_core::TokenRequestOptions::tenant_id),
//!   already resolved by credchain's tenant middleware), else the configured
//!   [`tenant_id`](AzureCliCredentialBuilder::tenant_id). **Subscription**: the configured
//!   [`subscription`](AzureCliCredentialBuilder::subscription). The CLI refuses both flags at once,
//!   so `--tenant` is only passed instead of `--subscription` when a request asks for a tenant other
//!   than the configured one.
//! * **One scope per request**, checked along with the scope, tenant and subscription characters
//!   before anything is spawned.
//! * **Time limit**: a configured [`process_timeout`](AzureCliCredentialBuilder::process_timeout),
//!   or the request's deadline when that is sooner; without a configured one, the request's
//!   deadline, else 10 s. On Unix `az` runs in its own process group; when the limit passes, or the
//!   `get_token` future is dropped, the whole group is killed and the child is reaped. On Linux `az`
//!   is also killed, and its group hung up, when this process dies (even by `SIGKILL`; see
//!   `credchain_process::host_death` for what is and is not covered). A descendant that keeps stdout open after `az` exits does not make the call hang: it
//!   gets 100 ms, then its group is killed. (Background work that let go of the pipes, such as the
//!   CLI's telemetry uploader, is left alone.)
//! * **Output**: stdout is capped at 1 MiB (more is an error, and `az` is stopped); stderr keeps
//!   64 KiB and the rest is read and dropped.
//! * **Parsing**: `expires_on` (epoch seconds) is preferred; `expiresOn` (local time) is the
//!   fallback, read in the zone `TZ` (from the injected `Env`) or `/etc/localtime` names, resolved
//!   only then and with bounded reads (`TZ=/dev/zero` or a FIFO means UTC, never a hang);
//!   `tokenType` is kept; other fields and stderr warnings on success are ignored.
//!
//! The credential does not cache tokens and does not apply tenant allow-lists: credchain's
//! middleware does that for every provider.
//!
//! # Errors
//!
//! | situation | kind | message says |
//! |---|---|---|
//! | not exactly one scope; bad characters in scope, tenant or subscription; claims not `{…}` | `InvalidInput` | what is wrong; nothing was run |
//! | `az` not on `PATH` or in the usual places; exit status 127; `'az' is not recognized` | `Unavailable` | "Azure CLI not found on path", where it looked, how to install |
//! | configured [`az_path`](AzureCliCredentialBuilder::az_path) missing | `Unavailable` | the path |
//! | `az` in an install location that others could write | `Unavailable` | the path, what is wrong, `chmod go-w …` |
//! | stderr mentions `az login` / `az account set` without an `AADSTS` code | `Unavailable` | what az said; run `az login` |
//! | the request carries a claims challenge | `Unavailable` | the exact `az login --claims-challenge … [--tenant …] --scope …` command |
//! | `process_timeout` passed | `Unavailable` | raise `process_timeout` |
//! | the request's deadline passed | `Timeout` | the deadline passed; the process was stopped |
//! | `az` could not be executed | `Unavailable` | the path |
//! | any other failure (e.g. `AADSTS7000215`, unknown tenant, network) | `AuthenticationFailed` | the exit status and az's `ERROR:` lines with `AADSTS` codes, no traceback, sanitized, ≤ 800 chars |
//! | exit 0 but output is not a token (`null`, `[]`, not JSON, not UTF-8, > 1 MiB, no expiry) | `AuthenticationFailed` | "unexpected output from Azure CLI" and what was wrong, never the token |
//!
//! Inside a default chain, credchain reports this developer tool's failures as unavailable so the
//! chain moves on; that is the chain's job, not this crate's.
//!
//! # Runtime
//!
//! `get_token` must run inside a Tokio runtime with the IO and time drivers enabled
//! (`#[tokio::main]` does this).
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod builder;
mod classify;
mod credential;
mod install;
mod parse;
mod timezone;
mod version;

pub use builder::AzureCliCredentialBuilder;
pub use credential::{AzureCliCredential, DEFAULT_PROCESS_TIMEOUT, NAME};
