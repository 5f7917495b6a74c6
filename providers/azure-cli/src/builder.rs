//! [`AzureCliCredentialBuilder`]: the options and their checks.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use credchain_core::{Env, Error, validate};

use crate::credential::{AzureCliCredential, Config, DEFAULT_PROCESS_TIMEOUT, NAME};

/// Options for [`AzureCliCredential`].
///
/// # Examples
///
/// ```
/// use credchain_azure_cli::AzureCliCredential;
/// use credchain_core::TokenCredential;
/// use std::time::Duration;
///
/// # fn main() -> Result<(), credchain_core::Error> {
/// let credential = AzureCliCredential::builder()
///     .tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47")
///     .process_timeout(Duration::from_secs(20))
///     .build()?;
/// assert_eq!(credential.home_tenant(), Some("72f988bf-86f1-41af-91ab-2d7cd011db47"));
///
/// let bad = AzureCliCredential::builder().tenant_id("not a tenant").build();
/// assert!(bad.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct AzureCliCredentialBuilder {
    tenant_id: Option<String>,
    subscription: Option<String>,
    process_timeout: Option<Duration>,
    az_path: Option<PathBuf>,
    env: Option<Env>,
    working_dir: Option<PathBuf>,
}

impl fmt::Debug for AzureCliCredentialBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureCliCredentialBuilder")
            .field("tenant_id", &self.tenant_id)
            .field("subscription", &self.subscription)
            .field("process_timeout", &self.process_timeout)
            .field("az_path", &self.az_path)
            .field("env", &self.env)
            .field("working_dir", &self.working_dir)
            .finish()
    }
}

impl AzureCliCredentialBuilder {
    /// The tenant to get tokens for when a request names none (passed as `--tenant`). It is
    /// also the credential's [home tenant](credchain_core::TokenCredential::home_tenant) for the tenant middleware.
    /// Default: none, so the CLI uses its current account's tenant.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// The subscription (name or ID) whose account is used (passed as `--subscription`).
    /// Default: none, the CLI's current subscription.
    ///
    /// The CLI refuses `--tenant` together with `--subscription`. So `--subscription` is passed
    /// when the request's tenant is unset or equal to the configured
    /// [`tenant_id`](Self::tenant_id), and `--tenant` alone when a request asks for a different
    /// tenant (a subscription belongs to one tenant, so it cannot apply there).
    pub fn subscription(mut self, subscription: impl Into<String>) -> Self {
        self.subscription = Some(subscription.into());
        self
    }

    /// How long `az` may run before it (and everything it started) is killed, at most.
    /// The CLI often needs several seconds to start on a cold or busy machine; raise this if
    /// requests fail with a message naming `process_timeout`. A shorter caller deadline
    /// ([`TokenRequestOptions::with_deadline`](credchain_core::TokenRequestOptions::with_deadline)) wins.
    ///
    /// When this is *not* set, `az` gets 10 s ([`DEFAULT_PROCESS_TIMEOUT`]) for a request without
    /// a deadline, and exactly the request's deadline when it has one, even a longer one (so
    /// `credchain doctor --timeout 30` gives `az` 30 s). Set it to cap every request.
    pub fn process_timeout(mut self, timeout: Duration) -> Self {
        self.process_timeout = Some(timeout);
        self
    }

    /// Runs this executable instead of searching `PATH` and the well-known locations. There is
    /// no fallback when it does not exist. A relative path is resolved against the process's
    /// current directory when [`build`](Self::build) runs (not against `az`'s working directory).
    pub fn az_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.az_path = Some(path.into());
        self
    }

    /// Where to read `PATH`, `HOME`, `SYSTEMROOT`, `ProgramFiles` and `TZ` from, and the
    /// environment `az` runs with: [`Env::Process`] (the default) lets the child inherit the
    /// process environment; an [`Env::Map`] is the child's *entire* environment (plus
    /// `AZURE_CORE_NO_COLOR=true`). Use a map to point `az` at another `AZURE_CONFIG_DIR`.
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// The working directory for `az`. Default `/bin`, or `%SYSTEMROOT%` on Windows: a
    /// directory an attacker cannot write to, so nothing planted next to the application is
    /// picked up. It also resolves relative `PATH` entries. Mostly useful for tests.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Checks the options and builds the credential.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when the tenant or
    /// subscription has characters the CLI must not receive, or the timeout is zero.
    pub fn build(self) -> Result<AzureCliCredential, Error> {
        let tenant_id = self
            .tenant_id
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if let Some(t) = &tenant_id {
            validate::tenant_id(t).map_err(|m| Error::invalid_input(NAME, format!("`tenant_id`: {m}")))?;
            not_a_flag("`tenant_id`", t)?;
        }
        let subscription = self
            .subscription
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if let Some(s) = &subscription {
            validate::subscription(s).map_err(|m| Error::invalid_input(NAME, m))?;
            not_a_flag("subscription", s)?;
        }
        let process_timeout = self.process_timeout.unwrap_or(DEFAULT_PROCESS_TIMEOUT);
        if process_timeout.is_zero() {
            return Err(Error::invalid_input(
                NAME,
                "`process_timeout` must be greater than zero",
            ));
        }
        Ok(AzureCliCredential {
            inner: Arc::new(Config {
                tenant_id: tenant_id.map(String::into_boxed_str),
                subscription: subscription.map(String::into_boxed_str),
                process_timeout,
                process_timeout_configured: self.process_timeout.is_some(),
                // `az` runs in the safe working directory, so a relative path would be checked
                // here but run from there: pin it to the directory it was given in.
                az_path: self.az_path.map(|p| std::path::absolute(&p).unwrap_or(p)),
                env: self.env.unwrap_or_default(),
                working_dir: self.working_dir,
            }),
        })
    }
}

/// The shared character rules allow a leading `-`, but the CLI's argument parser would read such
/// a value as another option (`--scope --debug`), so it is refused here.
pub(crate) fn not_a_flag(what: &str, value: &str) -> Result<(), Error> {
    if value.starts_with('-') {
        Err(Error::invalid_input(
            NAME,
            format!(
                "invalid {what} `{value}`: it must not start with `-`, or the Azure CLI would read it as an option"
            ),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credchain_core::TokenCredential;

    fn cred(b: AzureCliCredentialBuilder) -> AzureCliCredential {
        b.build().expect("valid options")
    }

    #[test]
    fn builder_validates_before_anything_runs() {
        for bad in ["bad!tenant", "a b", "t;rm -rf /", "x\ny", "--debug"] {
            let e = AzureCliCredential::builder()
                .tenant_id(bad)
                .build()
                .expect_err(bad);
            assert_eq!(e.kind(), credchain_core::ErrorKind::InvalidInput, "{bad}");
            assert!(e.message().contains("`tenant_id`"), "{}", e.message());
        }
        let e = AzureCliCredential::builder()
            .subscription("sub;ls")
            .build()
            .expect_err("bad sub");
        assert_eq!(e.kind(), credchain_core::ErrorKind::InvalidInput);
        let e = AzureCliCredential::builder()
            .process_timeout(Duration::ZERO)
            .build()
            .expect_err("zero");
        assert!(e.message().contains("`process_timeout`"));
        // Blank means unset.
        let c = cred(AzureCliCredential::builder().tenant_id("  ").subscription(""));
        assert_eq!(c.home_tenant(), None);
        assert_eq!(c.subscription(), None);
    }

    #[test]
    fn debug_hides_the_environment() {
        let c =
            cred(AzureCliCredential::builder().env(Env::from_pairs([("AZURE_CLIENT_SECRET", "hunter2")])));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("AZURE_CLIENT_SECRET"),
            "{shown}"
        );
        assert!(shown.contains("Env::Map(1 variable)"), "{shown}");
        let b = AzureCliCredential::builder().env(Env::from_pairs([("X", "hunter2")]));
        let shown = format!("{b:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("\"X\""), "{shown}");
        assert!(shown.contains("Env::Map(1 variable)"), "{shown}");
    }
}
