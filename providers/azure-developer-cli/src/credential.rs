//! [`AzureDeveloperCliCredential`]: the type, the `azd` command line it runs, and its
//! `TokenCredential` implementation.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use credchain_core::{AccessToken, Env, Error, TokenCredential, TokenRequestOptions, validate};
use credchain_process::{Invocation, default_working_dir, run};

use crate::builder::{AzureDeveloperCliCredentialBuilder, not_a_flag};
use crate::classify::{Limit, finished, not_found, run_error};
use crate::install::find_azd;

/// The provider name used in errors and tracing (azure-identity's name for the same credential).
pub const NAME: &str = "AzureDeveloperCliCredential";

/// How long `azd` may run by default before it is killed.
pub const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(10);

/// Gets access tokens from the Azure Developer CLI: `azd auth token`.
///
/// Every call runs `azd` once. See the [crate docs](crate) for what is run and the error table.
///
/// # Examples
///
/// ```no_run
/// use credchain_azure_developer_cli::AzureDeveloperCliCredential;
/// use credchain_core::{TokenCredential, TokenRequestOptions};
/// use std::time::Duration;
///
/// # async fn example() -> Result<(), credchain_core::Error> {
/// let credential = AzureDeveloperCliCredential::builder()
///     .process_timeout(Duration::from_secs(30))
///     .build()?;
/// let token = credential
///     .get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::new())
///     .await?;
/// println!("expires at {:?}", token.expires_on());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AzureDeveloperCliCredential {
    pub(crate) inner: Arc<Config>,
}

/// The checked options, shared by clones of a credential.
pub(crate) struct Config {
    pub(crate) tenant_id: Option<Box<str>>,
    pub(crate) process_timeout: Duration,
    /// `false` when `process_timeout` is the default: then a request's deadline replaces it.
    pub(crate) process_timeout_configured: bool,
    pub(crate) azd_path: Option<PathBuf>,
    pub(crate) env: Env,
    pub(crate) working_dir: Option<PathBuf>,
}

impl fmt::Debug for AzureDeveloperCliCredential {
    /// Shows the options; the environment only as its kind and size (`Env`'s `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("AzureDeveloperCliCredential")
            .field("tenant_id", &c.tenant_id)
            .field("process_timeout", &c.process_timeout)
            .field("azd_path", &c.azd_path)
            .field("env", &c.env)
            .field("working_dir", &c.working_dir)
            .finish()
    }
}

impl Default for AzureDeveloperCliCredential {
    fn default() -> Self {
        Self::new()
    }
}

impl AzureDeveloperCliCredential {
    /// A credential with the defaults: no tenant (azd's own choice), a 10 s
    /// [`process_timeout`](AzureDeveloperCliCredentialBuilder::process_timeout), `azd` from `PATH`
    /// or a usual install location, and the process environment.
    pub fn new() -> Self {
        AzureDeveloperCliCredential {
            inner: Arc::new(Config {
                tenant_id: None,
                process_timeout: DEFAULT_PROCESS_TIMEOUT,
                process_timeout_configured: false,
                azd_path: None,
                env: Env::Process,
                working_dir: None,
            }),
        }
    }

    /// Starts a builder with the same defaults as [`new`](Self::new).
    pub fn builder() -> AzureDeveloperCliCredentialBuilder {
        AzureDeveloperCliCredentialBuilder::default()
    }

    /// How long `azd` may run: the configured or default time limit. Without a configured one, a
    /// request's own deadline replaces it (see
    /// [`process_timeout`](AzureDeveloperCliCredentialBuilder::process_timeout)).
    pub fn process_timeout(&self) -> Duration {
        self.inner.process_timeout
    }

    /// The arguments (after the program) a request for `scopes` with `options` would run, for
    /// diagnostics such as `credchain doctor`. Nothing is validated or spawned.
    ///
    /// ```
    /// use credchain_azure_developer_cli::AzureDeveloperCliCredential;
    /// use credchain_core::TokenRequestOptions;
    /// # fn main() -> Result<(), credchain_core::Error> {
    /// let credential = AzureDeveloperCliCredential::builder().tenant_id("contoso.onmicrosoft.com").build()?;
    /// assert_eq!(
    ///     credential.command_args(&["https://vault.azure.net/.default"], &TokenRequestOptions::new()).join(" "),
    ///     "auth token --output json --no-prompt --scope https://vault.azure.net/.default \
    ///      --tenant-id contoso.onmicrosoft.com"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn command_args(&self, scopes: &[&str], options: &TokenRequestOptions) -> Vec<String> {
        let tenant = options.tenant_id().or(self.inner.tenant_id.as_deref());
        build_args(scopes, tenant, options.claims())
    }

    /// The `azd` executable a request would run (the configured `azd_path`, else `PATH`, else the
    /// usual install locations), for diagnostics such as `credchain doctor`. Nothing is spawned.
    ///
    /// # Errors
    ///
    /// The same [`Unavailable`](credchain_core::ErrorKind::Unavailable) error a request would
    /// return when `azd` cannot be found, saying where it looked.
    pub fn locate_azd(&self) -> Result<PathBuf, Error> {
        let cwd = safe_working_dir(&self.inner)?;
        find_azd(self.inner.azd_path.as_deref(), &self.inner.env, &cwd)
            .map(|found| found.path().to_owned())
            .map_err(not_found)
    }
}

/// `auth token --output json --no-prompt --scope S… [--tenant-id T] [--claims B64]`.
fn build_args(scopes: &[&str], tenant: Option<&str>, claims: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = ["auth", "token", "--output", "json", "--no-prompt"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for scope in scopes {
        args.extend(["--scope".to_owned(), (*scope).to_owned()]);
    }
    if let Some(t) = tenant {
        args.extend(["--tenant-id".to_owned(), t.to_owned()]);
    }
    if let Some(c) = claims {
        // azd decodes it with Go's `base64.StdEncoding` (padded).
        args.extend([
            "--claims".to_owned(),
            base64::engine::general_purpose::STANDARD.encode(c.as_bytes()),
        ]);
    }
    args
}

/// When `azd` must be stopped and whose limit that is: the shared rule,
/// [`credchain_process::run_deadline`].
fn run_deadline(config: &Config, started: Instant, requested: Option<Instant>) -> (Instant, Limit) {
    let (deadline, callers) = credchain_process::run_deadline(
        started,
        config.process_timeout,
        config.process_timeout_configured,
        requested,
    );
    let limit = if callers {
        Limit::CallerDeadline
    } else {
        Limit::ProcessTimeout(config.process_timeout)
    };
    (deadline, limit)
}

pub(crate) fn safe_working_dir(config: &Config) -> Result<PathBuf, Error> {
    if let Some(dir) = &config.working_dir {
        return Ok(dir.clone());
    }
    default_working_dir(&config.env).ok_or_else(|| {
        Error::unavailable(
            NAME,
            "`SYSTEMROOT` is not set, so there is no safe working directory to run `azd` from; \
             set `SYSTEMROOT` (normally `C:\\Windows`)",
        )
    })
}

#[async_trait::async_trait]
impl TokenCredential for AzureDeveloperCliCredential {
    fn name(&self) -> &str {
        NAME
    }

    fn home_tenant(&self) -> Option<&str> {
        self.inner.tenant_id.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        let config = &*self.inner;
        validate::request(NAME, scopes, options)?;
        for scope in scopes {
            not_a_flag("scope", scope)?;
        }
        let tenant = options.tenant_id().or(config.tenant_id.as_deref());
        if let Some(t) = tenant {
            not_a_flag("tenant", t)?;
        }

        let started = Instant::now();
        let (deadline, limit) = run_deadline(config, started, options.deadline());
        if limit == Limit::CallerDeadline && deadline <= started {
            return Err(Error::timeout(
                NAME,
                "the request's deadline had already passed, so `azd` was not started",
            ));
        }

        let cwd = safe_working_dir(config)?;
        let found = find_azd(config.azd_path.as_deref(), &config.env, &cwd).map_err(not_found)?;
        let args = build_args(scopes, tenant, options.claims());
        // Scopes, tenant and the encoded claims challenge: nothing secret.
        tracing::debug!(
            provider = NAME,
            azd = %found.path().display(),
            found_by = found.how(),
            args = ?args,
            cwd = %cwd.display(),
            "running Azure Developer CLI"
        );
        let result = run(Invocation {
            program: found.path(),
            args: &args,
            cwd: &cwd,
            env: &config.env,
            extra_env: &[],
            deadline,
        })
        .await;
        let elapsed = started.elapsed();
        match result {
            Ok(done) => {
                tracing::debug!(
                    provider = NAME,
                    status = %done.status,
                    elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                    stdout_bytes = done.stdout.len(),
                    stderr_bytes = done.stderr.len(),
                    "Azure Developer CLI finished"
                );
                finished(done.status, &done.stdout, &done.stderr)
            }
            Err(e) => {
                tracing::debug!(provider = NAME, error = ?e, "Azure Developer CLI did not finish");
                Err(run_error(e, &found, limit, elapsed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_for_every_option() {
        let base = "auth token --output json --no-prompt";
        type Case<'a> = (&'a [&'a str], Option<&'a str>, Option<&'a str>, &'a str);
        let table: [Case<'_>; 4] = [
            (&["a/.default"], None, None, "--scope a/.default"),
            (
                &["a/.default", "b/x"],
                None,
                None,
                "--scope a/.default --scope b/x",
            ),
            (
                &["a/.default"],
                Some("t1"),
                None,
                "--scope a/.default --tenant-id t1",
            ),
            (
                &["a/.default"],
                Some("t1"),
                Some("{\"access_token\":{}}"),
                "--scope a/.default --tenant-id t1 --claims eyJhY2Nlc3NfdG9rZW4iOnt9fQ==",
            ),
        ];
        for (scopes, tenant, claims, expected) in table {
            assert_eq!(
                build_args(scopes, tenant, claims).join(" "),
                format!("{base} {expected}")
            );
        }
    }

    #[test]
    fn a_request_deadline_replaces_only_the_default_process_timeout() {
        let now = Instant::now();
        let (later, sooner) = (now + Duration::from_secs(30), now + Duration::from_secs(3));
        let default = AzureDeveloperCliCredential::new();
        assert_eq!(
            run_deadline(&default.inner, now, Some(later)),
            (later, Limit::CallerDeadline)
        );
        assert_eq!(
            run_deadline(&default.inner, now, Some(sooner)),
            (sooner, Limit::CallerDeadline)
        );
        let ten = Limit::ProcessTimeout(DEFAULT_PROCESS_TIMEOUT);
        assert_eq!(
            run_deadline(&default.inner, now, None),
            (now + DEFAULT_PROCESS_TIMEOUT, ten)
        );
        // A configured limit caps every request, even one with a later deadline.
        let capped = AzureDeveloperCliCredential::builder()
            .process_timeout(Duration::from_secs(10))
            .build()
            .expect("valid");
        assert_eq!(
            run_deadline(&capped.inner, now, Some(later)),
            (now + DEFAULT_PROCESS_TIMEOUT, ten)
        );
        assert_eq!(
            run_deadline(&capped.inner, now, Some(sooner)),
            (sooner, Limit::CallerDeadline)
        );
    }

    #[test]
    fn the_request_tenant_wins_over_the_configured_one() {
        let c = AzureDeveloperCliCredential::builder()
            .tenant_id("home")
            .build()
            .expect("valid");
        let args = |o: &TokenRequestOptions| c.command_args(&["s"], o).join(" ");
        assert!(args(&TokenRequestOptions::new()).ends_with("--tenant-id home"));
        assert!(args(&TokenRequestOptions::new().with_tenant_id("other")).ends_with("--tenant-id other"));
    }
}
