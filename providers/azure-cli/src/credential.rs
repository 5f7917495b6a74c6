//! [`AzureCliCredential`]: the type, the `az` command line it runs, and its `TokenCredential`
//! implementation.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credchain_core::tenant::same_tenant;
use credchain_core::{AccessToken, Env, Error, TokenCredential, TokenRequestOptions, validate};

use crate::builder::{AzureCliCredentialBuilder, not_a_flag};
use crate::classify::{claims_challenge, failed_run, not_found_error, run_error, unexpected_output};
use crate::install::find_az;
use crate::parse::parse_token;
use crate::timezone::local_time_zone;
use credchain_process::{Finished, Invocation, default_working_dir, run};

/// The provider name used in errors and tracing.
pub const NAME: &str = "AzureCliCredential";

/// How long `az` may run by default before it is killed.
pub const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(10);

/// Gets access tokens from the Azure CLI: `az account get-access-token`.
///
/// Every call runs `az` once; caching and single-flight come from credchain's middleware. See the
/// [crate docs](crate) for what is run, which environment the child sees, and the error table.
///
/// # Examples
///
/// ```no_run
/// use credchain_azure_cli::AzureCliCredential;
/// use credchain_core::{TokenCredential, TokenRequestOptions};
/// use std::time::Duration;
///
/// # async fn example() -> Result<(), credchain_core::Error> {
/// let credential = AzureCliCredential::builder()
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
pub struct AzureCliCredential {
    pub(crate) inner: Arc<Config>,
}

/// The checked options, shared by clones of a credential.
pub(crate) struct Config {
    pub(crate) tenant_id: Option<Box<str>>,
    pub(crate) subscription: Option<Box<str>>,
    pub(crate) process_timeout: Duration,
    /// `false` when `process_timeout` is the default: then a request's deadline replaces it.
    pub(crate) process_timeout_configured: bool,
    pub(crate) az_path: Option<PathBuf>,
    pub(crate) env: Env,
    pub(crate) working_dir: Option<PathBuf>,
}

impl fmt::Debug for AzureCliCredential {
    /// Shows the options; the environment only as its kind and size (`Env`'s `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("AzureCliCredential")
            .field("tenant_id", &c.tenant_id)
            .field("subscription", &c.subscription)
            .field("process_timeout", &c.process_timeout)
            .field("az_path", &c.az_path)
            .field("env", &c.env)
            .field("working_dir", &c.working_dir)
            .finish()
    }
}

impl Default for AzureCliCredential {
    fn default() -> Self {
        Self::new()
    }
}

impl AzureCliCredential {
    /// A credential with the defaults: no tenant (the CLI's current account), no subscription, a
    /// 10 s [`process_timeout`](AzureCliCredentialBuilder::process_timeout), `az` from `PATH` or a
    /// well-known location, and the process environment.
    pub fn new() -> Self {
        AzureCliCredential {
            inner: Arc::new(Config {
                tenant_id: None,
                subscription: None,
                process_timeout: DEFAULT_PROCESS_TIMEOUT,
                process_timeout_configured: false,
                az_path: None,
                env: Env::Process,
                working_dir: None,
            }),
        }
    }

    /// Starts a builder with the same defaults as [`new`](Self::new).
    pub fn builder() -> AzureCliCredentialBuilder {
        AzureCliCredentialBuilder::default()
    }

    /// The configured subscription, if any.
    pub fn subscription(&self) -> Option<&str> {
        self.inner.subscription.as_deref()
    }

    /// How long `az` may run: the configured or default time limit. Without a configured one,
    /// a request's own deadline replaces it (see
    /// [`process_timeout`](AzureCliCredentialBuilder::process_timeout)).
    pub fn process_timeout(&self) -> Duration {
        self.inner.process_timeout
    }

    /// The arguments (after the program) that a request for `scope` in `tenant` would run, for
    /// diagnostics such as `doctor` output. Nothing is validated or spawned.
    ///
    /// ```
    /// use credchain_azure_cli::AzureCliCredential;
    /// # fn main() -> Result<(), credchain_core::Error> {
    /// let credential = AzureCliCredential::builder().tenant_id("contoso.onmicrosoft.com").build()?;
    /// assert_eq!(
    ///     credential.command_args("https://vault.azure.net/.default", None).join(" "),
    ///     "account get-access-token --output json --scope https://vault.azure.net/.default \
    ///      --tenant contoso.onmicrosoft.com"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn command_args(&self, scope: &str, tenant: Option<&str>) -> Vec<String> {
        build_args(scope, tenant.or(self.inner.tenant_id.as_deref()), &self.inner)
    }

    /// The `az` executable a request would run (the configured `az_path`, else `PATH`, else the
    /// usual install locations), for diagnostics such as `credchain doctor`. Nothing is spawned.
    ///
    /// # Errors
    ///
    /// The same [`Unavailable`](credchain_core::ErrorKind::Unavailable) error a request would
    /// return when `az` cannot be found, saying where it looked.
    pub fn locate_az(&self) -> Result<PathBuf, Error> {
        let cwd = safe_working_dir(&self.inner)?;
        find_az(self.inner.az_path.as_deref(), &self.inner.env, &cwd)
            .map(|found| found.path().to_owned())
            .map_err(not_found_error)
    }
}

fn build_args(scope: &str, tenant: Option<&str>, config: &Config) -> Vec<String> {
    let mut args: Vec<String> = [
        "account",
        "get-access-token",
        "--output",
        "json",
        "--scope",
        scope,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let home = config.tenant_id.as_deref();
    match (tenant, config.subscription.as_deref()) {
        (Some(t), Some(_)) if home.is_none_or(|h| !same_tenant(h, t)) => {
            args.extend(["--tenant".to_owned(), t.to_owned()]);
        }
        (_, Some(s)) => args.extend(["--subscription".to_owned(), s.to_owned()]),
        (Some(t), None) => args.extend(["--tenant".to_owned(), t.to_owned()]),
        (None, None) => {}
    }
    args
}

/// When `az` must be stopped, and whether that is the caller's deadline (`true`): the shared
/// rule, [`credchain_process::run_deadline`].
fn run_deadline(config: &Config, started: Instant, requested: Option<Instant>) -> (Instant, bool) {
    credchain_process::run_deadline(
        started,
        config.process_timeout,
        config.process_timeout_configured,
        requested,
    )
}

pub(crate) fn safe_working_dir(config: &Config) -> Result<PathBuf, Error> {
    if let Some(dir) = &config.working_dir {
        return Ok(dir.clone());
    }
    default_working_dir(&config.env).ok_or_else(|| {
        Error::unavailable(
            NAME,
            "`SYSTEMROOT` is not set, so there is no safe working directory to run `az` from; \
             set `SYSTEMROOT` (normally `C:\\Windows`)",
        )
    })
}

#[async_trait::async_trait]
impl TokenCredential for AzureCliCredential {
    fn name(&self) -> &str {
        NAME
    }

    fn home_tenant(&self) -> Option<&str> {
        self.inner.tenant_id.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        let config = &*self.inner;
        validate::request(NAME, scopes, options)?;
        let [scope] = scopes else {
            return Err(Error::invalid_input(
                NAME,
                format!(
                    "the Azure CLI gets a token for exactly one scope per request, but {} were given; \
                     request each scope separately",
                    scopes.len()
                ),
            ));
        };
        not_a_flag("scope", scope)?;
        let tenant = match options.tenant_id() {
            Some(t) => {
                not_a_flag("tenant", t)?;
                Some(t)
            }
            None => config.tenant_id.as_deref(),
        };
        if let Some(claims) = options.claims() {
            return Err(claims_challenge(claims, tenant, scope));
        }

        let started = Instant::now();
        let (deadline, caller_wins) = run_deadline(config, started, options.deadline());
        if caller_wins && deadline <= started {
            return Err(Error::timeout(
                NAME,
                "the request's deadline had already passed, so `az` was not started",
            ));
        }

        let cwd = safe_working_dir(config)?;
        let found = find_az(config.az_path.as_deref(), &config.env, &cwd).map_err(not_found_error)?;
        let args = build_args(scope, tenant, config);
        // The arguments hold only validated scope, tenant and subscription values: nothing secret.
        tracing::debug!(
            provider = NAME,
            az = %found.path().display(),
            found_by = found.how(),
            args = ?args,
            cwd = %cwd.display(),
            "running Azure CLI"
        );

        let result = run(Invocation {
            program: found.path(),
            args: &args,
            cwd: &cwd,
            env: &config.env,
            extra_env: &[("AZURE_CORE_NO_COLOR", "true")],
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
                    stderr_truncated = done.stderr_truncated,
                    "Azure CLI finished"
                );
                finished(done, &config.env)
            }
            Err(e) => {
                tracing::debug!(
                    provider = NAME,
                    error = ?e,
                    elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                    "Azure CLI did not finish"
                );
                Err(run_error(e, &found, caller_wins, config.process_timeout, elapsed))
            }
        }
    }
}

fn finished(done: Finished, env: &Env) -> Result<AccessToken, Error> {
    if done.status.success() {
        return match parse_token(&done.stdout, || local_time_zone(env)) {
            Ok(token) => {
                let access = AccessToken::new(token.access_token, token.expires_on);
                Ok(match token.token_type {
                    Some(t) => access.with_token_type(t),
                    None => access,
                })
            }
            Err(why) => Err(unexpected_output(&why)),
        };
    }
    Err(failed_run(&done))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(b: AzureCliCredentialBuilder) -> AzureCliCredential {
        b.build().expect("valid options")
    }

    fn args(c: &AzureCliCredential, scope: &str, tenant: Option<&str>) -> String {
        build_args(scope, tenant.or(c.inner.tenant_id.as_deref()), &c.inner).join(" ")
    }

    #[cfg(unix)]
    #[test]
    fn locate_az_reports_the_path_or_where_it_looked() {
        let configured = cred(AzureCliCredential::builder().az_path("/bin/sh"));
        assert_eq!(configured.locate_az().ok(), Some(PathBuf::from("/bin/sh")));
        let missing = cred(AzureCliCredential::builder().az_path("/nonexistent/az"));
        let err = missing.locate_az().expect_err("no such file");
        assert!(err.is_unavailable(), "{err}");
        assert!(err.message().contains("`/nonexistent/az`"), "{err}");
    }

    #[test]
    fn a_request_deadline_replaces_only_the_default_process_timeout() {
        let now = Instant::now();
        let later = now + Duration::from_secs(30);
        let sooner = now + Duration::from_secs(3);
        let default = AzureCliCredential::new();
        // `doctor --timeout 30`: the default 10 s must not cut the 30 s short (issue 14.12).
        assert_eq!(run_deadline(&default.inner, now, Some(later)), (later, true));
        assert_eq!(run_deadline(&default.inner, now, Some(sooner)), (sooner, true));
        assert_eq!(
            run_deadline(&default.inner, now, None),
            (now + DEFAULT_PROCESS_TIMEOUT, false)
        );
        // A configured limit caps every request, even one with a later deadline.
        let capped = cred(AzureCliCredential::builder().process_timeout(Duration::from_secs(10)));
        assert_eq!(
            run_deadline(&capped.inner, now, Some(later)),
            (now + Duration::from_secs(10), false)
        );
        assert_eq!(run_deadline(&capped.inner, now, Some(sooner)), (sooner, true));
    }

    #[test]
    fn argv_table() {
        let base = "account get-access-token --output json --scope";
        let plain = AzureCliCredential::new();
        let t1 = cred(AzureCliCredential::builder().tenant_id("t1"));
        let sub = cred(AzureCliCredential::builder().subscription("my sub"));
        let t1_sub = cred(AzureCliCredential::builder().tenant_id("t1").subscription("0000"));
        let table = [
            (
                &plain,
                "https://management.azure.com/.default",
                None,
                "https://management.azure.com/.default",
            ),
            (
                &plain,
                "https://management.azure.com/.default",
                Some("t2"),
                "https://management.azure.com/.default --tenant t2",
            ),
            (
                &t1,
                "https://vault.azure.net/.default",
                None,
                "https://vault.azure.net/.default --tenant t1",
            ),
            (
                &t1,
                "https://vault.azure.net/.default",
                Some("t2"),
                "https://vault.azure.net/.default --tenant t2",
            ),
            (
                &sub,
                "https://management.core.windows.net//.default",
                None,
                "https://management.core.windows.net//.default --subscription my sub",
            ),
            // az refuses --tenant with --subscription: the subscription already selects its tenant …
            (
                &t1_sub,
                "api://x/user_impersonation",
                None,
                "api://x/user_impersonation --subscription 0000",
            ),
            (
                &t1_sub,
                "api://x/user_impersonation",
                Some("T1"),
                "api://x/user_impersonation --subscription 0000",
            ),
            // … and another tenant cannot use it.
            (
                &t1_sub,
                "api://x/user_impersonation",
                Some("t2"),
                "api://x/user_impersonation --tenant t2",
            ),
            (
                &sub,
                "api://x/.default",
                Some("t2"),
                "api://x/.default --tenant t2",
            ),
        ];
        for (c, scope, tenant, expected) in table {
            assert_eq!(
                args(c, scope, tenant),
                format!("{base} {expected}"),
                "{scope} {tenant:?}"
            );
        }
        // A subscription with a space stays one argument.
        assert!(build_args("s", None, &sub.inner).contains(&"my sub".to_owned()));
    }
}
