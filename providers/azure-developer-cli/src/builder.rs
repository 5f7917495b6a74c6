//! [`AzureDeveloperCliCredentialBuilder`]: the options and their checks.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use credchain_core::{Env, Error, validate};

use crate::credential::{AzureDeveloperCliCredential, Config, DEFAULT_PROCESS_TIMEOUT, NAME};

/// Options for [`AzureDeveloperCliCredential`].
///
/// # Examples
///
/// ```
/// use credchain_azure_developer_cli::AzureDeveloperCliCredential;
/// use credchain_core::TokenCredential;
/// use std::time::Duration;
///
/// # fn main() -> Result<(), credchain_core::Error> {
/// let credential = AzureDeveloperCliCredential::builder()
///     .tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47")
///     .process_timeout(Duration::from_secs(20))
///     .build()?;
/// assert_eq!(credential.home_tenant(), Some("72f988bf-86f1-41af-91ab-2d7cd011db47"));
/// assert!(AzureDeveloperCliCredential::builder().tenant_id("not a tenant").build().is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct AzureDeveloperCliCredentialBuilder {
    tenant_id: Option<String>,
    process_timeout: Option<Duration>,
    azd_path: Option<PathBuf>,
    env: Option<Env>,
    working_dir: Option<PathBuf>,
}

impl fmt::Debug for AzureDeveloperCliCredentialBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureDeveloperCliCredentialBuilder")
            .field("tenant_id", &self.tenant_id)
            .field("process_timeout", &self.process_timeout)
            .field("azd_path", &self.azd_path)
            .field("env", &self.env)
            .field("working_dir", &self.working_dir)
            .finish()
    }
}

impl AzureDeveloperCliCredentialBuilder {
    /// The tenant to get tokens for when a request names none (passed as `--tenant-id`). It is
    /// also the credential's [home tenant](credchain_core::TokenCredential::home_tenant) for the
    /// tenant middleware. Default: none, so azd picks the tenant (its environment's subscription,
    /// `AZURE_SUBSCRIPTION_ID`'s, or the signed-in account's).
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// How long `azd` may run before it (and everything it started) is killed. Default 10 s.
    ///
    /// A request's deadline ([`TokenRequestOptions::with_deadline`](credchain_core::TokenRequestOptions::with_deadline))
    /// wins when it is sooner. Without this option the request's deadline also replaces the
    /// default when it is later (so `credchain doctor --timeout 30` gives azd 30 s); once set,
    /// this caps every request.
    pub fn process_timeout(mut self, timeout: Duration) -> Self {
        self.process_timeout = Some(timeout);
        self
    }

    /// Runs this executable instead of searching `PATH` and the usual locations; no fallback when
    /// it does not exist. A relative path is resolved against the current directory when
    /// [`build`](Self::build) runs.
    pub fn azd_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.azd_path = Some(path.into());
        self
    }

    /// Where to read `PATH`, `SYSTEMROOT`, `LOCALAPPDATA` and `ProgramFiles` from, and the
    /// environment `azd` runs with: [`Env::Process`] (the default) lets the child inherit the
    /// process environment; an [`Env::Map`] is the child's *entire* environment (plus
    /// `NO_COLOR=1`). Use a map to point azd at another `AZD_CONFIG_DIR`.
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// The working directory for `azd`. Default `/bin`, or `%SYSTEMROOT%` on Windows: a directory
    /// nobody can plant a program in. It also resolves relative `PATH` entries. Mostly for tests.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Checks the options and builds the credential.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](credchain_core::ErrorKind::InvalidInput) when the tenant has
    /// characters azd must not receive, or the timeout is zero.
    pub fn build(self) -> Result<AzureDeveloperCliCredential, Error> {
        let tenant_id = self
            .tenant_id
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if let Some(t) = &tenant_id {
            validate::tenant_id(t).map_err(|m| Error::invalid_input(NAME, format!("`tenant_id`: {m}")))?;
            not_a_flag("`tenant_id`", t)?;
        }
        let process_timeout_configured = self.process_timeout.is_some();
        let process_timeout = self.process_timeout.unwrap_or(DEFAULT_PROCESS_TIMEOUT);
        if process_timeout.is_zero() {
            return Err(Error::invalid_input(
                NAME,
                "`process_timeout` must be greater than zero",
            ));
        }
        Ok(AzureDeveloperCliCredential {
            inner: Arc::new(Config {
                tenant_id: tenant_id.map(String::into_boxed_str),
                process_timeout,
                process_timeout_configured,
                // azd runs in the safe working directory: pin a relative path to where it was given.
                azd_path: self.azd_path.map(|p| std::path::absolute(&p).unwrap_or(p)),
                env: self.env.unwrap_or_default(),
                working_dir: self.working_dir,
            }),
        })
    }
}

/// The shared character rules allow a leading `-`, but azd's flag parser would read such a value
/// as another option (`--scope --debug`), so it is refused.
pub(crate) fn not_a_flag(what: &str, value: &str) -> Result<(), Error> {
    if value.starts_with('-') {
        Err(Error::invalid_input(
            NAME,
            format!(
                "invalid {what} `{value}`: it must not start with `-`, or azd would read it as an option"
            ),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credchain_core::{ErrorKind, TokenCredential};

    #[test]
    fn builder_checks_its_options() {
        for bad in ["bad!tenant", "a b", "t;rm -rf /", "x\ny", "--debug"] {
            let e = AzureDeveloperCliCredential::builder()
                .tenant_id(bad)
                .build()
                .expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.message().contains("`tenant_id`"), "{}", e.message());
        }
        let e = AzureDeveloperCliCredential::builder()
            .process_timeout(Duration::ZERO)
            .build()
            .expect_err("zero");
        assert!(e.message().contains("`process_timeout`"));
        let blank = AzureDeveloperCliCredential::builder()
            .tenant_id("  ")
            .build()
            .expect("blank is unset");
        assert_eq!(blank.home_tenant(), None);
    }

    #[test]
    fn debug_hides_the_environment() {
        let env = Env::from_pairs([("AZURE_CLIENT_SECRET", "hunter2")]);
        let b = AzureDeveloperCliCredential::builder().env(env);
        let c = b.clone().build().expect("valid");
        for shown in [format!("{b:?}"), format!("{c:?}")] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("AZURE_CLIENT_SECRET"),
                "{shown}"
            );
            assert!(shown.contains("Env::Map(1 variable)"), "{shown}");
        }
    }
}
