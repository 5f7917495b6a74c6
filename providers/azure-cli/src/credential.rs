//! [`AzureCliCredential`] and its builder.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use credchain_core::{AccessToken, Env, Error, TokenCredential, TokenRequestOptions, validate};
use jiff::tz::TimeZone;

use crate::classify::{Failure, classify};
use crate::locate::{Found, NotFound, locate};
use crate::parse::{UnexpectedOutput, parse_token};
use crate::process::{Finished, Invocation, RunError, STDOUT_LIMIT, run};

/// The provider name used in errors and tracing.
pub const NAME: &str = "AzureCliCredential";

/// How long `az` may run by default before it is killed.
pub const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(10);

const INSTALL_HINT: &str = "install it (https://aka.ms/azure-cli) or set its location with \
     `AzureCliCredentialBuilder::az_path`";

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
    inner: Arc<Config>,
}

struct Config {
    tenant_id: Option<Box<str>>,
    subscription: Option<Box<str>>,
    process_timeout: Duration,
    az_path: Option<PathBuf>,
    env: Env,
    working_dir: Option<PathBuf>,
}

impl fmt::Debug for AzureCliCredential {
    /// Shows the options; the environment only as its kind and size (it may hold secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("AzureCliCredential")
            .field("tenant_id", &c.tenant_id)
            .field("subscription", &c.subscription)
            .field("process_timeout", &c.process_timeout)
            .field("az_path", &c.az_path)
            .field("env", &env_summary(&c.env))
            .field("working_dir", &c.working_dir)
            .finish()
    }
}

/// The environment as its kind and size only: a map may hold secrets.
fn env_summary(env: &Env) -> String {
    match env {
        Env::Process => "process".to_owned(),
        Env::Map(map) => format!("map of {} variables", map.len()),
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

    /// How long `az` may run.
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
        locate(self.inner.az_path.as_deref(), &self.inner.env, &cwd)
            .map(|found| found.path().to_owned())
            .map_err(not_found_error)
    }
}

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
            .field("env", &self.env.as_ref().map(env_summary))
            .field("working_dir", &self.working_dir)
            .finish()
    }
}

impl AzureCliCredentialBuilder {
    /// The tenant to get tokens for when a request names none (passed as `--tenant`). It is
    /// also the credential's [home tenant](TokenCredential::home_tenant) for the tenant middleware.
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

    /// How long `az` may run before it (and everything it started) is killed. Default 10 s.
    /// The CLI often needs several seconds to start on a cold or busy machine; raise this if
    /// requests fail with a message naming `process_timeout`. A shorter caller deadline
    /// ([`TokenRequestOptions::with_deadline`]) wins.
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
fn not_a_flag(what: &str, value: &str) -> Result<(), Error> {
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
        (Some(t), Some(_)) if home.is_none_or(|h| !h.eq_ignore_ascii_case(t)) => {
            args.extend(["--tenant".to_owned(), t.to_owned()]);
        }
        (_, Some(s)) => args.extend(["--subscription".to_owned(), s.to_owned()]),
        (Some(t), None) => args.extend(["--tenant".to_owned(), t.to_owned()]),
        (None, None) => {}
    }
    args
}

/// The time zone `az` writes `expiresOn` in: `TZ` from `env` when it is a map that sets it,
/// otherwise the system's.
fn local_time_zone(env: &Env) -> TimeZone {
    let Env::Map(_) = env else {
        return TimeZone::system();
    };
    let Some(tz) = env.non_blank("TZ") else {
        return TimeZone::system();
    };
    let name = tz.strip_prefix(':').unwrap_or(&tz);
    if name.eq_ignore_ascii_case("UTC") || name.eq_ignore_ascii_case("UTC0") {
        return TimeZone::UTC;
    }
    if name.starts_with('/')
        && let Some(data) = read_tzif(Path::new(name))
        && let Ok(tz) = TimeZone::tzif(name, &data)
    {
        return tz;
    }
    TimeZone::get(name)
        .or_else(|_| TimeZone::posix(&tz))
        .unwrap_or_else(|_| TimeZone::system())
}

/// The bytes of a TZif file named by `TZ=/path`, or `None` when it is not a regular file or is
/// larger than any real one. `TZ` comes from the caller's environment map, so it may name
/// `/dev/zero` or a FIFO: reading those unbounded would exhaust memory or block forever.
fn read_tzif(path: &Path) -> Option<Vec<u8>> {
    /// Real TZif files are a few KiB; the largest in tzdata is under 100 KiB.
    const TZIF_LIMIT: u64 = 256 * 1024;
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut data = Vec::new();
    file.take(TZIF_LIMIT + 1).read_to_end(&mut data).ok()?;
    (data.len() as u64 <= TZIF_LIMIT).then_some(data)
}

fn safe_working_dir(config: &Config) -> Result<PathBuf, Error> {
    if let Some(dir) = &config.working_dir {
        return Ok(dir.clone());
    }
    if cfg!(windows) {
        config
            .env
            .non_blank("SYSTEMROOT")
            .map(PathBuf::from)
            .ok_or_else(|| {
                Error::unavailable(
                    NAME,
                    "`SYSTEMROOT` is not set, so there is no safe working directory to run `az` from; \
                 set `SYSTEMROOT` (normally `C:\\Windows`)",
                )
            })
    } else {
        Ok(PathBuf::from("/bin"))
    }
}

/// `start + timeout` without the panic `Instant + Duration` has on overflow: a timeout too large
/// to represent (such as `Duration::MAX`) means "no limit of our own", capped at 30 years.
fn deadline_after(start: Instant, timeout: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    start
        .checked_add(timeout)
        .or_else(|| start.checked_add(FAR))
        // Every supported platform represents 30 years; this only keeps the arithmetic total.
        .unwrap_or(start)
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 || s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
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
        validate::scope(scope).map_err(|m| Error::invalid_input(NAME, m))?;
        not_a_flag("scope", scope)?;
        let tenant = match options.tenant_id() {
            Some(t) => {
                validate::tenant_id(t).map_err(|m| Error::invalid_input(NAME, m))?;
                not_a_flag("tenant", t)?;
                Some(t)
            }
            None => config.tenant_id.as_deref(),
        };
        if let Some(claims) = options.claims() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(claims.as_bytes());
            let mut command = format!("az login --claims-challenge {encoded}");
            if let Some(t) = tenant {
                command.push_str(&format!(" --tenant {t}"));
            }
            command.push_str(&format!(" --scope {scope}"));
            return Err(Error::unavailable(
                NAME,
                format!(
                    "the Azure CLI cannot answer a claims challenge by itself; sign in again with \
                     `{command}` (Azure CLI 2.76.0 or later), then retry"
                ),
            ));
        }

        let started = Instant::now();
        let own_deadline = deadline_after(started, config.process_timeout);
        let (deadline, caller_wins) = match options.deadline() {
            Some(d) if d < own_deadline => (d, true),
            _ => (own_deadline, false),
        };
        if caller_wins && deadline <= started {
            return Err(Error::timeout(
                NAME,
                "the request's deadline had already passed, so `az` was not started",
            ));
        }

        let cwd = safe_working_dir(config)?;
        let found = locate(config.az_path.as_deref(), &config.env, &cwd).map_err(not_found_error)?;
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

fn not_found_error(e: NotFound) -> Error {
    match e {
        NotFound::Explicit(path) => Error::unavailable(
            NAME,
            format!(
                "Azure CLI not found at `{}` (set with `az_path`); check the path, or {INSTALL_HINT}",
                path.display()
            ),
        ),
        NotFound::Searched(dirs) => {
            let dirs: Vec<String> = dirs.iter().map(|d| format!("`{}`", d.display())).collect();
            Error::unavailable(
                NAME,
                format!(
                    "Azure CLI not found on path (searched `PATH` and {}); {INSTALL_HINT}",
                    dirs.join(", ")
                ),
            )
        }
    }
}

fn run_error(
    e: RunError,
    found: &Found,
    caller_wins: bool,
    process_timeout: Duration,
    elapsed: Duration,
) -> Error {
    let path = found.path().display();
    match e {
        RunError::Spawn(err) => match err.kind() {
            std::io::ErrorKind::NotFound => Error::unavailable(
                NAME,
                format!("Azure CLI not found on path: `{path}` could not be started; {INSTALL_HINT}"),
            ),
            _ => Error::unavailable(
                NAME,
                format!("failed to execute `{path}`; check that it is the Azure CLI and is executable"),
            )
            .with_source(err),
        },
        RunError::TimedOut if caller_wins => Error::timeout(
            NAME,
            format!(
                "the request's deadline passed after {} while waiting for `az account get-access-token`; \
                 the process was stopped",
                secs(elapsed)
            ),
        ),
        RunError::TimedOut => Error::unavailable(
            NAME,
            format!(
                "Azure CLI did not answer within {} and was stopped; it can be slow to start, so \
                 raise `process_timeout` (`AzureCliCredentialBuilder::process_timeout`)",
                secs(process_timeout)
            ),
        ),
        RunError::StdoutTooLarge => Error::authentication_failed(
            NAME,
            format!(
                "unexpected output from Azure CLI: more than {} KiB on stdout, so it was stopped; run \
                 `az account get-access-token` yourself to see what it prints",
                STDOUT_LIMIT / 1024
            ),
        ),
        RunError::Wait(err) => {
            Error::unavailable(NAME, "failed to wait for the Azure CLI process").with_source(err)
        }
    }
}

fn finished(done: Finished, env: &Env) -> Result<AccessToken, Error> {
    if done.status.success() {
        return match parse_token(&done.stdout, &local_time_zone(env)) {
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
    let stderr = String::from_utf8_lossy(&done.stderr);
    let status = exit_description(&done);
    match classify(done.status.code(), &stderr) {
        Failure::NotInstalled => Err(Error::unavailable(
            NAME,
            format!("Azure CLI not found on path (`az` {status}); {INSTALL_HINT}"),
        )),
        Failure::NotSignedIn { said } => Err(Error::unavailable(
            NAME,
            format!(
                "Azure CLI is not signed in or has no usable account (it said: {said}); run `az login` \
                 to set up an account"
            ),
        )),
        Failure::Failed { summary } if summary.is_empty() => Err(Error::authentication_failed(
            NAME,
            format!(
                "`az account get-access-token` {status} without an error message; run it yourself to \
                 see what is wrong"
            ),
        )),
        Failure::Failed { summary } => Err(Error::authentication_failed(
            NAME,
            format!("`az account get-access-token` {status}: {summary}"),
        )),
    }
}

fn exit_description(done: &Finished) -> String {
    if let Some(code) = done.status.code() {
        return format!("failed with exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = done.status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    "failed".to_owned()
}

fn unexpected_output(why: &UnexpectedOutput) -> Error {
    Error::authentication_failed(
        NAME,
        format!(
            "unexpected output from Azure CLI: {why}; run `az account get-access-token --output json` \
             yourself, and update the Azure CLI if the output looks wrong"
        ),
    )
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
        assert!(shown.contains("map of 1 variables"), "{shown}");
        let b = AzureCliCredential::builder().env(Env::from_pairs([("X", "hunter2")]));
        let shown = format!("{b:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("\"X\""), "{shown}");
        assert!(shown.contains("map of 1 variables"), "{shown}");
    }

    #[test]
    fn time_zone_comes_from_a_map_env() {
        use jiff::civil::date;
        let at = date(2023, 10, 31).at(21, 59, 10, 0);
        let offset_hours = |env: &Env| {
            let tz = local_time_zone(env);
            tz.to_offset(tz.to_ambiguous_timestamp(at).compatible().expect("valid"))
                .seconds()
                / 3600
        };
        assert_eq!(offset_hours(&Env::from_pairs([("TZ", "UTC")])), 0);
        assert_eq!(
            offset_hours(&Env::from_pairs([("TZ", "EST5EDT,M3.2.0,M11.1.0")])),
            -4
        );
        assert_eq!(offset_hours(&Env::from_pairs([("TZ", "<+0530>-5:30")])), 5);
        // An absolute path to a TZif file is read (when this machine has the tz database).
        let new_york = "/usr/share/zoneinfo/America/New_York";
        if Path::new(new_york).is_file() {
            assert_eq!(offset_hours(&Env::from_pairs([("TZ", new_york)])), -4);
            assert_eq!(
                offset_hours(&Env::from_pairs([("TZ", ":/usr/share/zoneinfo/Asia/Kolkata")])),
                5
            );
        }
    }

    #[test]
    fn a_huge_timeout_does_not_overflow_the_deadline() {
        let now = Instant::now();
        assert_eq!(
            deadline_after(now, Duration::from_secs(10)),
            now + Duration::from_secs(10)
        );
        for huge in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
            let deadline = deadline_after(now, huge);
            assert!(
                deadline > now + Duration::from_secs(365 * 24 * 60 * 60),
                "{huge:?} must mean a far deadline, not an immediate one"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn tz_naming_a_device_or_directory_falls_back_without_reading_it() {
        // `/dev/zero` would never end; a FIFO would block. Both count as "not a zone file".
        assert_eq!(read_tzif(Path::new("/dev/zero")), None);
        assert_eq!(read_tzif(Path::new("/")), None);
        assert_eq!(read_tzif(Path::new("/nonexistent/zone")), None);
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .and_then(|f| f.set_len(10 * 1024 * 1024))
            .expect("sparse file");
        assert_eq!(read_tzif(&big), None, "larger than any TZif file");
        let small = dir.path().join("small");
        std::fs::write(&small, b"TZif").expect("write");
        assert_eq!(read_tzif(&small).as_deref(), Some(&b"TZif"[..]));
        // And the whole lookup returns (the system zone) instead of hanging.
        let tz = local_time_zone(&Env::from_pairs([("TZ", "/dev/zero")]));
        assert_eq!(tz, TimeZone::system());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(secs(Duration::from_secs(10)), "10 s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(secs(Duration::from_secs(2)), "2 s");
    }
}
