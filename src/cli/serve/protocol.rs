//! The App Service managed identity protocol (api-version 2019-08-01), as a pure function from a
//! request's parts to either a refusal or the scope to fetch, plus the JSON bodies.
//!
//! `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R` with `X-IDENTITY-HEADER` →
//! `200 {"access_token", "expires_on" (epoch seconds as a string), "resource", "token_type"}`,
//! as azure-identity's `ManagedIdentityCredential` App Service source sends and parses it
//! (Python: `azure/identity/_credentials/app_service.py`, `_internal/managed_identity_client.py`).
//! Errors carry `{"statusCode", "message"}`, the shape the App Service endpoint uses.

use hyper::{Method, StatusCode};
use serde_json::json;

use super::secret::HeaderSecret;

/// The path `IDENTITY_ENDPOINT` names; every other path is 404.
pub(crate) const TOKEN_PATH: &str = "/msi/token";
/// The one api-version served.
pub(crate) const API_VERSION: &str = "2019-08-01";
/// The header holding the secret.
pub(crate) const IDENTITY_HEADER: &str = "x-identity-header";
/// The longest query string accepted (a resource URI is far shorter).
const MAX_QUERY: usize = 2048;
/// Parameters that choose a user-assigned identity (App Service, MSAL, Go's spelling).
const USER_ASSIGNED: [&str; 5] = [
    "client_id",
    "object_id",
    "principal_id",
    "mi_res_id",
    "msi_res_id",
];

/// What the server needs from a request to decide on it.
#[derive(Debug)]
pub(crate) struct RequestParts<'a> {
    /// The method.
    pub(crate) method: &'a Method,
    /// The path, without the query.
    pub(crate) path: &'a str,
    /// The raw query string, if any.
    pub(crate) query: Option<&'a str>,
    /// Every `X-IDENTITY-HEADER` value sent.
    pub(crate) identity_headers: Vec<&'a [u8]>,
    /// Whether the request announces a body (`Content-Length` > 0 or `Transfer-Encoding`).
    pub(crate) has_body: bool,
}

/// The server's decision on a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Answer with this status and message; no token is fetched.
    Refuse(StatusCode, String),
    /// Fetch a token for `scope` and answer with `resource` echoed.
    Fetch {
        /// The `resource` parameter as sent.
        resource: String,
        /// The scope asked of the chain: `resource/.default` (kept when already a `.default` scope).
        scope: String,
    },
}

/// Decides on a request. The method and path are checked first (405, 404), then the secret,
/// before the query is even read: a caller without the secret learns nothing about the query's
/// rules or the chain.
pub(crate) fn decide(request: &RequestParts<'_>, secret: &HeaderSecret) -> Decision {
    let refuse = |status, message: &str| Decision::Refuse(status, message.to_owned());
    if request.method != Method::GET {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET is served: GET /msi/token?api-version=2019-08-01&resource=RESOURCE",
        );
    }
    if request.path != TOKEN_PATH {
        return refuse(
            StatusCode::NOT_FOUND,
            "not found: tokens are served at /msi/token (use IDENTITY_ENDPOINT as printed)",
        );
    }
    match request.identity_headers.as_slice() {
        [] => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the X-IDENTITY-HEADER header is missing: send the IDENTITY_HEADER value printed at start",
            );
        }
        [sent] if secret.matches(sent) => {}
        _ => {
            return refuse(
                StatusCode::FORBIDDEN,
                "the X-IDENTITY-HEADER value is wrong: send the IDENTITY_HEADER value printed at start",
            );
        }
    }
    if request.has_body {
        return refuse(StatusCode::BAD_REQUEST, "a token request has no body");
    }
    let query = request.query.unwrap_or("");
    if query.len() > MAX_QUERY {
        return refuse(StatusCode::URI_TOO_LONG, "the query string is too long");
    }
    let mut api_version = None;
    let mut resource = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "api-version" => &mut api_version,
            "resource" => &mut resource,
            name if USER_ASSIGNED.contains(&name) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "user-assigned identities are not served: credchain serve gives the default \
                     chain's identity only; drop the client_id/object_id/mi_res_id parameter",
                );
            }
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return refuse(StatusCode::BAD_REQUEST, "a query parameter is repeated");
        }
    }
    match api_version.as_deref() {
        Some(API_VERSION) => {}
        Some(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "unsupported api-version: only 2019-08-01 is served",
            );
        }
        None => return refuse(StatusCode::BAD_REQUEST, "the api-version parameter is missing"),
    }
    let Some(resource) = resource.filter(|r| !r.is_empty()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the resource parameter is missing, e.g. resource=https://management.azure.com",
        );
    };
    let scope = if resource.ends_with("/.default") {
        resource.clone()
    } else {
        format!("{resource}/.default")
    };
    if let Err(reason) = credchain::validate::scope(&scope) {
        return Decision::Refuse(StatusCode::BAD_REQUEST, reason);
    }
    Decision::Fetch { resource, scope }
}

/// The success body.
pub(crate) fn token_body(token: &str, expires_on: i64, resource: &str, token_type: &str) -> String {
    json!({
        "access_token": token,
        "expires_on": expires_on.to_string(),
        "resource": resource,
        "token_type": token_type,
    })
    .to_string()
}

/// An error body in the App Service shape.
pub(crate) fn error_body(status: StatusCode, message: &str) -> String {
    json!({ "statusCode": status.as_u16(), "message": message }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> HeaderSecret {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s");
        std::fs::write(&path, "0123456789abcdefghijklmnop").expect("write");
        HeaderSecret::from_file(&path).expect("valid")
    }

    fn get(query: &str, header: Option<&'static [u8]>) -> RequestParts<'static> {
        RequestParts {
            method: &Method::GET,
            path: TOKEN_PATH,
            query: Some(Box::leak(query.to_owned().into_boxed_str())),
            identity_headers: header.into_iter().collect(),
            has_body: false,
        }
    }

    const GOOD: &[u8] = b"0123456789abcdefghijklmnop";
    const ARM_QUERY: &str = "api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com";

    fn status(decision: Decision) -> StatusCode {
        match decision {
            Decision::Refuse(status, _) => status,
            Decision::Fetch { .. } => StatusCode::OK,
        }
    }

    #[test]
    fn a_good_request_asks_for_the_default_scope() {
        assert_eq!(
            decide(&get(ARM_QUERY, Some(GOOD)), &secret()),
            Decision::Fetch {
                resource: "https://management.azure.com".to_owned(),
                scope: "https://management.azure.com/.default".to_owned()
            }
        );
        let Decision::Fetch { scope, .. } = decide(
            &get("api-version=2019-08-01&resource=api://x/.default", Some(GOOD)),
            &secret(),
        ) else {
            panic!("fetch")
        };
        assert_eq!(scope, "api://x/.default");
    }

    #[test]
    fn missing_header_is_401_and_wrong_header_is_403() {
        let s = secret();
        assert_eq!(
            status(decide(&get(ARM_QUERY, None), &s)),
            StatusCode::UNAUTHORIZED
        );
        for wrong in [
            &b"0123456789abcdefghijklmnoX"[..],
            b"",
            b"0123456789abcdefghijklmnop ",
        ] {
            let mut request = get(ARM_QUERY, None);
            request.identity_headers.push(wrong);
            assert_eq!(status(decide(&request, &s)), StatusCode::FORBIDDEN, "{wrong:?}");
        }
        // Two headers, one right: refused, not "any of them".
        let mut request = get(ARM_QUERY, Some(GOOD));
        request.identity_headers.push(b"other");
        assert_eq!(status(decide(&request, &s)), StatusCode::FORBIDDEN);
    }

    #[test]
    fn the_header_is_checked_before_the_query() {
        assert_eq!(
            status(decide(&get("junk", Some(b"nope")), &secret())),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn only_get_on_the_token_path_without_a_body() {
        let s = secret();
        for method in [
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::HEAD,
            Method::OPTIONS,
        ] {
            let mut request = get(ARM_QUERY, Some(GOOD));
            request.method = Box::leak(Box::new(method));
            assert_eq!(status(decide(&request, &s)), StatusCode::METHOD_NOT_ALLOWED);
        }
        let mut request = get(ARM_QUERY, Some(GOOD));
        request.path = "/metadata/identity/oauth2/token";
        assert_eq!(status(decide(&request, &s)), StatusCode::NOT_FOUND);
        let mut request = get(ARM_QUERY, Some(GOOD));
        request.has_body = true;
        assert_eq!(status(decide(&request, &s)), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn bad_queries_are_400() {
        let s = secret();
        for query in [
            "",
            "resource=https://management.azure.com",
            "api-version=2017-09-01&resource=https://management.azure.com",
            "api-version=2019-08-01",
            "api-version=2019-08-01&resource=",
            "api-version=2019-08-01&resource=bad%20scope",
            "api-version=2019-08-01&resource=a&resource=b",
            "api-version=2019-08-01&resource=https://vault.azure.net&client_id=abc",
            "api-version=2019-08-01&resource=https://vault.azure.net&mi_res_id=abc",
            "api-version=2019-08-01&resource=%FF%FE",
        ] {
            assert_eq!(
                status(decide(&get(query, Some(GOOD)), &s)),
                StatusCode::BAD_REQUEST,
                "{query}"
            );
        }
        let long = format!("{ARM_QUERY}&x={}", "a".repeat(3000));
        assert_eq!(
            status(decide(&get(&long, Some(GOOD)), &s)),
            StatusCode::URI_TOO_LONG
        );
    }

    #[test]
    fn bodies_have_the_protocol_shape() {
        let ok: serde_json::Value =
            serde_json::from_str(&token_body("tok", 1700000000, "https://r", "Bearer")).expect("json");
        assert_eq!(ok["expires_on"], "1700000000");
        assert_eq!(ok["access_token"], "tok");
        assert_eq!(ok["resource"], "https://r");
        assert_eq!(ok["token_type"], "Bearer");
        let err: serde_json::Value =
            serde_json::from_str(&error_body(StatusCode::FORBIDDEN, "no")).expect("json");
        assert_eq!(err, json!({"statusCode": 403, "message": "no"}));
    }
}
