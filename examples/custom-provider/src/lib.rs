//! An example of a third-party credchain provider: [`TokenFileCredential`] reads an access
//! token that a sidecar (a token agent, a CI step, a vault agent) keeps fresh in a file.
//!
//! This crate is what a provider crate looks like from the outside: it depends only on
//! `credchain-core` (the provider API), implements [`TokenCredential`], and leaves caching,
//! tenant allow-lists and single-flight to the chain's middleware. Copy it as a starting point.
//!
//! # What it reads
//!
//! The file named by the `SIDECAR_TOKEN_FILE` environment variable (read through an injectable
//! [`Env`]), or the path given to the builder. Same on every OS. The file has one `key=value`
//! per line; blank lines and lines starting with `#` are ignored:
//!
//! ```text
//! # written by the sidecar
//! scope=https://management.azure.com/.default
//! tenant=contoso.onmicrosoft.com
//! expires_on=1767229200
//! token=eyJ0eXAiOiJKV1Qi...
//! ```
//!
//! `scope`, `expires_on` (Unix seconds) and `token` are required; `tenant` is optional.
//!
//! # Errors
//!
//! | Situation | Kind | A chain |
//! |---|---|---|
//! | `SIDECAR_TOKEN_FILE` unset or blank, file missing | `Unavailable` | moves on |
//! | the file holds a token for another scope or tenant; a claims challenge | `Unavailable` | moves on |
//! | file unreadable, not a regular file (a directory, device or FIFO), over 64 KiB, not UTF-8, malformed, missing a key | `AuthenticationFailed` (names the line, never the value) | stops |
//! | the token in the file has expired (the sidecar is late) | `Transient` | stops; retry later |
//! | no scope or more than one, an invalid scope or tenant, a claims value that is not `{…}` | `InvalidInput` | stops |
//!
//! # Example
//!
//! ```
//! use credchain_core::{Env, TokenCredential, TokenRequestOptions};
//! use credchain_example_provider::TokenFileCredential;
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), credchain_core::Error> {
//! let credential = TokenFileCredential::builder().env(Env::empty()).build();
//! let err = credential
//!     .get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new())
//!     .await
//!     .unwrap_err();
//! assert!(err.is_unavailable()); // `SIDECAR_TOKEN_FILE` is not set: a chain moves on
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use credchain_core::fs::{ReadErrorKind, read_bounded};
use credchain_core::tenant::same_tenant;
use credchain_core::{
    AccessToken, Clock, Env, Error, SystemClock, TokenCredential, TokenRequestOptions, validate,
};

/// The provider's name, used in errors, tracing and chain listings.
pub const NAME: &str = "TokenFileCredential";

/// The environment variable naming the token file.
pub const TOKEN_FILE_VAR: &str = "SIDECAR_TOKEN_FILE";

/// Files larger than this are refused (a token file is a few kilobytes).
pub const MAX_FILE_SIZE: u64 = 64 * 1024;

/// Reads an access token from a file kept fresh by a sidecar. See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct TokenFileCredential {
    path: Option<PathBuf>,
    tenant_id: Option<String>,
    clock: Arc<dyn Clock>,
}

/// Options for [`TokenFileCredential`].
#[derive(Debug, Clone)]
pub struct TokenFileCredentialBuilder {
    env: Env,
    path: Option<PathBuf>,
    tenant_id: Option<String>,
    clock: Arc<dyn Clock>,
}

impl TokenFileCredentialBuilder {
    /// Where `SIDECAR_TOKEN_FILE` is read from (default: the process environment).
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Reads this file instead of the one `SIDECAR_TOKEN_FILE` names.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The tenant the sidecar's tokens are for (the provider's home tenant).
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// The clock used to check expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the credential. Nothing is read until [`get_token`](TokenCredential::get_token),
    /// so an unused provider never breaks building a chain.
    pub fn build(self) -> TokenFileCredential {
        let path = self
            .path
            .or_else(|| {
                self.env
                    .var_os(TOKEN_FILE_VAR)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .filter(|p| !p.as_os_str().to_string_lossy().trim().is_empty());
        TokenFileCredential {
            path,
            tenant_id: self.tenant_id,
            clock: self.clock,
        }
    }
}

impl TokenFileCredential {
    /// Reads `SIDECAR_TOKEN_FILE` from the process environment.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Options: environment, path, tenant, clock.
    pub fn builder() -> TokenFileCredentialBuilder {
        TokenFileCredentialBuilder {
            env: Env::process(),
            path: None,
            tenant_id: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The file this credential reads, if one is configured.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's bytes, read with [`read_bounded`]: at most [`MAX_FILE_SIZE`], and never from a
    /// directory, device or FIFO (`/dev/zero` would never end, a FIFO would block forever). The
    /// buffer is wiped when dropped: it holds the token.
    fn read(&self, path: &Path) -> Result<impl std::ops::Deref<Target = Vec<u8>>, Error> {
        read_bounded(path, MAX_FILE_SIZE).map_err(|e| match e.kind() {
            ReadErrorKind::NotFound => Error::unavailable(
                NAME,
                format!(
                    "token file `{}` does not exist; start the token sidecar or unset `{TOKEN_FILE_VAR}`",
                    path.display()
                ),
            ),
            _ => Error::authentication_failed(
                NAME,
                format!("{e}; point `{TOKEN_FILE_VAR}` at the regular file your token sidecar writes"),
            ),
        })
    }
}

impl Default for TokenFileCredential {
    fn default() -> Self {
        Self::new()
    }
}

/// The parsed contents of a token file.
#[derive(Debug, PartialEq, Eq)]
struct TokenFile<'a> {
    scope: &'a str,
    tenant: Option<&'a str>,
    expires_on: u64,
    token: &'a str,
}

/// Parses the `key=value` format. Errors name the line and key, never a value.
fn parse(text: &str) -> Result<TokenFile<'_>, String> {
    let (mut scope, mut tenant, mut expires_on, mut token) = (None, None, None, None);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {} is not `key=value`", n + 1));
        };
        let (key, value) = (key.trim(), value.trim());
        let slot = match key {
            "scope" => &mut scope,
            "tenant" => &mut tenant,
            "expires_on" => &mut expires_on,
            "token" => &mut token,
            // The key is not shown: a mangled line may be part of a token.
            _ => {
                return Err(format!(
                    "line {} has an unknown key (expected `scope`, `tenant`, `expires_on` or `token`)",
                    n + 1
                ));
            }
        };
        if slot.replace(value).is_some() {
            return Err(format!("line {} repeats key `{key}`", n + 1));
        }
    }
    let missing = |key: &str| format!("key `{key}` is missing");
    let expires_on = expires_on.ok_or_else(|| missing("expires_on"))?;
    Ok(TokenFile {
        scope: scope.filter(|s| !s.is_empty()).ok_or_else(|| missing("scope"))?,
        tenant: tenant.filter(|t| !t.is_empty()),
        expires_on: expires_on
            .parse()
            .map_err(|_| "key `expires_on` is not a number of seconds since 1970".to_owned())?,
        token: token.filter(|t| !t.is_empty()).ok_or_else(|| missing("token"))?,
    })
}

#[credchain_core::async_trait]
impl TokenCredential for TokenFileCredential {
    fn name(&self) -> &str {
        NAME
    }

    fn home_tenant(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        // 1. Validate the caller's input before touching anything: the shared rules first, then
        //    what only this provider knows (one scope per file).
        validate::request(NAME, scopes, options)?;
        let [scope] = scopes else {
            return Err(Error::invalid_input(
                NAME,
                format!("exactly one scope is required, got {}", scopes.len()),
            ));
        };
        if options.claims().is_some() {
            return Err(Error::unavailable(
                NAME,
                "a token file cannot satisfy a claims challenge; sign in with another credential",
            ));
        }

        // 2. Not configured here: unavailable, so a chain moves on.
        let Some(path) = self.path.as_deref() else {
            return Err(Error::unavailable(
                NAME,
                format!("`{TOKEN_FILE_VAR}` is not set; set it to the file your token sidecar writes"),
            ));
        };

        // 3. Read and check. The middleware already resolved the tenant (None: ours).
        // A token file is a few kilobytes, so a blocking read is fine here; a provider that
        // does real I/O should use its runtime's async APIs.
        let bytes = self.read(path)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::authentication_failed(
                NAME,
                format!(
                    "token file `{}` is not UTF-8 text; check what the sidecar writes",
                    path.display()
                ),
            )
        })?;
        let file = parse(text).map_err(|reason| {
            Error::authentication_failed(
                NAME,
                format!("token file `{}` is malformed: {reason}", path.display()),
            )
        })?;
        if file.scope != *scope {
            return Err(Error::unavailable(
                NAME,
                format!("token file holds a token for `{}`, not `{scope}`", file.scope),
            ));
        }
        if let (Some(wanted), Some(have)) = (options.tenant_id(), file.tenant)
            && !same_tenant(wanted, have)
        {
            return Err(Error::unavailable(
                NAME,
                format!("token file holds a token for tenant `{have}`, not `{wanted}`"),
            ));
        }
        let expires_on = SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(file.expires_on))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        if self.clock.now() >= expires_on {
            return Err(Error::transient(
                NAME,
                format!(
                    "the token in `{}` has expired; check that the token sidecar is running",
                    path.display()
                ),
            ));
        }
        Ok(AccessToken::new(file.token, expires_on))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_file_with_comments() {
        let text = "# sidecar\n\nscope = https://x/.default\ntenant=t1\nexpires_on=100\ntoken=abc=def\n";
        assert_eq!(
            parse(text),
            Ok(TokenFile {
                scope: "https://x/.default",
                tenant: Some("t1"),
                expires_on: 100,
                token: "abc=def",
            })
        );
    }

    #[test]
    fn errors_name_the_line_or_key_never_the_value() {
        let table = [
            ("scope=s\nexpires_on=1\n", "key `token` is missing"),
            ("token=SECRET\nexpires_on=1\n", "key `scope` is missing"),
            ("token=SECRET\nscope=s\n", "key `expires_on` is missing"),
            ("token=SECRET\nscope=s\nexpires_on=soon\n", "not a number"),
            ("token=SECRET\nSECRET-LINE\n", "line 2 is not `key=value`"),
            ("token=SECRET\ntoken=SECRET\n", "line 2 repeats key `token`"),
            ("SECRET=SECRET\n", "line 1 has an unknown key"),
            ("token=\nscope=s\nexpires_on=1\n", "key `token` is missing"),
        ];
        for (text, expected) in table {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(!err.contains("SECRET"), "{err}");
        }
    }
}
