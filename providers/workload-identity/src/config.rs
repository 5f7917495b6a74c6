//! Which tenant, client and token file the credential uses: builder options first, then the
//! environment. Pure (reads only the injected `Env` and, for [`describe`], `FileSystem::is_file`).

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use credchain_core::fs::FileSystem;
use credchain_core::{Env, validate};
use credchain_entra::{AZURE_AUTHORITY_HOST, Authority};

/// `AZURE_TENANT_ID`: the tenant of the application (or user-assigned identity) federated with.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`: the client ID of that application or user-assigned managed identity.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_FEDERATED_TOKEN_FILE`: the file holding the federated token (for example the service
/// account token Kubernetes projects into the pod).
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";

/// Every variable the credential reads (the last one, the authority host, is optional).
pub const VARIABLES: [&str; 4] = [
    AZURE_TENANT_ID,
    AZURE_CLIENT_ID,
    AZURE_FEDERATED_TOKEN_FILE,
    AZURE_AUTHORITY_HOST,
];

/// Where a [`Setting`]'s value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// A builder option.
    Option,
    /// The environment variable.
    Environment,
    /// The built-in default (only the authority host has one: the public cloud).
    Default,
    /// Neither given nor set (or set to a blank value).
    Missing,
}

/// One setting as the credential sees it, for diagnostics such as `credchain doctor`. Values
/// are identifiers and paths, never secrets (the token file's contents are not read here).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Setting {
    /// The environment variable the setting is read from.
    pub variable: &'static str,
    /// The value used, if any.
    pub value: Option<String>,
    /// Where it came from.
    pub source: Source,
    /// Why the value cannot be used (blank, invalid characters, not Unicode), if so.
    pub problem: Option<String>,
}

impl Setting {
    /// `true` when the setting has a usable value.
    pub fn is_usable(&self) -> bool {
        self.value.is_some() && self.problem.is_none()
    }
}

/// What [`WorkloadIdentityCredential::describe`](crate::WorkloadIdentityCredential::describe)
/// found: every setting and whether the token file exists. Reading it never fails.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkloadIdentityInfo {
    /// `AZURE_TENANT_ID` or the `tenant_id` option.
    pub tenant_id: Setting,
    /// `AZURE_CLIENT_ID` or the `client_id` option.
    pub client_id: Setting,
    /// `AZURE_FEDERATED_TOKEN_FILE` or the `token_file_path` option.
    pub token_file: Setting,
    /// `AZURE_AUTHORITY_HOST`, the `authority` option, or the public cloud.
    pub authority_host: Setting,
    /// Whether the token file is a regular file (`None` when no path is configured).
    pub token_file_found: Option<bool>,
}

impl WorkloadIdentityInfo {
    /// The variables that are missing or unusable, in the order they are documented.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            &self.tenant_id,
            &self.client_id,
            &self.token_file,
            &self.authority_host,
        ]
        .into_iter()
        .filter(|s| !s.is_usable())
        .map(|s| s.variable)
        .collect()
    }

    /// `true` when every setting is usable (the token file may still be unreadable).
    pub fn is_configured(&self) -> bool {
        self.missing().is_empty()
    }
}

/// The builder's options, which win over the environment.
#[derive(Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) tenant_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) token_file: Option<PathBuf>,
    pub(crate) authority: Option<Authority>,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("token_file", &self.token_file)
            .field("authority", &self.authority)
            .finish()
    }
}

/// A complete configuration.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) token_file: PathBuf,
    /// How the path was given, for messages: "`AZURE_FEDERATED_TOKEN_FILE`" or "the
    /// `token_file_path` option".
    pub(crate) token_file_origin: &'static str,
}

/// Why there is no complete configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Something is not set: workload identity is not configured here (a chain moves on).
    Missing(String),
    /// Something is set but cannot work (a chain stops: the user meant to use it).
    Invalid(String),
}

/// The option names, for messages.
const TENANT_OPTION: &str = "the `tenant_id` option";
const CLIENT_OPTION: &str = "the `client_id` option";
const FILE_OPTION: &str = "the `token_file_path` option";
const FILE_VARIABLE: &str = "`AZURE_FEDERATED_TOKEN_FILE`";

fn text_setting(env: &Env, variable: &'static str, option: Option<&str>, option_name: &str) -> Setting {
    if let Some(value) = option {
        let value = value.trim();
        let problem = value.is_empty().then(|| format!("{option_name} is empty"));
        return Setting {
            variable,
            value: Some(value.to_owned()),
            source: Source::Option,
            problem,
        };
    }
    match env.var_strict(variable) {
        Ok(Some(v)) if !v.trim().is_empty() => Setting {
            variable,
            value: Some(v.trim().to_owned()),
            source: Source::Environment,
            problem: None,
        },
        Ok(Some(_)) => Setting {
            variable,
            value: None,
            source: Source::Missing,
            problem: Some(format!("`{variable}` is set but empty")),
        },
        Ok(None) => Setting {
            variable,
            value: None,
            source: Source::Missing,
            problem: None,
        },
        Err(e) => Setting {
            variable,
            value: None,
            source: Source::Environment,
            problem: Some(e),
        },
    }
}

fn tenant_setting(env: &Env, overrides: &Overrides) -> Setting {
    let mut s = text_setting(
        env,
        AZURE_TENANT_ID,
        overrides.tenant_id.as_deref(),
        TENANT_OPTION,
    );
    if s.problem.is_none()
        && let Some(v) = &s.value
        && let Err(e) = validate::tenant_id(v)
    {
        let origin = if s.source == Source::Option {
            TENANT_OPTION.to_owned()
        } else {
            format!("`{AZURE_TENANT_ID}`")
        };
        s.problem = Some(format!("{origin} is not a valid tenant ID: {e}"));
    }
    s
}

fn file_setting(env: &Env, overrides: &Overrides) -> (Setting, Option<PathBuf>) {
    let variable = AZURE_FEDERATED_TOKEN_FILE;
    let (raw, source): (Option<OsString>, Source) = match &overrides.token_file {
        Some(p) => (Some(p.clone().into_os_string()), Source::Option),
        None => (env.var_os(variable), Source::Environment),
    };
    let Some(raw) = raw else {
        let setting = Setting {
            variable,
            value: None,
            source: Source::Missing,
            problem: None,
        };
        return (setting, None);
    };
    // A path need not be Unicode; trim it only when it is text.
    let path = match raw.to_str() {
        Some(text) => PathBuf::from(text.trim()),
        None => PathBuf::from(raw),
    };
    if path.as_os_str().is_empty() {
        let problem = if source == Source::Option {
            format!("{FILE_OPTION} is empty")
        } else {
            format!("`{variable}` is set but empty")
        };
        let setting = Setting {
            variable,
            value: None,
            source: if source == Source::Option {
                source
            } else {
                Source::Missing
            },
            problem: Some(problem),
        };
        return (setting, None);
    }
    let setting = Setting {
        variable,
        value: Some(path.display().to_string()),
        source,
        problem: None,
    };
    (setting, Some(path))
}

fn authority_setting(env: &Env, overrides: &Overrides) -> Setting {
    let variable = AZURE_AUTHORITY_HOST;
    if let Some(a) = &overrides.authority {
        return Setting {
            variable,
            value: Some(a.as_str().to_owned()),
            source: Source::Option,
            problem: None,
        };
    }
    let source = if env.non_blank(variable).is_some() || env.var(variable).is_none() && env.is_set(variable) {
        Source::Environment
    } else {
        Source::Default
    };
    match Authority::from_env(env) {
        Ok(a) => Setting {
            variable,
            value: Some(a.as_str().to_owned()),
            source,
            problem: None,
        },
        Err(e) => Setting {
            variable,
            value: env.var(variable),
            source,
            problem: Some(e),
        },
    }
}

/// Every setting and whether the token file exists, without failing.
pub(crate) fn describe(env: &Env, overrides: &Overrides, fs: &dyn FileSystem) -> WorkloadIdentityInfo {
    let (token_file, path) = file_setting(env, overrides);
    WorkloadIdentityInfo {
        tenant_id: tenant_setting(env, overrides),
        client_id: text_setting(
            env,
            AZURE_CLIENT_ID,
            overrides.client_id.as_deref(),
            CLIENT_OPTION,
        ),
        token_file,
        authority_host: authority_setting(env, overrides),
        token_file_found: path.map(|p| fs.is_file(&p)),
    }
}

/// The complete configuration, or what is missing or invalid. The authority host is checked
/// when the token client is built.
pub(crate) fn resolve(env: &Env, overrides: &Overrides) -> Result<Resolved, Problem> {
    let tenant = tenant_setting(env, overrides);
    let client = text_setting(
        env,
        AZURE_CLIENT_ID,
        overrides.client_id.as_deref(),
        CLIENT_OPTION,
    );
    let (file, path) = file_setting(env, overrides);
    let settings = [&tenant, &client, &file];
    let problems: Vec<&str> = settings.iter().filter_map(|s| s.problem.as_deref()).collect();
    let missing: Vec<String> = settings
        .iter()
        .filter(|s| s.value.is_none() && s.source == Source::Missing)
        .map(|s| format!("`{}`", s.variable))
        .collect();
    // Tenant and client ID are shared with other providers: only when every piece is present
    // did the user mean workload identity, so only then does a bad value stop a chain.
    if !missing.is_empty() {
        let mut message = format!(
            "workload identity is not configured: set {} (in AKS, enable workload identity on the \
             cluster and label the pod `azure.workload.identity/use: \"true\"`; in CI, set them from \
             the OIDC token step)",
            join_and(&missing)
        );
        if !problems.is_empty() {
            message.push_str(&format!("; also {}", problems.join("; ")));
        }
        return Err(Problem::Missing(message));
    }
    if !problems.is_empty() {
        return Err(Problem::Invalid(format!(
            "workload identity is misconfigured: {}",
            problems.join("; ")
        )));
    }
    let (Some(tenant_id), Some(client_id), Some(token_file)) = (tenant.value, client.value, path) else {
        return Err(Problem::Missing("workload identity is not configured".to_owned()));
    };
    Ok(Resolved {
        tenant_id,
        client_id,
        token_file,
        token_file_origin: if file.source == Source::Option {
            FILE_OPTION
        } else {
            FILE_VARIABLE
        },
    })
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credchain_core::fs::MemoryFileSystem;

    const FULL: [(&str, &str); 3] = [
        (AZURE_TENANT_ID, "72f988bf-0000-4000-8000-000000000001"),
        (AZURE_CLIENT_ID, "11111111-2222-3333-4444-555555555555"),
        (
            AZURE_FEDERATED_TOKEN_FILE,
            "/var/run/secrets/azure/tokens/azure-identity-token",
        ),
    ];

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn complete_environment_resolves() {
        let r = resolve(&env(&FULL), &Overrides::default()).expect("complete");
        assert_eq!(r.tenant_id, FULL[0].1);
        assert_eq!(r.client_id, FULL[1].1);
        assert_eq!(r.token_file, PathBuf::from(FULL[2].1));
        assert_eq!(r.token_file_origin, FILE_VARIABLE);
    }

    #[test]
    fn options_override_the_environment() {
        let overrides = Overrides {
            tenant_id: Some("other-tenant".into()),
            client_id: Some("other-app".into()),
            token_file: Some("/tmp/token".into()),
            authority: None,
        };
        let r = resolve(&env(&FULL), &overrides).expect("complete");
        assert_eq!(
            (r.tenant_id.as_str(), r.client_id.as_str()),
            ("other-tenant", "other-app")
        );
        assert_eq!(r.token_file, PathBuf::from("/tmp/token"));
        assert_eq!(r.token_file_origin, FILE_OPTION);
        // Options alone are enough.
        assert!(resolve(&Env::empty(), &overrides).is_ok());
    }

    #[test]
    fn missing_pieces_are_named() {
        let Err(Problem::Missing(m)) = resolve(&Env::empty(), &Overrides::default()) else {
            panic!("nothing set must be missing");
        };
        assert!(
            m.contains("set `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_FEDERATED_TOKEN_FILE`"),
            "{m}"
        );
        // Tenant and client but no file: what environment / managed identity set.
        let Err(Problem::Missing(m)) = resolve(&env(&FULL[..2]), &Overrides::default()) else {
            panic!("no file must be missing");
        };
        assert!(m.contains("set `AZURE_FEDERATED_TOKEN_FILE` ("), "{m}");
        assert!(!m.contains("AZURE_TENANT_ID"), "{m}");
        // Blank counts as missing, and says so.
        let blank = env(&[FULL[0], FULL[1], (AZURE_FEDERATED_TOKEN_FILE, "  ")]);
        let Err(Problem::Missing(m)) = resolve(&blank, &Overrides::default()) else {
            panic!("blank file must be missing");
        };
        assert!(
            m.contains("also `AZURE_FEDERATED_TOKEN_FILE` is set but empty"),
            "{m}"
        );
        // A bad tenant meant for another provider does not make workload identity "invalid"
        // (which would stop a chain) while the token file is not configured.
        let Err(Problem::Missing(m)) =
            resolve(&env(&[(AZURE_TENANT_ID, "bad/tenant")]), &Overrides::default())
        else {
            panic!("no file must be missing");
        };
        assert!(
            m.contains("also `AZURE_TENANT_ID` is not a valid tenant ID"),
            "{m}"
        );
    }

    #[test]
    fn unusable_values_are_invalid_not_missing() {
        let bad_tenant = env(&[(AZURE_TENANT_ID, "bad/tenant"), FULL[1], FULL[2]]);
        let Err(Problem::Invalid(m)) = resolve(&bad_tenant, &Overrides::default()) else {
            panic!("bad tenant");
        };
        assert!(m.contains("`AZURE_TENANT_ID` is not a valid tenant ID"), "{m}");
        let blank_option = Overrides {
            client_id: Some(" ".into()),
            ..Overrides::default()
        };
        let Err(Problem::Invalid(m)) = resolve(&env(&FULL), &blank_option) else {
            panic!("blank option");
        };
        assert!(m.contains("the `client_id` option is empty"), "{m}");
    }

    #[test]
    fn describe_reports_each_setting_and_the_file() {
        let fs = MemoryFileSystem::new().with_file(FULL[2].1, "jwt");
        let info = describe(&env(&FULL), &Overrides::default(), &fs);
        assert!(info.is_configured(), "{info:?}");
        assert_eq!(info.token_file_found, Some(true));
        assert_eq!(info.tenant_id.source, Source::Environment);
        assert_eq!(info.authority_host.source, Source::Default);
        assert_eq!(
            info.authority_host.value.as_deref(),
            Some("https://login.microsoftonline.com")
        );

        let partial = env(&[FULL[1], (AZURE_AUTHORITY_HOST, "http://insecure.example")]);
        let info = describe(&partial, &Overrides::default(), &MemoryFileSystem::new());
        assert_eq!(
            info.missing(),
            [AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST]
        );
        assert_eq!(info.token_file_found, None);
        assert!(info.authority_host.problem.is_some());

        let elsewhere = env(&[FULL[0], FULL[1], (AZURE_FEDERATED_TOKEN_FILE, "/nope")]);
        let info = describe(&elsewhere, &Overrides::default(), &fs);
        assert_eq!(info.token_file_found, Some(false));
    }
}
