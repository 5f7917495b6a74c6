//! `EnvironmentCredential` and its builder.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use credchain_core::{AccessToken, Env, Error, TokenCredential, TokenRequestOptions};
use credchain_entra::{Authority, CertificateErrorKind, ClientCertificate, EntraClient, Grant};

use crate::config::{self, Selection};

/// The provider's name, in errors, logs and `AZURE_TOKEN_CREDENTIALS`.
pub const NAME: &str = "EnvironmentCredential";

/// The largest certificate file read (a PEM or PKCS#12 file is a few KiB).
const MAX_CERTIFICATE_FILE: u64 = 1 << 20;

/// Authenticates a service principal (client secret or certificate) or a user (username and
/// password) described by `AZURE_*` environment variables, against Microsoft Entra ID.
///
/// The variables are read once, when the credential is built, through an injectable
/// [`Env`]. The first complete configuration wins:
///
/// 1. `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`;
/// 2. `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH` (PEM with the key,
///    or PKCS#12), with optional `AZURE_CLIENT_CERTIFICATE_PASSWORD` and
///    `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`;
/// 3. `AZURE_CLIENT_ID`, `AZURE_USERNAME`, `AZURE_PASSWORD`, with optional `AZURE_TENANT_ID`
///    (default `organizations`). Deprecated by Microsoft (no MFA); a warning is logged.
///
/// Blank values count as unset. See the crate docs for the error table.
///
/// ```
/// use credchain_core::{Env, TokenCredential};
/// use credchain_environment::EnvironmentCredential;
/// let env = Env::from_pairs([("AZURE_CLIENT_ID", "app"), ("AZURE_TENANT_ID", "contoso.onmicrosoft.com")]);
/// let credential = EnvironmentCredential::builder().env(env).build();
/// assert_eq!(credential.home_tenant(), Some("contoso.onmicrosoft.com"));
/// assert_eq!(credential.kind(), None); // incomplete: get_token reports Unavailable
/// ```
pub struct EnvironmentCredential {
    selected: Selected,
    home_tenant: Option<String>,
    client: ClientSource,
}

enum Selected {
    Unavailable(String),
    Failed(Error),
    ClientSecret {
        client_id: String,
        secret: credchain_core::Secret,
    },
    Certificate {
        client_id: String,
        certificate: ClientCertificate,
        send_chain: bool,
    },
    UsernamePassword {
        client_id: String,
        username: String,
        password: credchain_core::Secret,
    },
}

enum ClientSource {
    Given(EntraClient),
    Lazy {
        env: Env,
        authority: Option<Authority>,
        timeout: Option<Duration>,
        built: OnceLock<Result<EntraClient, Error>>,
    },
}

/// Builds an [`EnvironmentCredential`].
pub struct EnvironmentCredentialBuilder {
    env: Env,
    authority: Option<Authority>,
    client: Option<EntraClient>,
    timeout: Option<Duration>,
}

impl fmt::Debug for EnvironmentCredentialBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvironmentCredentialBuilder")
            .field("authority", &self.authority)
            .field("client", &self.client)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EnvironmentCredentialBuilder {
    /// Reads the variables from `env` instead of the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Uses `authority` instead of `AZURE_AUTHORITY_HOST` (or the public cloud). Ignored when a
    /// [`client`](Self::client) is given.
    pub fn authority(mut self, authority: Authority) -> Self {
        self.authority = Some(authority);
        self
    }

    /// Uses `client` for token requests (for example one that trusts extra root certificates).
    /// Its authority and timeout then apply.
    pub fn client(mut self, client: EntraClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The overall timeout of one token request, retries included (default 30 s). Ignored when
    /// a [`client`](Self::client) is given.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Reads the variables and, for a certificate, the certificate file. Never fails: problems
    /// are reported by `get_token`, so an unused credential never stops a chain.
    pub fn build(self) -> EnvironmentCredential {
        let selection = config::select(&self.env);
        let (selected, home_tenant) = match selection {
            Selection::Unavailable(msg) => {
                tracing::debug!(provider = NAME, reason = %msg, "environment not configured");
                (
                    Selected::Unavailable(msg),
                    self.env.non_blank(config::AZURE_TENANT_ID),
                )
            }
            Selection::Invalid(msg) => (
                Selected::Failed(Error::invalid_input(NAME, msg)),
                self.env.non_blank(config::AZURE_TENANT_ID),
            ),
            Selection::ClientSecret {
                tenant,
                client_id,
                secret,
            } => (Selected::ClientSecret { client_id, secret }, Some(tenant)),
            Selection::Certificate {
                tenant,
                client_id,
                path,
                password,
                send_chain,
            } => {
                let selected = match load_certificate(&path, password.as_ref()) {
                    Ok(certificate) => Selected::Certificate {
                        client_id,
                        certificate,
                        send_chain,
                    },
                    Err(e) => Selected::Failed(e),
                };
                (selected, Some(tenant))
            }
            Selection::UsernamePassword {
                tenant,
                client_id,
                username,
                password,
            } => (
                Selected::UsernamePassword {
                    client_id,
                    username,
                    password,
                },
                Some(tenant),
            ),
        };
        let client = match self.client {
            Some(c) => ClientSource::Given(c),
            None => ClientSource::Lazy {
                env: self.env,
                authority: self.authority,
                timeout: self.timeout,
                built: OnceLock::new(),
            },
        };
        EnvironmentCredential {
            selected,
            home_tenant,
            client,
        }
    }
}

/// Reads and parses the certificate file. The bytes stay in the wiped buffer
/// [`read_bounded`](credchain_core::fs::read_bounded) returns until parsed (see
/// [`ClientCertificate`] for what the parsers keep).
fn load_certificate(
    path: &str,
    password: Option<&credchain_core::Secret>,
) -> Result<ClientCertificate, Error> {
    let var = config::AZURE_CLIENT_CERTIFICATE_PATH;
    let bytes = credchain_core::fs::read_bounded(Path::new(path), MAX_CERTIFICATE_FILE).map_err(|e| {
        Error::invalid_input(
            NAME,
            format!(
                "cannot read the certificate file `{path}` named by `{var}`: {}; check the path and its permissions",
                e.reason()
            ),
        )
        .with_source(e)
    })?;
    ClientCertificate::load(&bytes, password).map_err(|e| {
        let hint = match e.kind() {
            CertificateErrorKind::WrongPassword => {
                format!("; check `{}`", config::AZURE_CLIENT_CERTIFICATE_PASSWORD)
            }
            _ => String::new(),
        };
        Error::invalid_input(
            NAME,
            format!("the certificate file `{path}` named by `{var}` cannot be used: {e}{hint}"),
        )
        .with_source(e)
    })
}

impl EnvironmentCredential {
    /// Reads the process environment, with the default authority and timeout.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder reading the process environment unless told otherwise.
    pub fn builder() -> EnvironmentCredentialBuilder {
        EnvironmentCredentialBuilder {
            env: Env::process(),
            authority: None,
            client: None,
            timeout: None,
        }
    }

    /// Which configuration was selected: `client_secret`, `client_certificate` or
    /// `username_password`; `None` when the environment is incomplete or invalid.
    pub fn kind(&self) -> Option<&'static str> {
        match &self.selected {
            Selected::ClientSecret { .. } => Some("client_secret"),
            Selected::Certificate { .. } => Some("client_certificate"),
            Selected::UsernamePassword { .. } => Some("username_password"),
            Selected::Unavailable(_) | Selected::Failed(_) => None,
        }
    }

    /// The variables the selected configuration uses (for diagnostics such as `credchain doctor`).
    pub fn variables(&self) -> &'static [&'static str] {
        use config::*;
        match &self.selected {
            Selected::ClientSecret { .. } => &[AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET],
            Selected::Certificate { .. } => &[
                AZURE_TENANT_ID,
                AZURE_CLIENT_ID,
                AZURE_CLIENT_CERTIFICATE_PATH,
                AZURE_CLIENT_CERTIFICATE_PASSWORD,
                AZURE_CLIENT_SEND_CERTIFICATE_CHAIN,
            ],
            Selected::UsernamePassword { .. } => {
                &[AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_USERNAME, AZURE_PASSWORD]
            }
            Selected::Unavailable(_) | Selected::Failed(_) => &[],
        }
    }

    fn client(&self) -> Result<&EntraClient, Error> {
        match &self.client {
            ClientSource::Given(c) => Ok(c),
            ClientSource::Lazy {
                env,
                authority,
                timeout,
                built,
            } => built
                .get_or_init(|| {
                    let mut b = EntraClient::builder().env(env.clone()).provider_name(NAME);
                    if let Some(a) = authority {
                        b = b.authority(a.clone());
                    }
                    if let Some(t) = timeout {
                        b = b.timeout(*t);
                    }
                    // A bad `AZURE_AUTHORITY_HOST`, proxy or `SSL_CERT_*` variable is invalid
                    // configuration of a complete configuration: nothing is sent, the chain stops.
                    b.build()
                        .map_err(|e| Error::invalid_input(NAME, e.message()).with_source(e))
                })
                .as_ref()
                .map_err(Clone::clone),
        }
    }
}

impl Default for EnvironmentCredential {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EnvironmentCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("EnvironmentCredential");
        match &self.selected {
            Selected::Unavailable(_) => s.field("kind", &"unavailable"),
            Selected::Failed(_) => s.field("kind", &"invalid"),
            _ => s.field("kind", &self.kind().unwrap_or("?")),
        };
        s.field("variables", &self.variables())
            .field("home_tenant", &self.home_tenant)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for EnvironmentCredential {
    fn name(&self) -> &str {
        NAME
    }

    fn home_tenant(&self) -> Option<&str> {
        self.home_tenant.as_deref()
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        let grant = match &self.selected {
            Selected::Unavailable(msg) => return Err(Error::unavailable(NAME, msg.clone())),
            Selected::Failed(e) => return Err(e.clone()),
            Selected::ClientSecret { client_id, secret } => Grant::ClientSecret { client_id, secret },
            Selected::Certificate {
                client_id,
                certificate,
                send_chain,
            } => Grant::ClientCertificate {
                client_id,
                certificate,
                send_certificate_chain: *send_chain,
            },
            Selected::UsernamePassword {
                client_id,
                username,
                password,
            } => Grant::Password {
                client_id,
                username,
                password,
            },
        };
        credchain_core::validate::request(NAME, scopes, options)?;
        let tenant = options
            .tenant_id()
            .or(self.home_tenant.as_deref())
            .unwrap_or(config::DEFAULT_USER_TENANT);
        let client = self.client()?;
        let response = client
            .request_token(NAME, tenant, &grant, scopes, options)
            .await?;
        Ok(response.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate_error(path: &str) -> Error {
        match load_certificate(path, None) {
            Ok(_) => panic!("{path} is not a certificate"),
            Err(e) => e,
        }
    }

    #[cfg(unix)]
    #[test]
    fn endless_and_special_files_are_refused_without_reading_them() {
        // `/dev/zero` reports a length of 0 but never ends: reading it whole exhausted memory.
        for path in ["/dev/zero", "/dev/urandom", "/dev/null", "/"] {
            let err = certificate_error(path);
            assert_eq!(
                err.kind(),
                credchain_core::ErrorKind::InvalidInput,
                "{path}: {err}"
            );
            assert!(
                err.message()
                    .contains(&format!("cannot read the certificate file `{path}`"))
                    && err.message().contains("not a regular file"),
                "{path}: {err}"
            );
        }
    }

    /// Issue 14.9: a variable set to bytes that are not UTF-8 was read as unset, so a complete
    /// configuration became "unavailable" and a chain fell through to another identity. `Env`
    /// maps hold only Strings, so this runs in a child process with a real environment.
    #[cfg(unix)]
    #[test]
    fn non_unicode_values_fail_instead_of_reading_as_unset() {
        use std::os::unix::ffi::OsStrExt as _;
        const CHILD: &str = "CREDCHAIN_TEST_NON_UNICODE_VARIABLE";
        if let Ok(var) = std::env::var(CHILD) {
            let credential = EnvironmentCredential::new();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let err = runtime
                .block_on(credential.get_token(
                    &["https://management.azure.com/.default"],
                    &TokenRequestOptions::default(),
                ))
                .expect_err("a non-Unicode value cannot work");
            assert_eq!(
                err.kind(),
                credchain_core::ErrorKind::InvalidInput,
                "{var}: {err}"
            );
            assert!(
                err.message()
                    .starts_with(&format!("`{var}` is set but its value is not valid Unicode")),
                "{var}: {err}"
            );
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
            return;
        }
        let complete = [
            (config::AZURE_TENANT_ID, "tenant"),
            (config::AZURE_CLIENT_ID, "app"),
            (config::AZURE_CLIENT_SECRET, "s3cr3t"),
        ];
        // The secret itself, any other variable of the complete configuration, and a variable
        // of another configuration: all fail rather than being skipped.
        for var in [
            config::AZURE_CLIENT_SECRET,
            config::AZURE_CLIENT_ID,
            config::AZURE_TENANT_ID,
            config::AZURE_PASSWORD,
        ] {
            let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"));
            child
                .args([
                    "--exact",
                    "credential::tests::non_unicode_values_fail_instead_of_reading_as_unset",
                    "--test-threads=1",
                ])
                .env_clear()
                .env(CHILD, var);
            for (name, value) in complete {
                child.env(name, value);
            }
            child.env(var, std::ffi::OsStr::from_bytes(b"s3cr3t\xff\xfe"));
            let out = child.output().expect("run the child test");
            assert!(
                out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
                "{var}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn files_over_the_cap_are_refused_and_files_at_it_are_read() {
        let dir = std::env::temp_dir().join(format!("credchain-env-cap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let at = dir.join("at.pem");
        let over = dir.join("over.pem");
        std::fs::write(&at, vec![b'x'; MAX_CERTIFICATE_FILE as usize]).expect("write");
        std::fs::write(&over, vec![b'x'; MAX_CERTIFICATE_FILE as usize + 1]).expect("write");
        let at_err = certificate_error(&at.display().to_string());
        let over_err = certificate_error(&over.display().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        // Read, then refused as not a certificate.
        assert!(at_err.message().contains("cannot be used"), "{at_err}");
        assert!(over_err.message().contains("larger than 1 MiB"), "{over_err}");
    }
}
