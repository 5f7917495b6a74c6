//! Which managed identity source the environment describes, detected in azure-identity's order
//! (`managed_identity.py` `ManagedIdentityCredential.__init__`, Go `managed_identity_client.go`).

use std::fmt;
use std::path::Path;

use credchain_core::fs::FileSystem;
use credchain_core::{Env, Secret};

/// IMDS's address on every Azure VM.
pub(crate) const IMDS_AUTHORITY: &str = "http://169.254.169.254";
/// IMDS's token path.
pub(crate) const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// The Arc agent's local endpoint when the agent is installed but `IDENTITY_ENDPOINT` is unset
/// (the address MSAL and the official Rust crate use).
pub(crate) const ARC_DEFAULT_ENDPOINT: &str = "http://localhost:40342/metadata/identity/oauth2/token";
/// The Arc agent's program on Linux; its presence means "this is an Arc-enabled server".
const ARC_HIMDS_LINUX: &str = "/opt/azcmagent/bin/himds";

/// A managed identity source: the service that hands out the tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceKind {
    /// Service Fabric (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `IDENTITY_SERVER_THUMBPRINT`).
    ServiceFabric,
    /// App Service, Functions, Container Apps (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
    AppService,
    /// An Azure Arc-enabled server (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`, or the agent installed).
    AzureArc,
    /// Azure Machine Learning (`MSI_ENDPOINT`, `MSI_SECRET`).
    AzureMl,
    /// Azure Cloud Shell (`MSI_ENDPOINT` alone).
    CloudShell,
    /// The instance metadata service of VMs and scale sets (no variables).
    Imds,
}

impl SourceKind {
    /// A short name for people: `"App Service"`, `"IMDS"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::ServiceFabric => "Service Fabric",
            SourceKind::AppService => "App Service",
            SourceKind::AzureArc => "Azure Arc",
            SourceKind::AzureMl => "Azure ML",
            SourceKind::CloudShell => "Cloud Shell",
            SourceKind::Imds => "IMDS",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A detected source: where to send requests and the secret header value, if any.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub(crate) kind: SourceKind,
    /// The token endpoint URL, without query.
    pub(crate) endpoint: String,
    /// `IDENTITY_HEADER` or `MSI_SECRET`.
    pub(crate) secret: Option<Secret>,
    /// Azure ML's `DEFAULT_IDENTITY_CLIENT_ID`, sent when no user-assigned id is configured.
    pub(crate) default_client_id: Option<String>,
    /// Service Fabric's `IDENTITY_SERVER_THUMBPRINT`: the only endpoint certificate accepted.
    pub(crate) thumbprint: Option<String>,
    /// The variables the choice was made from (names only), for `describe()`.
    pub(crate) variables: Vec<&'static str>,
}

/// Reads the variables once and picks the source, in this order: Service Fabric, App Service,
/// Azure Arc, Azure ML, Cloud Shell, IMDS.
///
/// # Errors
///
/// A message naming the variable when one is set but not Unicode or not an `http(s)` URL.
pub(crate) fn detect(env: &Env, fs: &dyn FileSystem) -> Result<Source, String> {
    let read = |name: &'static str| -> Result<Option<String>, String> {
        Ok(env
            .var_strict(name)?
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()))
    };
    let identity_endpoint = read("IDENTITY_ENDPOINT")?;
    let identity_header = read("IDENTITY_HEADER")?;
    let thumbprint = read("IDENTITY_SERVER_THUMBPRINT")?;
    let imds_endpoint = read("IMDS_ENDPOINT")?;
    let msi_endpoint = read("MSI_ENDPOINT")?;
    let msi_secret = read("MSI_SECRET")?;

    let source = |kind, endpoint: &str, name: &'static str, secret: Option<String>, variables| {
        Ok(Source {
            kind,
            endpoint: endpoint_url(name, endpoint)?,
            secret: secret.map(Secret::new),
            default_client_id: None,
            thumbprint: None,
            variables,
        })
    };
    if let (Some(endpoint), Some(header)) = (&identity_endpoint, &identity_header) {
        if let Some(thumbprint) = thumbprint {
            let mut found = source(
                SourceKind::ServiceFabric,
                endpoint,
                "IDENTITY_ENDPOINT",
                Some(header.clone()),
                vec![
                    "IDENTITY_ENDPOINT",
                    "IDENTITY_HEADER",
                    "IDENTITY_SERVER_THUMBPRINT",
                ],
            )?;
            found.thumbprint = Some(thumbprint);
            return Ok(found);
        }
        return source(
            SourceKind::AppService,
            endpoint,
            "IDENTITY_ENDPOINT",
            Some(header.clone()),
            vec!["IDENTITY_ENDPOINT", "IDENTITY_HEADER"],
        );
    }
    if let (Some(endpoint), Some(_)) = (&identity_endpoint, &imds_endpoint) {
        return source(
            SourceKind::AzureArc,
            endpoint,
            "IDENTITY_ENDPOINT",
            None,
            vec!["IDENTITY_ENDPOINT", "IMDS_ENDPOINT"],
        );
    }
    if arc_agent_installed(env, fs) {
        let (endpoint, variables) = match &identity_endpoint {
            Some(endpoint) => (endpoint.as_str(), vec!["IDENTITY_ENDPOINT"]),
            None => (ARC_DEFAULT_ENDPOINT, Vec::new()),
        };
        return source(
            SourceKind::AzureArc,
            endpoint,
            "IDENTITY_ENDPOINT",
            None,
            variables,
        );
    }
    if let Some(endpoint) = &msi_endpoint {
        if let Some(secret) = msi_secret {
            let mut found = source(
                SourceKind::AzureMl,
                endpoint,
                "MSI_ENDPOINT",
                Some(secret),
                vec!["MSI_ENDPOINT", "MSI_SECRET"],
            )?;
            found.default_client_id = read("DEFAULT_IDENTITY_CLIENT_ID")?;
            return Ok(found);
        }
        return source(
            SourceKind::CloudShell,
            endpoint,
            "MSI_ENDPOINT",
            None,
            vec!["MSI_ENDPOINT"],
        );
    }
    match read("AZURE_POD_IDENTITY_AUTHORITY_HOST")? {
        Some(host) => {
            let url = format!("{}{IMDS_TOKEN_PATH}", host.trim_end_matches('/'));
            source(
                SourceKind::Imds,
                &url,
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                None,
                vec!["AZURE_POD_IDENTITY_AUTHORITY_HOST"],
            )
        }
        None => source(
            SourceKind::Imds,
            &format!("{IMDS_AUTHORITY}{IMDS_TOKEN_PATH}"),
            "",
            None,
            Vec::new(),
        ),
    }
}

/// Whether the Azure Connected Machine agent is installed (as the official Rust crate and MSAL
/// check): `/opt/azcmagent/bin/himds`, or `%ProgramFiles%\AzureConnectedMachineAgent\himds.exe`.
fn arc_agent_installed(env: &Env, fs: &dyn FileSystem) -> bool {
    if cfg!(windows) {
        env.var("ProgramFiles").is_some_and(|dir| {
            fs.is_file(
                &Path::new(&dir)
                    .join("AzureConnectedMachineAgent")
                    .join("himds.exe"),
            )
        })
    } else {
        fs.is_file(Path::new(ARC_HIMDS_LINUX))
    }
}

/// Checks that an endpoint variable holds an absolute `http://` or `https://` URL with a host,
/// no fragment and no whitespace or control characters, so a query can be appended.
fn endpoint_url(variable: &str, value: &str) -> Result<String, String> {
    let what = if variable.is_empty() {
        String::from("the IMDS endpoint")
    } else {
        format!("`{variable}`")
    };
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .ok_or_else(|| {
            format!(
                "{what} must be an http:// or https:// URL, not `{}`",
                shown(value)
            )
        })?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty()
        || host.contains('@')
        || value.contains('#')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{what} must be an http:// or https:// URL with a host and no spaces, user name or fragment, not `{}`",
            shown(value)
        ));
    }
    Ok(value.to_owned())
}

/// A value for an error message: control characters replaced, at most 200 characters, and
/// nothing at all when it may hold a password (`user:password@host`).
fn shown(value: &str) -> String {
    if value.contains('@') {
        return String::from("<a URL with a user name, not shown>");
    }
    value
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use credchain_core::fs::MemoryFileSystem;

    fn detect_from(pairs: &[(&str, &str)]) -> Result<Source, String> {
        detect(&Env::from_pairs(pairs.iter().copied()), &MemoryFileSystem::new())
    }

    #[test]
    fn the_issue_order_is_followed() {
        let all = [
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/MSI/token/"),
            ("IDENTITY_HEADER", "h"),
            ("IDENTITY_SERVER_THUMBPRINT", "AB"),
            ("IMDS_ENDPOINT", "http://localhost:40342"),
            ("MSI_ENDPOINT", "http://localhost:50342/oauth2/token"),
            ("MSI_SECRET", "s"),
        ];
        let expected = [
            SourceKind::ServiceFabric,
            SourceKind::AppService,
            SourceKind::AzureArc,
            SourceKind::AzureMl,
            SourceKind::CloudShell,
            SourceKind::Imds,
        ];
        // Drop the variable that selected each source in turn: the next source is chosen.
        let drops: [&[&str]; 6] = [
            &[],
            &["IDENTITY_SERVER_THUMBPRINT"],
            &["IDENTITY_SERVER_THUMBPRINT", "IDENTITY_HEADER"],
            &[
                "IDENTITY_SERVER_THUMBPRINT",
                "IDENTITY_HEADER",
                "IDENTITY_ENDPOINT",
            ],
            &[
                "IDENTITY_SERVER_THUMBPRINT",
                "IDENTITY_HEADER",
                "IDENTITY_ENDPOINT",
                "MSI_SECRET",
            ],
            &[
                "IDENTITY_SERVER_THUMBPRINT",
                "IDENTITY_HEADER",
                "IDENTITY_ENDPOINT",
                "MSI_SECRET",
                "MSI_ENDPOINT",
            ],
        ];
        for (drop, kind) in drops.iter().zip(expected) {
            let pairs: Vec<_> = all.iter().copied().filter(|(k, _)| !drop.contains(k)).collect();
            assert_eq!(detect_from(&pairs).expect("valid").kind, kind, "without {drop:?}");
        }
    }

    #[test]
    fn imds_default_and_pod_identity_host() {
        let source = detect_from(&[]).expect("valid");
        assert_eq!(
            source.endpoint,
            "http://169.254.169.254/metadata/identity/oauth2/token"
        );
        assert!(source.variables.is_empty());
        let source =
            detect_from(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://10.0.0.1:2579/")]).expect("valid");
        assert_eq!(
            source.endpoint,
            "http://10.0.0.1:2579/metadata/identity/oauth2/token"
        );
        assert_eq!(source.variables, ["AZURE_POD_IDENTITY_AUTHORITY_HOST"]);
    }

    #[test]
    fn arc_agent_installed_without_variables() {
        let fs = MemoryFileSystem::new().with_file(ARC_HIMDS_LINUX, "elf");
        if cfg!(windows) {
            return;
        }
        let source = detect(&Env::empty(), &fs).expect("valid");
        assert_eq!(source.kind, SourceKind::AzureArc);
        assert_eq!(source.endpoint, ARC_DEFAULT_ENDPOINT);
    }

    #[test]
    fn azure_ml_reads_the_default_client_id() {
        let source = detect_from(&[
            ("MSI_ENDPOINT", "http://127.0.0.1:1/token"),
            ("MSI_SECRET", "s"),
            ("DEFAULT_IDENTITY_CLIENT_ID", "cid"),
        ])
        .expect("valid");
        assert_eq!(source.default_client_id.as_deref(), Some("cid"));
    }

    #[test]
    fn blank_variables_count_as_unset() {
        let source = detect_from(&[
            ("IDENTITY_ENDPOINT", " "),
            ("IDENTITY_HEADER", "h"),
            ("MSI_ENDPOINT", ""),
        ]);
        assert_eq!(source.expect("valid").kind, SourceKind::Imds);
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_variable_name() {
        for bad in [
            "ftp://x/",
            "http://",
            "http://a b/",
            "http://u:p@host/",
            "http://h/#frag",
            "file:///etc/passwd",
        ] {
            let err = detect_from(&[("MSI_ENDPOINT", bad)]).expect_err(bad);
            assert!(err.contains("`MSI_ENDPOINT`"), "{err}");
            assert!(
                !err.contains(":p@"),
                "a password in the URL is never shown: {err}"
            );
        }
        let err = detect_from(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "10.0.0.1")]).expect_err("no scheme");
        assert!(err.contains("AZURE_POD_IDENTITY_AUTHORITY_HOST"), "{err}");
    }
}
