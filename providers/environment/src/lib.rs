//! `EnvironmentCredential`: a service principal or user described by `AZURE_*` environment
//! variables, redeemed at Microsoft Entra ID through [`credchain_entra`].
//!
//! | Item | What it is |
//! |---|---|
//! | [`EnvironmentCredential`] | the provider (name `EnvironmentCredential`) |
//! | [`EnvironmentCredentialBuilder`] | options: `env`, `authority`, `client`, `timeout` |
//! | [`VARIABLES`] and the `AZURE_*` constants | the variables it reads |
//!
//! # What it reads, in order (first complete configuration wins)
//!
//! | # | Variables | Grant |
//! |---|---|---|
//! | 1 | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` | client secret |
//! | 2 | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH` (+ `AZURE_CLIENT_CERTIFICATE_PASSWORD`, `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`) | client certificate (PEM with key, encrypted PKCS#8 PEM, or PKCS#12) |
//! | 3 | `AZURE_CLIENT_ID`, `AZURE_USERNAME`, `AZURE_PASSWORD` (+ `AZURE_TENANT_ID`, default `organizations`) | username/password (deprecated: no MFA) |
//!
//! Also `AZURE_AUTHORITY_HOST`, `SSL_CERT_FILE`/`SSL_CERT_DIR` and `HTTPS_PROXY`/`NO_PROXY`
//! through the token client. Everything is read through the injectable
//! [`Env`](credchain_core::Env); only the certificate file is read from disk. The same on
//! every OS.
//!
//! # Errors
//!
//! | Situation | Kind | Chain |
//! |---|---|---|
//! | nothing set, or only part of a configuration (e.g. just `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`, as for workload or managed identity); blank values count as unset | `Unavailable`, naming what to set and which variables are set but empty | moves on |
//! | a variable this credential reads is set to bytes that are not valid Unicode, whatever else is set | `InvalidInput`, naming the variable, never its value | stops |
//! | complete configuration that cannot work (nothing is sent): invalid `AZURE_TENANT_ID`, `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` not a boolean, certificate file missing/unreadable/not a regular file/over 1 MiB, wrong certificate password, key not matching the certificate, no key, a file asking for too costly a key derivation, bad `AZURE_AUTHORITY_HOST`, `SSL_CERT_*` or proxy variable | `InvalidInput`, naming the variable or file, never a secret | stops |
//! | bad scope, claims or requested tenant | `InvalidInput` | stops |
//! | Entra refused (wrong secret `AADSTS7000215`, unknown tenant `AADSTS90002`, …) | `AuthenticationFailed` with the code and correlation ID | stops |
//! | 429/5xx/connection errors after retries; timeout | `Transient`; `Timeout` | stops |
//!
//! # Differences from azure-identity 1.27 (`EnvironmentCredential`)
//!
//! * Blank or whitespace-only values count as **unset** (Python treats `""` as set and then
//!   fails to construct, which also breaks `DefaultAzureCredential()`); the message says which
//!   variable is set but empty.
//! * A value that is not valid Unicode is a configuration error (`InvalidInput`), never "unset",
//!   so a chain never skips a configuration the user did set.
//! * `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` is parsed: `1`/`true`/`yes` and `0`/`false`/`no`
//!   (case-insensitive); anything else is a configuration error. In Python any non-empty value,
//!   even `false`, turns it on.
//! * Configuration errors are reported by `get_token` as `InvalidInput`, not raised by
//!   construction (Python: `ValueError`, `FileNotFoundError`), so an unused credential never
//!   breaks building a chain.
//! * Values are trimmed, except `AZURE_PASSWORD` and `AZURE_CLIENT_CERTIFICATE_PASSWORD`.
//! * An `AZURE_AUTHORITY_HOST` such as `login.example.com:8443` (no scheme) means
//!   `https://login.example.com:8443`; Python's `urlparse` reads the host as a scheme and refuses it.
//! * A PEM file's first private key is used; a certificate file asking for more than 1,000,000
//!   PBKDF2 iterations in one derivation (4,000,000 in all) is refused before deriving.
//! * No token cache and no tenant allow-list here: credchain's middleware does both.
//!   [`home_tenant`](credchain_core::TokenCredential::home_tenant) is `AZURE_TENANT_ID` (or
//!   `organizations` for username/password without one).
//! * `AZURE_REGIONAL_AUTHORITY_NAME` is not supported.
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod config;
mod credential;

pub use config::{
    AZURE_CLIENT_CERTIFICATE_PASSWORD, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
    AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, AZURE_PASSWORD, AZURE_TENANT_ID, AZURE_USERNAME,
    DEFAULT_USER_TENANT, VARIABLES,
};
pub use credential::{EnvironmentCredential, EnvironmentCredentialBuilder, NAME};
