//! credchain's `VisualStudioCodeCredential`: the Azure user signed in to Visual Studio Code.
//!
//! [`VsCodeCredential`] redeems the refresh token that VS Code's *Azure Account* extension
//! saved in the OS secret store, at the Microsoft Entra authority of the cloud chosen in VS
//! Code's settings. When there is no such token it looks for the *Azure Resources* extension's
//! sign-in record, to tell the user who is signed in and what to do instead.
//!
//! | Item | What it is |
//! |---|---|
//! | [`VsCodeCredential`], [`VsCodeCredentialBuilder`] | the provider and its options |
//! | [`VsCodeSetup`], [`SettingSource`] | a diagnostics snapshot (`credchain doctor`) |
//! | [`SecretStore`], [`OsSecretStore`], [`SecretStoreError`] | the secret-store seam and the platform's store |
//! | `MemorySecretStore` (feature `test-util`) | an in-memory store with scripted failures and delays |
//!
//! # What it reads, in order
//!
//! 1. **VS Code's user settings** (`settings.json`, JSON with comments and trailing commas; a
//!    byte-order mark is fine), read once when the credential is built:
//!    * Linux and other Unix: `$XDG_CONFIG_HOME/Code/User/settings.json`, else
//!      `~/.config/Code/User/settings.json`;
//!    * macOS: `~/Library/Application Support/Code/User/settings.json`;
//!    * Windows: `%APPDATA%\Code\User\settings.json`.
//!
//!    Keys: `azure.cloud` (default `AzureCloud`; also `AzureChinaCloud`, `AzureUSGovernment`)
//!    and `azure.tenant` (default `organizations`). No file means the defaults.
//! 2. **The authority**: the `authority` option, then `AZURE_AUTHORITY_HOST`, then the
//!    cloud's authority (`login.microsoftonline.com`, `login.chinacloudapi.cn`,
//!    `login.microsoftonline.us`). A custom cloud needs one of the first two.
//! 3. **The tenant**: the request's tenant (already resolved by credchain's tenant middleware),
//!    then the `tenant_id` option, then `azure.tenant`, then `organizations`.
//! 4. **The refresh token**, on the first request (later ones use the rotated token Microsoft
//!    Entra returns, kept in memory): the OS secret store's item with service `VS Code Azure`
//!    and account = the cloud name — a Secret Service item with attributes `service` and
//!    `account` on Linux, a Keychain generic password on macOS, the Credential Manager
//!    credential `VS Code Azure/<cloud>` on Windows. The lookup runs on an OS thread of its own
//!    (never a runtime worker) under a timeout ([`DEFAULT_SECRET_STORE_TIMEOUT`], and never past
//!    the request's deadline); at most one lookup per credential is outstanding, so requests
//!    that arrive while one is still running (even one that already timed out for its caller,
//!    such as a lookup stuck on a hung D-Bus peer) wait for it instead of starting another. It
//!    is redeemed with the refresh-token grant at
//!    `{authority}/{tenant}/oauth2/v2.0/token`, client ID [`VSCODE_CLIENT_ID`]. Nothing is
//!    ever written to the secret store.
//! 5. **When there is no refresh token**: the Azure Resources extension's sign-in record
//!    `~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json` (then `~/.Azure/…`),
//!    validated (at most 10 KiB; `tenantId`, `clientId` = VS Code's, `username`,
//!    `homeAccountId`, `authority`). A valid record cannot give a token without the OS broker,
//!    so the error names the signed-in account and suggests `az login`.
//!
//! `HOME`, `USERPROFILE`, `APPDATA`, `XDG_CONFIG_HOME` and `AZURE_AUTHORITY_HOST` come from
//! the injected [`Env`](credchain_core::Env). The exception is the Linux Secret Service
//! connection, which reads `DBUS_SESSION_BUS_ADDRESS` (else `$XDG_RUNTIME_DIR/bus`) from the
//! process environment.
//!
//! # Runtime
//!
//! `get_token` must run inside a Tokio runtime (multi-thread or current-thread), as
//! credchain-entra's HTTP client also needs. The secret-store lookup never blocks that runtime.
//! On Linux the Secret Service client is `secret-service` on Tokio: each lookup drives it on a
//! current-thread runtime of its own, on the lookup thread, which ends with the lookup.
//!
//! # Errors
//!
//! | Situation | Kind |
//! |---|---|
//! | no scope, or an invalid scope or tenant in the request | `InvalidInput` (nothing read or sent) |
//! | invalid `tenant_id` or `authority` option; zero `secret_store_timeout` | `InvalidInput` from `build()` |
//! | `AZURE_AUTHORITY_HOST` is not a valid https URL | `InvalidInput` |
//! | `settings.json` unreadable, too big (> 16 MiB), not JSON, wrong value types, invalid `azure.tenant` | `Unavailable` naming the file and key |
//! | custom cloud without an authority | `Unavailable` |
//! | tenant `adfs` | `Unavailable` |
//! | no Secret Service / D-Bus session, keyring locked, lookup timed out (or an earlier one is still running) | `Unavailable` naming the store |
//! | no refresh-token item, or one whose secret is empty (with or without a sign-in record) | `Unavailable` naming the item, what was wrong with it, and the record |
//! | called outside a Tokio runtime (its timer is needed to wait for the store) | `Unavailable` |
//! | Microsoft Entra refuses the refresh token (`invalid_grant`, …) | `AuthenticationFailed` with the `AADSTS` code |
//! | Entra unreachable or 5xx after retries | `Transient` |
//! | the request's deadline passed | `Timeout` |
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod auth_record;
mod builder;
mod credential;
mod lookup;
mod messages;
mod refresh_token;
mod settings;
mod setup;
mod store;

pub use auth_record::VSCODE_CLIENT_ID;
pub use builder::VsCodeCredentialBuilder;
pub use credential::{CREDENTIAL_NAME, DEFAULT_SECRET_STORE_TIMEOUT, KEYRING_SERVICE, VsCodeCredential};
pub use setup::{SettingSource, VsCodeSetup};
#[cfg(any(test, feature = "test-util"))]
pub use store::MemorySecretStore;
pub use store::{OsSecretStore, SecretStore, SecretStoreError, SecretStoreErrorKind};
