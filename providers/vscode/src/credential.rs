//! [`VsCodeCredential`]: the type, what it reports about itself, and its [`TokenCredential`]
//! impl (validate, resolve the tenant, get the refresh token, redeem it at Microsoft Entra).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use credchain_core::tenant::{ADFS, same_tenant};
use credchain_core::{AccessToken, Error, ErrorKind, TokenCredential, TokenRequestOptions, validate};
use credchain_entra::{Authority, EntraClient, Grant};

use crate::auth_record::{VSCODE_CLIENT_ID, load_auth_record};
use crate::builder::VsCodeCredentialBuilder;
use crate::messages::{TROUBLESHOOT, adfs_unavailable, without_refresh_token};
use crate::refresh_token::{NoToken, RefreshTokens};
use crate::settings::{Os, SettingsState};
use crate::setup::{SettingSource, VsCodeSetup};

/// The provider's name in errors, tracing and `AZURE_TOKEN_CREDENTIALS`.
pub const CREDENTIAL_NAME: &str = "VisualStudioCodeCredential";

/// The secret-store service under which the Azure Account extension saved its refresh token.
/// The account is the cloud name (`AzureCloud`, `AzureChinaCloud`, …).
pub const KEYRING_SERVICE: &str = "VS Code Azure";

/// How long a request waits for a secret-store lookup before the credential gives up (default
/// 10 s). A locked keyring can block on an unlock prompt that nobody answers; the lookup itself
/// cannot be cancelled, so it keeps running, and later requests wait for it rather than start
/// another.
pub const DEFAULT_SECRET_STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// Authenticates as the Azure user signed in to Visual Studio Code.
///
/// It redeems the refresh token that VS Code's *Azure Account* extension saved in the OS secret
/// store, at the Microsoft Entra authority for the cloud chosen in VS Code's settings. See the
/// [crate documentation](crate) for what it reads, in which order, and how each failure is
/// reported.
///
/// Tokens are not cached here: credchain's middleware caches and single-flights every
/// provider. A rotated refresh token returned by Microsoft Entra is kept in memory and used
/// from then on; nothing is ever written back to the user's secret store.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), credchain_core::Error> {
/// use credchain_core::{TokenCredential, TokenRequestOptions};
/// use credchain_vscode::VsCodeCredential;
///
/// let credential = VsCodeCredential::builder().tenant_id("contoso.onmicrosoft.com").build()?;
/// println!("{}", credential.describe());
/// let token = credential
///     .get_token(&["https://management.azure.com/.default"], &TokenRequestOptions::default())
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
pub struct VsCodeCredential {
    pub(crate) os: Os,
    pub(crate) settings: SettingsState,
    pub(crate) cloud: String,
    pub(crate) cloud_source: SettingSource,
    pub(crate) tenant: String,
    pub(crate) tenant_source: SettingSource,
    pub(crate) authority_source: Option<SettingSource>,
    pub(crate) auth_record_paths: Result<Vec<PathBuf>, String>,
    /// `Err` holds why the credential cannot try here (custom cloud, ADFS, bad settings).
    pub(crate) client: Result<EntraClient, Error>,
    /// The refresh token in use: the one found in the store, then each rotated one.
    pub(crate) refresh_tokens: RefreshTokens,
}

impl VsCodeCredential {
    /// A builder; see [`VsCodeCredentialBuilder`].
    pub fn builder() -> VsCodeCredentialBuilder {
        VsCodeCredentialBuilder::default()
    }

    /// A credential with every default: the process environment, VS Code's settings at their
    /// usual place, and the OS secret store.
    ///
    /// # Errors
    ///
    /// As [`VsCodeCredentialBuilder::build`].
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// The cloud named in VS Code's settings (`AzureCloud` by default): also the secret-store
    /// account the refresh token is read from.
    pub fn cloud(&self) -> &str {
        &self.cloud
    }

    /// The authority requests go to, when one could be worked out.
    pub fn authority(&self) -> Option<&Authority> {
        self.client.as_ref().ok().map(EntraClient::authority)
    }

    /// What this credential would use and what it found, for `credchain doctor`: settings
    /// file, cloud, tenant, authority, secret store and the Azure Resources sign-in record.
    ///
    /// It reads the sign-in record again (a small file), but does not touch the secret store,
    /// which could block on an unlock prompt. Nothing in it is secret.
    pub fn describe(&self) -> VsCodeSetup {
        let record = load_auth_record(self.auth_record_paths.clone());
        VsCodeSetup::new(
            self.os,
            &self.settings,
            &self.cloud,
            self.cloud_source,
            &self.tenant,
            self.tenant_source,
            self.authority().map(Authority::to_string),
            self.authority_source,
            self.client.as_ref().err().map(|e| e.message().to_owned()),
            self.refresh_tokens.store_name(),
            &record,
        )
    }
}

#[async_trait::async_trait]
impl TokenCredential for VsCodeCredential {
    fn name(&self) -> &str {
        CREDENTIAL_NAME
    }

    /// The configured tenant: the `tenant_id` option, then VS Code's `azure.tenant`, then
    /// `organizations`.
    fn home_tenant(&self) -> Option<&str> {
        Some(&self.tenant)
    }

    async fn get_token(&self, scopes: &[&str], options: &TokenRequestOptions) -> Result<AccessToken, Error> {
        validate::request(CREDENTIAL_NAME, scopes, options)?;
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let tenant = options.tenant_id().unwrap_or(&self.tenant);
        if same_tenant(tenant, ADFS) {
            return Err(adfs_unavailable());
        }
        let refresh_token = match self.refresh_tokens.get(options.deadline()).await {
            Ok(token) => token,
            Err(NoToken::Fail(e)) => return Err(e),
            Err(NoToken::Missing(reason)) => {
                let record = load_auth_record(self.auth_record_paths.clone());
                return Err(without_refresh_token(&reason, record));
            }
        };
        let grant = Grant::RefreshToken {
            client_id: VSCODE_CLIENT_ID,
            refresh_token: &refresh_token,
        };
        match client
            .request_token(CREDENTIAL_NAME, tenant, &grant, scopes, options)
            .await
        {
            Ok(response) => {
                if let Some(rotated) = response.refresh_token.filter(|t| !t.is_blank()) {
                    self.refresh_tokens.keep_rotated(rotated);
                }
                Ok(response.token)
            }
            Err(e) if refresh_token_refused(&e) => {
                // The store may hold a newer token next time (the user signed in again).
                self.refresh_tokens.forget(&refresh_token);
                Err(Error::authentication_failed(
                    CREDENTIAL_NAME,
                    format!(
                        "{}; VS Code's saved sign-in was refused: sign in to Azure in VS Code again, or \
                         {TROUBLESHOOT}",
                        e.message()
                    ),
                )
                .with_source(e))
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether Entra refused the refresh token itself (`invalid_grant`: expired, revoked, or issued to
/// someone else), as opposed to refusing the request for another reason (an unknown tenant, say),
/// which says nothing about the saved sign-in.
fn refresh_token_refused(error: &Error) -> bool {
    error.kind() == ErrorKind::AuthenticationFailed
        && std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<credchain_entra::EntraErrorResponse>())
            .is_some_and(|response| response.error() == "invalid_grant")
}

impl fmt::Debug for VsCodeCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VsCodeCredential")
            .field("cloud", &self.cloud)
            .field("tenant", &self.tenant)
            .field("authority", &self.authority().map(Authority::as_str))
            .field("secret_store", &self.refresh_tokens.store_name())
            .field("settings", &self.settings.path())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySecretStore;
    use crate::store::{SecretStore, SecretStoreError, SecretStoreErrorKind};
    use credchain_core::Env;
    use std::path::Path;
    use std::time::Instant;

    const SCOPE: &str = "https://management.azure.com/.default";
    const VALID_RECORD: &str = r#"{"tenantId": "12345678-1234-1234-1234-123456789012",
        "clientId": "aebc6443-996d-45c2-90f0-388ff96faa56", "username": "dev@contoso.com",
        "homeAccountId": "uid.utid", "authority": "login.microsoftonline.com"}"#;

    /// A fake home directory, a memory store and extra environment variables.
    struct Fixture {
        home: tempfile::TempDir,
        store: MemorySecretStore,
        vars: Vec<(String, String)>,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                home: tempfile::tempdir().expect("temp dir"),
                store: MemorySecretStore::new(),
                vars: Vec::new(),
            }
        }

        fn var(mut self, name: &str, value: &str) -> Self {
            self.vars.push((name.to_owned(), value.to_owned()));
            self
        }

        fn settings(self, text: &str) -> Self {
            let path = self.home.path().join(".config/Code/User/settings.json");
            write(&path, text);
            self
        }

        fn record(self, text: &str) -> Self {
            write(&self.record_path(), text);
            self
        }

        fn record_path(&self) -> PathBuf {
            self.home
                .path()
                .join(".azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json")
        }

        fn builder(&self) -> VsCodeCredentialBuilder {
            let mut vars = self.vars.clone();
            vars.push(("HOME".into(), self.home.path().display().to_string()));
            VsCodeCredential::builder()
                .os(Os::Linux)
                .env(Env::from_pairs(vars))
                .secret_store(self.store.clone())
        }

        fn build(&self) -> VsCodeCredential {
            self.builder().build().expect("build")
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    async fn error_of(credential: &VsCodeCredential, options: &TokenRequestOptions) -> Error {
        match credential.get_token(&[SCOPE], options).await {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    fn assert_unavailable(e: &Error, needles: &[&str]) {
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert_eq!(e.provider(), CREDENTIAL_NAME);
        let message = e.message();
        assert!(message.starts_with(|c: char| !c.is_uppercase()), "{message}");
        for needle in needles {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }
    }

    #[test]
    fn defaults_without_settings() {
        let credential = Fixture::new().build();
        assert_eq!(credential.cloud(), "AzureCloud");
        assert_eq!(credential.home_tenant(), Some("organizations"));
        assert_eq!(credential.authority(), Some(&Authority::public()));
        assert_eq!(credential.name(), "VisualStudioCodeCredential");
    }

    #[test]
    fn settings_choose_cloud_tenant_and_authority() {
        // (settings, extra env, authority option, tenant option) -> (cloud, tenant, authority)
        type Row = (
            &'static str,
            Option<(&'static str, &'static str)>,
            Option<&'static str>,
            Option<&'static str>,
            (&'static str, &'static str, &'static str),
        );
        let table: [Row; 8] = [
            (
                "{}",
                None,
                None,
                None,
                ("AzureCloud", "organizations", "https://login.microsoftonline.com"),
            ),
            (
                r#"{"azure.cloud":"AzureChinaCloud","azure.tenant":"tid"}"#,
                None,
                None,
                None,
                ("AzureChinaCloud", "tid", "https://login.chinacloudapi.cn"),
            ),
            (
                r#"{"azure.cloud":"AzureUSGovernment"}"#,
                None,
                None,
                None,
                (
                    "AzureUSGovernment",
                    "organizations",
                    "https://login.microsoftonline.us",
                ),
            ),
            (
                r#"{"azure.cloud":"AzureCustomCloud"}"#,
                None,
                Some("login.example.com"),
                None,
                ("AzureCustomCloud", "organizations", "https://login.example.com"),
            ),
            (
                "{}",
                Some(("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")),
                None,
                None,
                ("AzureCloud", "organizations", "https://login.microsoftonline.us"),
            ),
            (
                // The environment beats the settings' cloud, but the store account stays the cloud.
                r#"{"azure.cloud":"AzureChinaCloud"}"#,
                Some(("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")),
                None,
                None,
                (
                    "AzureChinaCloud",
                    "organizations",
                    "https://login.microsoftonline.us",
                ),
            ),
            (
                r#"{"azure.tenant":"settings-tenant"}"#,
                None,
                None,
                Some("kw-tenant"),
                ("AzureCloud", "kw-tenant", "https://login.microsoftonline.com"),
            ),
            (
                // The option beats the environment.
                "{}",
                Some(("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")),
                Some("https://login.chinacloudapi.cn/"),
                None,
                ("AzureCloud", "organizations", "https://login.chinacloudapi.cn"),
            ),
        ];
        for (settings, var, authority, tenant, (cloud, home, expected_authority)) in table {
            let mut fixture = Fixture::new().settings(settings);
            if let Some((name, value)) = var {
                fixture = fixture.var(name, value);
            }
            let mut builder = fixture.builder();
            if let Some(authority) = authority {
                builder = builder.authority(authority);
            }
            if let Some(tenant) = tenant {
                builder = builder.tenant_id(tenant);
            }
            let credential = builder.build().expect("build");
            assert_eq!(credential.cloud(), cloud, "{settings}");
            assert_eq!(credential.home_tenant(), Some(home), "{settings}");
            assert_eq!(
                credential.authority().map(Authority::as_str),
                Some(expected_authority),
                "{settings}"
            );
        }
    }

    #[tokio::test]
    async fn custom_cloud_without_authority_is_unavailable() {
        let fixture = Fixture::new().settings(r#"{"azure.cloud": "AzureCustomCloud"}"#);
        fixture.store.insert(KEYRING_SERVICE, "AzureCustomCloud", "rt");
        let credential = fixture.build();
        assert_eq!(credential.authority(), None);
        let e = error_of(&credential, &TokenRequestOptions::default()).await;
        assert_unavailable(
            &e,
            &[
                "custom cloud `AzureCustomCloud`",
                "`azure.cloud`",
                "authority",
                "`AZURE_AUTHORITY_HOST`",
            ],
        );
        assert_eq!(
            fixture.store.lookups(),
            0,
            "nothing read before the setup is usable"
        );
    }

    #[tokio::test]
    async fn adfs_is_unavailable_whether_configured_or_requested() {
        let fixture = Fixture::new();
        fixture.store.insert(KEYRING_SERVICE, "AzureCloud", "rt");
        let configured = fixture.builder().tenant_id("adfs").build().expect("build");
        let e = error_of(&configured, &TokenRequestOptions::default()).await;
        assert_unavailable(&e, &["`adfs`", "AD FS is not supported"]);

        let requested = fixture.build();
        let e = error_of(&requested, &TokenRequestOptions::new().with_tenant_id("ADFS")).await;
        assert_unavailable(&e, &["AD FS is not supported"]);
        assert_eq!(fixture.store.lookups(), 0);
    }

    #[tokio::test]
    async fn broken_settings_are_unavailable_with_the_file_and_reason() {
        let cases = [
            (r#"{"azure.cloud": 3}"#, "`azure.cloud` set to a number"),
            (r#"{"azure.tenant": false,}"#, "`azure.tenant` set to a boolean"),
            ("{\"azure.cloud\": ", "is not valid JSON with comments"),
            ("[]", "must hold a JSON object"),
            (r#"{"azure.tenant": "bad tenant"}"#, "`azure.tenant` in"),
        ];
        for (text, needle) in cases {
            let fixture = Fixture::new().settings(text);
            let credential = fixture.build();
            let e = error_of(&credential, &TokenRequestOptions::default()).await;
            assert_unavailable(&e, &[needle, "settings.json`"]);
            assert_eq!(credential.home_tenant(), Some("organizations"), "{text}");
        }
    }

    #[tokio::test]
    async fn invalid_authority_host_variable_is_invalid_input() {
        let credential = Fixture::new()
            .var("AZURE_AUTHORITY_HOST", "http://insecure")
            .build();
        let e = error_of(&credential, &TokenRequestOptions::default()).await;
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.message().contains("`AZURE_AUTHORITY_HOST`"), "{e}");
    }

    #[test]
    fn invalid_options_fail_the_build() {
        let fixture = Fixture::new();
        let cases = [
            (
                fixture.builder().tenant_id("bad tenant"),
                "the `tenant_id` option",
            ),
            (
                fixture.builder().authority("http://insecure"),
                "the `authority` option",
            ),
            (
                fixture.builder().secret_store_timeout(Duration::ZERO),
                "the `secret_store_timeout` option must be greater than zero",
            ),
        ];
        for (builder, needle) in cases {
            match builder.build() {
                Ok(c) => panic!("{needle}: built {c:?}"),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                    assert!(e.message().contains(needle), "{e}");
                }
            }
        }
    }

    #[test]
    fn blank_tenant_option_means_unset() {
        // As in azure-identity (`tenant_id or azure.tenant`) and the other credchain providers.
        let fixture = Fixture::new().settings(r#"{"azure.tenant": "settings-tenant"}"#);
        for blank in ["", "  "] {
            let credential = fixture
                .builder()
                .tenant_id(blank)
                .build()
                .expect("blank is unset");
            assert_eq!(credential.home_tenant(), Some("settings-tenant"), "{blank:?}");
            assert_eq!(credential.describe().tenant_source, SettingSource::Settings);
        }
        let credential = Fixture::new().builder().tenant_id(" ").build().expect("build");
        assert_eq!(credential.home_tenant(), Some("organizations"));
    }

    #[tokio::test]
    async fn bad_requests_are_refused_before_reading_the_store() {
        let fixture = Fixture::new();
        fixture.store.insert(KEYRING_SERVICE, "AzureCloud", "rt");
        let credential = fixture.build();
        let none: [&str; 0] = [];
        let e = credential
            .get_token(&none, &TokenRequestOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = credential
            .get_token(
                &["https://x/.default offline_access"],
                &TokenRequestOptions::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = error_of(
            &credential,
            &TokenRequestOptions::new().with_tenant_id("bad/tenant"),
        )
        .await;
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        // The shared request check (credchain_core::validate::request) also refuses claims that
        // are not a JSON object, before anything is read.
        let e = error_of(&credential, &TokenRequestOptions::new().with_claims("not json")).await;
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_eq!(fixture.store.lookups(), 0);
    }

    #[tokio::test]
    async fn no_item_and_no_record() {
        let fixture = Fixture::new();
        let credential = fixture.build();
        let e = error_of(&credential, &TokenRequestOptions::default()).await;
        assert_unavailable(
            &e,
            &[
                "no refresh token from VS Code",
                "the in-memory secret store has no item with service `VS Code Azure` and account `AzureCloud`",
                "no Azure Resources extension sign-in was found",
                ".azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json`",
                ".Azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json`",
                "`az login`",
            ],
        );
        assert_eq!(fixture.store.lookups(), 1);
    }

    #[tokio::test]
    async fn store_account_is_the_cloud_name() {
        let fixture = Fixture::new().settings(r#"{"azure.cloud": "AzureChinaCloud"}"#);
        fixture
            .store
            .insert(KEYRING_SERVICE, "AzureCloud", "rt-for-the-public-cloud");
        let e = error_of(&fixture.build(), &TokenRequestOptions::default()).await;
        assert_unavailable(&e, &["account `AzureChinaCloud`"]);
    }

    #[tokio::test]
    async fn an_empty_item_is_reported_as_empty_not_missing() {
        for empty in ["", "  "] {
            let fixture = Fixture::new();
            fixture.store.insert(KEYRING_SERVICE, "AzureCloud", empty);
            let e = error_of(&fixture.build(), &TokenRequestOptions::default()).await;
            assert_unavailable(
                &e,
                &[
                    "the in-memory secret store has an item with service `VS Code Azure` and account \
                     `AzureCloud`, but its secret is empty",
                    "sign in to Azure in VS Code again",
                    "no Azure Resources extension sign-in was found",
                ],
            );
            assert!(!e.message().contains("has no item"), "{e}");
        }
    }

    #[tokio::test]
    async fn valid_record_names_the_account_and_the_next_step() {
        let fixture = Fixture::new().record(VALID_RECORD);
        let e = error_of(&fixture.build(), &TokenRequestOptions::default()).await;
        assert_unavailable(
            &e,
            &[
                "signed in as `dev@contoso.com`",
                "OS authentication broker",
                "run `az login` as `dev@contoso.com`",
            ],
        );
    }

    #[tokio::test]
    async fn invalid_record_is_explained() {
        let fixture = Fixture::new().record(r#"{"tenantId": "t", "clientId": "12345-123456"}"#);
        let e = error_of(&fixture.build(), &TokenRequestOptions::default()).await;
        assert_unavailable(
            &e,
            &[
                "sign-in record `",
                "`clientId` must be VS Code's client ID",
                "`username` is missing",
            ],
        );
        let fixture = Fixture::new().record("[1]");
        let e = error_of(&fixture.build(), &TokenRequestOptions::default()).await;
        assert_unavailable(&e, &["must hold a JSON object"]);
    }

    #[tokio::test]
    async fn auth_record_path_override_is_used() {
        let fixture = Fixture::new();
        let elsewhere = fixture.home.path().join("elsewhere.json");
        write(
            &elsewhere,
            &VALID_RECORD.replace("dev@contoso.com", "other@contoso.com"),
        );
        let credential = fixture
            .builder()
            .auth_record_path(&elsewhere)
            .build()
            .expect("build");
        let e = error_of(&credential, &TokenRequestOptions::default()).await;
        assert_unavailable(&e, &["`other@contoso.com`"]);
    }

    #[tokio::test]
    async fn store_failures_are_unavailable_and_say_what_is_missing() {
        let cases = [
            (
                SecretStoreErrorKind::NotAvailable,
                "no D-Bus session bus",
                &["the in-memory secret store is not available: no D-Bus session bus"][..],
            ),
            (
                SecretStoreErrorKind::Locked,
                "the keyring holding the item is locked",
                &["is locked", "unlock your keyring"][..],
            ),
            (
                SecretStoreErrorKind::Failed,
                "unexpected reply",
                &["reading the in-memory secret store failed"][..],
            ),
        ];
        for (kind, detail, needles) in cases {
            let fixture = Fixture::new().record(VALID_RECORD);
            fixture.store.fail_with(SecretStoreError::new(kind, detail));
            let e = error_of(&fixture.build(), &TokenRequestOptions::default()).await;
            assert_unavailable(&e, needles);
            assert_unavailable(&e, &[detail, "signed in as `dev@contoso.com`"]);
        }
    }

    #[tokio::test]
    async fn a_hanging_store_times_out_as_unavailable() {
        let fixture = Fixture::new();
        fixture.store.set_delay(Some(Duration::from_secs(5)));
        let credential = fixture
            .builder()
            .secret_store_timeout(Duration::from_millis(100))
            .build()
            .expect("build");
        let start = Instant::now();
        let e = error_of(&credential, &TokenRequestOptions::default()).await;
        assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
        assert_unavailable(&e, &["did not answer within 0.1 s", "unlock"]);
    }

    /// A store whose lookups block until the test opens its gate: a hung D-Bus peer.
    #[derive(Debug, Default)]
    struct HungStore {
        open: std::sync::Mutex<bool>,
        opened: std::sync::Condvar,
        lookups: std::sync::atomic::AtomicUsize,
    }

    impl HungStore {
        fn release(&self) {
            *self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
            self.opened.notify_all();
        }
    }

    impl SecretStore for HungStore {
        fn name(&self) -> &str {
            "the hung store"
        }

        fn find_password(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Option<credchain_core::Secret>, SecretStoreError> {
            self.lookups.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut open = self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while !*open {
                open = self
                    .opened
                    .wait(open)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            Ok(None)
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_hung_store_gets_one_lookup_however_many_requests_time_out() {
        let store = std::sync::Arc::new(HungStore::default());
        let credential = Fixture::new()
            .builder()
            .secret_store(std::sync::Arc::clone(&store))
            .secret_store_timeout(Duration::from_millis(20))
            .build()
            .expect("build");
        let first = error_of(&credential, &TokenRequestOptions::default()).await;
        assert_unavailable(&first, &["the hung store did not answer within 0.02 s", "unlock"]);
        for _ in 0..3 {
            let again = error_of(&credential, &TokenRequestOptions::default()).await;
            assert_unavailable(
                &again,
                &[
                    "the hung store did not answer within 0.02 s: an earlier request's lookup, running for",
                    "no second lookup is started while one is outstanding",
                    "`az login`",
                ],
            );
        }
        assert_eq!(
            store.lookups.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one stuck thread, not one per request"
        );
        store.release();
    }

    #[tokio::test]
    async fn the_callers_deadline_bounds_the_lookup() {
        let fixture = Fixture::new();
        fixture.store.set_delay(Some(Duration::from_secs(5)));
        let credential = fixture.build();
        let options = TokenRequestOptions::new().with_deadline(Instant::now() + Duration::from_millis(100));
        let e = error_of(&credential, &options).await;
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.message().contains("deadline"), "{e}");
    }

    #[tokio::test]
    async fn a_past_deadline_does_not_touch_the_store() {
        let fixture = Fixture::new();
        fixture.store.insert(KEYRING_SERVICE, "AzureCloud", "rt");
        let options = TokenRequestOptions::new().with_deadline(Instant::now());
        let e = error_of(&fixture.build(), &options).await;
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.message().contains("deadline had already passed"), "{e}");
        assert_eq!(fixture.store.lookups(), 0);
    }

    #[test]
    fn describe_reports_without_secrets() {
        let fixture = Fixture::new()
            .settings(r#"{"azure.cloud": "AzureChinaCloud", "azure.tenant": "contoso.onmicrosoft.com"}"#)
            .record(VALID_RECORD);
        fixture
            .store
            .insert(KEYRING_SERVICE, "AzureChinaCloud", "super-secret-rt");
        let credential = fixture.build();
        let setup = credential.describe();
        assert_eq!(setup.platform, "Linux");
        assert!(setup.settings_found);
        assert_eq!(
            setup.settings_path.as_deref(),
            Some(
                fixture
                    .home
                    .path()
                    .join(".config/Code/User/settings.json")
                    .as_path()
            )
        );
        assert_eq!(setup.cloud, "AzureChinaCloud");
        assert_eq!(setup.cloud_source, SettingSource::Settings);
        assert_eq!(setup.tenant, "contoso.onmicrosoft.com");
        assert_eq!(setup.tenant_source, SettingSource::Settings);
        assert_eq!(setup.authority.as_deref(), Some("https://login.chinacloudapi.cn"));
        assert_eq!(setup.authority_source, Some(SettingSource::Settings));
        assert_eq!(setup.secret_store_account, "AzureChinaCloud");
        assert!(setup.auth_record_found && setup.auth_record_valid);
        assert_eq!(setup.auth_record_username.as_deref(), Some("dev@contoso.com"));
        assert_eq!(
            setup.auth_record_path.as_deref(),
            Some(fixture.record_path().as_path())
        );
        assert_eq!(setup.unavailable_reason, None);
        assert_eq!(fixture.store.lookups(), 0, "describe never touches the store");
        let shown = setup.to_string();
        assert!(
            shown.contains("cloud: AzureChinaCloud (settings.json)"),
            "{shown}"
        );
        assert!(shown.contains("signed in as `dev@contoso.com`"), "{shown}");
        for text in [shown, format!("{setup:?}"), format!("{credential:?}")] {
            assert!(!text.contains("super-secret-rt"), "{text}");
        }
    }

    #[test]
    fn describe_reports_problems() {
        let fixture = Fixture::new()
            .settings(r#"{"azure.cloud": "AzureCustomCloud"}"#)
            .record("{");
        let setup = fixture.build().describe();
        assert_eq!(setup.authority, None);
        assert!(
            setup
                .unavailable_reason
                .as_deref()
                .is_some_and(|r| r.contains("custom cloud")),
            "{setup:?}"
        );
        assert!(setup.auth_record_found && !setup.auth_record_valid);
        assert!(
            setup
                .auth_record_problem
                .as_deref()
                .is_some_and(|p| p.contains("not valid JSON"))
        );
        assert!(
            setup
                .to_string()
                .contains("unavailable: the custom cloud `AzureCustomCloud` is selected")
        );

        let setup = Fixture::new().build().describe();
        assert!(!setup.settings_found && !setup.auth_record_found);
        assert_eq!(setup.settings_problem, None);
        assert_eq!(setup.tenant_source, SettingSource::Default);

        let no_home = VsCodeCredential::builder()
            .os(Os::Linux)
            .env(Env::empty())
            .secret_store(MemorySecretStore::new())
            .build()
            .expect("build");
        let setup = no_home.describe();
        assert_eq!(setup.settings_path, None);
        assert_eq!(setup.settings_problem.as_deref(), Some("`HOME` is not set"));
        assert_eq!(setup.auth_record_problem.as_deref(), Some("`HOME` is not set"));
    }
}
