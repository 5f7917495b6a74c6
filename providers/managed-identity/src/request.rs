//! The request each source expects: URL, query, headers, method and form. Pure; no I/O.

use std::fmt;

use credchain_core::http::HttpRequest;
use zeroize::Zeroizing;

use crate::source::{Source, SourceKind};

/// IMDS's API version (as MSAL and Go send; azure-identity Python `imds.py`).
pub(crate) const IMDS_API_VERSION: &str = "2018-02-01";
/// App Service's API version (`app_service.py`).
pub(crate) const APP_SERVICE_API_VERSION: &str = "2019-08-01";
/// Azure Arc's API version (`azure_arc.py`).
pub(crate) const ARC_API_VERSION: &str = "2020-06-01";
/// Azure ML's API version (`azure_ml.py`).
pub(crate) const AZURE_ML_API_VERSION: &str = "2017-09-01";
/// Service Fabric's API version (`service_fabric.py`).
pub(crate) const SERVICE_FABRIC_API_VERSION: &str = "2019-07-01-preview";

/// A user-assigned managed identity, named one of three ways. Without one, the resource's
/// system-assigned identity is used.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserAssignedId {
    /// The identity's client (application) id.
    ClientId(String),
    /// The identity's object (principal) id.
    ObjectId(String),
    /// The identity's ARM resource id (`/subscriptions/…/userAssignedIdentities/name`).
    ResourceId(String),
}

impl UserAssignedId {
    /// `"client_id"`, `"object_id"` or `"resource_id"`: the builder option that set it.
    pub fn option_name(&self) -> &'static str {
        match self {
            UserAssignedId::ClientId(_) => "client_id",
            UserAssignedId::ObjectId(_) => "object_id",
            UserAssignedId::ResourceId(_) => "resource_id",
        }
    }

    /// The id itself.
    pub fn value(&self) -> &str {
        match self {
            UserAssignedId::ClientId(v) | UserAssignedId::ObjectId(v) | UserAssignedId::ResourceId(v) => v,
        }
    }

    /// Checks the value: not blank, at most 1,024 characters, no whitespace or control characters.
    pub(crate) fn check(&self) -> Result<(), String> {
        let value = self.value();
        if value.is_empty()
            || value.len() > 1024
            || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "the managed identity `{}` must be 1 to 1024 characters without spaces or control characters",
                self.option_name()
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for UserAssignedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?})", self.option_name(), self.value())
    }
}

impl SourceKind {
    /// Whether this source can use a user-assigned identity named like `id` (`false`: it has
    /// only the system-assigned identity, or takes another kind of id). A credential built with
    /// an id the source cannot use fails with *invalid input*.
    ///
    /// ```
    /// use credchain_managed_identity::{SourceKind, UserAssignedId};
    /// let id = UserAssignedId::ClientId("app".into());
    /// assert!(SourceKind::Imds.accepts(&id));
    /// assert!(!SourceKind::CloudShell.accepts(&id));
    /// ```
    pub fn accepts(self, id: &UserAssignedId) -> bool {
        id_parameter(self, id).is_ok()
    }
}

/// The query (or form) parameter name `kind` uses for `id`.
///
/// # Errors
///
/// A message saying the source cannot take this kind of user-assigned id and what to do.
pub(crate) fn id_parameter(kind: SourceKind, id: &UserAssignedId) -> Result<&'static str, String> {
    let name = match (kind, id) {
        (SourceKind::Imds, UserAssignedId::ClientId(_)) => Some("client_id"),
        (SourceKind::Imds, UserAssignedId::ObjectId(_)) => Some("object_id"),
        (SourceKind::Imds, UserAssignedId::ResourceId(_)) => Some("msi_res_id"),
        (SourceKind::AppService, UserAssignedId::ClientId(_)) => Some("client_id"),
        (SourceKind::AppService, UserAssignedId::ObjectId(_)) => Some("object_id"),
        (SourceKind::AppService, UserAssignedId::ResourceId(_)) => Some("mi_res_id"),
        (SourceKind::AzureMl, UserAssignedId::ClientId(_)) => Some("clientid"),
        _ => None,
    };
    name.ok_or_else(|| match kind {
        SourceKind::AzureMl => format!(
            "Azure ML managed identity takes a user-assigned identity by `client_id` only, not `{}`",
            id.option_name()
        ),
        _ => format!(
            "{kind} managed identity supports only the system-assigned identity; remove the `{}` option \
             (for DefaultCredential: `managed_identity_client_id`, which defaults to `AZURE_CLIENT_ID`)",
            id.option_name()
        ),
    })
}

/// The resource for a managed identity request: the single scope without `/.default`.
///
/// # Errors
///
/// A message when there is not exactly one scope.
pub(crate) fn resource(scopes: &[&str]) -> Result<String, String> {
    match scopes {
        [scope] => Ok(scope.strip_suffix("/.default").unwrap_or(scope).to_owned()),
        _ => Err(format!(
            "managed identity takes exactly one scope, got {}; request one resource per call",
            scopes.len()
        )),
    }
}

/// The token request for `source`. `metadata_header = false` is the chain probe's form of an
/// IMDS request (Python `imds.py`: the probe omits `Metadata` so IMDS answers at once with 400).
///
/// # Errors
///
/// The message of [`id_parameter`].
pub(crate) fn token_request(
    source: &Source,
    resource: &str,
    id: Option<&UserAssignedId>,
    metadata_header: bool,
) -> Result<HttpRequest, String> {
    let id_pair = match id {
        Some(id) => Some((id_parameter(source.kind, id)?, id.value())),
        None if source.kind == SourceKind::AzureMl => {
            source.default_client_id.as_deref().map(|v| ("clientid", v))
        }
        None => None,
    };
    let secret = source.secret.as_ref().map(|s| s.expose()).unwrap_or_default();
    let with_query = |api_version: &str| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("api-version", api_version)
            .append_pair("resource", resource);
        if let Some((name, value)) = id_pair {
            query.append_pair(name, value);
        }
        let separator = if source.endpoint.contains('?') { '&' } else { '?' };
        format!("{}{separator}{}", source.endpoint, query.finish())
    };
    let request = match source.kind {
        SourceKind::Imds => {
            let request = HttpRequest::get(with_query(IMDS_API_VERSION));
            if metadata_header {
                request.with_header("Metadata", "true")
            } else {
                request
            }
        }
        SourceKind::AppService => {
            HttpRequest::get(with_query(APP_SERVICE_API_VERSION)).with_header("X-IDENTITY-HEADER", secret)
        }
        SourceKind::AzureArc => HttpRequest::get(with_query(ARC_API_VERSION)).with_header("Metadata", "true"),
        SourceKind::AzureMl => {
            HttpRequest::get(with_query(AZURE_ML_API_VERSION)).with_header("secret", secret)
        }
        SourceKind::CloudShell => {
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("resource", resource)
                .finish();
            HttpRequest::post_form(source.endpoint.clone(), Zeroizing::new(form.into_bytes()))
                .with_header("Metadata", "true")
        }
        SourceKind::ServiceFabric => {
            HttpRequest::get(with_query(SERVICE_FABRIC_API_VERSION)).with_header("Secret", secret)
        }
    };
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use credchain_core::Secret;
    use credchain_core::http::Method;

    fn source(kind: SourceKind, endpoint: &str, secret: Option<&str>) -> Source {
        Source {
            kind,
            endpoint: endpoint.to_owned(),
            secret: secret.map(Secret::new),
            default_client_id: None,
            thumbprint: None,
            variables: Vec::new(),
        }
    }

    #[test]
    fn resource_is_the_single_scope_without_default() {
        assert_eq!(
            resource(&["https://vault.azure.net/.default"]).as_deref(),
            Ok("https://vault.azure.net")
        );
        assert_eq!(resource(&["api://x"]).as_deref(), Ok("api://x"));
        assert!(
            resource(&["a/.default", "b/.default"])
                .unwrap_err()
                .contains("exactly one scope, got 2")
        );
        assert!(resource(&[]).is_err());
    }

    #[test]
    fn imds_request_and_probe_form() {
        let imds = source(
            SourceKind::Imds,
            "http://169.254.169.254/metadata/identity/oauth2/token",
            None,
        );
        let id = UserAssignedId::ResourceId("/subscriptions/s/rg/x".into());
        let request = token_request(&imds, "https://management.azure.com", Some(&id), true).expect("ok");
        assert_eq!(request.method, Method::Get);
        assert_eq!(
            request.url,
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01\
             &resource=https%3A%2F%2Fmanagement.azure.com&msi_res_id=%2Fsubscriptions%2Fs%2Frg%2Fx"
        );
        assert_eq!(request.header("Metadata"), Some("true"));
        let probe = token_request(&imds, "r", None, false).expect("ok");
        assert_eq!(probe.header("Metadata"), None);
    }

    #[test]
    fn app_service_request() {
        let app = source(
            SourceKind::AppService,
            "http://127.0.0.1:41741/MSI/token/",
            Some("hdr"),
        );
        let id = UserAssignedId::ObjectId("oid".into());
        let request = token_request(&app, "r", Some(&id), true).expect("ok");
        assert_eq!(
            request.url,
            "http://127.0.0.1:41741/MSI/token/?api-version=2019-08-01&resource=r&object_id=oid"
        );
        assert_eq!(request.header("X-IDENTITY-HEADER"), Some("hdr"));
    }

    #[test]
    fn endpoint_with_a_query_gets_an_ampersand() {
        let app = source(SourceKind::AppService, "http://h/token?x=1", Some("hdr"));
        let request = token_request(&app, "r", None, true).expect("ok");
        assert_eq!(
            request.url,
            "http://h/token?x=1&api-version=2019-08-01&resource=r"
        );
    }

    #[test]
    fn azure_ml_uses_clientid_and_its_default() {
        let mut ml = source(SourceKind::AzureMl, "http://h/token", Some("sec"));
        ml.default_client_id = Some("default-cid".into());
        let request = token_request(&ml, "r", None, true).expect("ok");
        assert_eq!(
            request.url,
            "http://h/token?api-version=2017-09-01&resource=r&clientid=default-cid"
        );
        assert_eq!(request.header("secret"), Some("sec"));
        let id = UserAssignedId::ClientId("cid".into());
        let request = token_request(&ml, "r", Some(&id), true).expect("ok");
        assert!(request.url.ends_with("&clientid=cid"), "{}", request.url);
        let err = token_request(&ml, "r", Some(&UserAssignedId::ObjectId("o".into())), true).unwrap_err();
        assert!(err.contains("`client_id` only"), "{err}");
    }

    #[test]
    fn cloud_shell_posts_a_form() {
        let shell = source(
            SourceKind::CloudShell,
            "http://localhost:50342/oauth2/token",
            None,
        );
        let request = token_request(&shell, "https://management.azure.com", None, true).expect("ok");
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url, "http://localhost:50342/oauth2/token");
        assert_eq!(&request.body[..], b"resource=https%3A%2F%2Fmanagement.azure.com");
        assert_eq!(request.header("Metadata"), Some("true"));
    }

    #[test]
    fn system_assigned_only_sources_say_so() {
        for kind in [
            SourceKind::CloudShell,
            SourceKind::AzureArc,
            SourceKind::ServiceFabric,
        ] {
            let err = id_parameter(kind, &UserAssignedId::ClientId("c".into())).unwrap_err();
            assert!(
                err.contains("supports only the system-assigned identity"),
                "{err}"
            );
        }
    }

    #[test]
    fn ids_are_checked() {
        assert!(UserAssignedId::ClientId(String::new()).check().is_err());
        assert!(UserAssignedId::ClientId("a b".into()).check().is_err());
        assert!(
            UserAssignedId::ResourceId("/subscriptions/x".into())
                .check()
                .is_ok()
        );
    }
}
