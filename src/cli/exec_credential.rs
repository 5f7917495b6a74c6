//! `credchain token --output exec-credential`: kubectl's client-go credential plugin format.
//!
//! kubectl runs the plugin with `KUBERNETES_EXEC_INFO` holding an `ExecCredential` whose
//! `apiVersion` the answer must repeat (`client.authentication.k8s.io/v1` or `/v1beta1`); the
//! answer's `status.expirationTimestamp` (RFC 3339) is always set, because client-go keeps a
//! credential without one for the life of the process and never runs the plugin again
//! (kubernetes/client-go `plugin/pkg/client/auth/exec/exec.go`).

use serde_json::{Value, json};

/// The variable kubectl sets for the plugin.
pub(crate) const EXEC_INFO_VAR: &str = "KUBERNETES_EXEC_INFO";
/// The apiVersion used when kubectl did not say (run by hand, or an old kubectl).
const DEFAULT_API_VERSION: &str = "client.authentication.k8s.io/v1";
/// The apiVersions client-go accepts from exec plugins today.
const API_VERSIONS: [&str; 2] = [
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
];

/// The apiVersion to answer with, from `KUBERNETES_EXEC_INFO`'s value (`None` when unset).
pub(crate) fn api_version(exec_info: Option<&str>) -> Result<&'static str, String> {
    let Some(text) = exec_info.filter(|t| !t.trim().is_empty()) else {
        return Ok(DEFAULT_API_VERSION);
    };
    let info: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "{EXEC_INFO_VAR} is not JSON ({e}); kubectl sets it, so unset it when running credchain by hand"
        )
    })?;
    let asked = info.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    API_VERSIONS
        .iter()
        .find(|known| **known == asked)
        .copied()
        .ok_or_else(|| {
            format!(
                "{EXEC_INFO_VAR} asks for apiVersion `{}`; credchain answers {} only: set the \
                 kubeconfig's `users[].user.exec.apiVersion` to one of them",
                super::terminal::clean(asked),
                API_VERSIONS.join(" or ")
            )
        })
}

/// The ExecCredential document for `token`, expiring at `expires_on` (Unix seconds).
pub(crate) fn document(api_version: &str, token: &str, expires_on: i64) -> String {
    let expiry = jiff::Timestamp::from_second(expires_on)
        .unwrap_or(jiff::Timestamp::MAX)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "status": { "token": token, "expirationTimestamp": expiry },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_follows_kubectl() {
        assert_eq!(api_version(None), Ok("client.authentication.k8s.io/v1"));
        assert_eq!(api_version(Some(" ")), Ok("client.authentication.k8s.io/v1"));
        let info = |v: &str| {
            format!(r#"{{"kind":"ExecCredential","apiVersion":"{v}","spec":{{"interactive":false}}}}"#)
        };
        assert_eq!(
            api_version(Some(&info("client.authentication.k8s.io/v1beta1"))),
            Ok("client.authentication.k8s.io/v1beta1")
        );
        assert_eq!(
            api_version(Some(&info("client.authentication.k8s.io/v1"))),
            Ok("client.authentication.k8s.io/v1")
        );
        let err = api_version(Some(&info("client.authentication.k8s.io/v1alpha1"))).unwrap_err();
        assert!(
            err.contains("v1alpha1") && err.contains("users[].user.exec.apiVersion"),
            "{err}"
        );
        assert!(api_version(Some("{not json")).unwrap_err().contains("not JSON"));
        assert!(api_version(Some("{}")).is_err());
    }

    #[test]
    fn document_always_has_an_rfc3339_utc_expiry() {
        let doc: Value =
            serde_json::from_str(&document("client.authentication.k8s.io/v1", "tok", 4070908800))
                .expect("json");
        assert_eq!(
            doc,
            json!({
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "status": {"token": "tok", "expirationTimestamp": "2099-01-01T00:00:00Z"}
            })
        );
        // Out of range: still a valid timestamp, never a missing one.
        let doc: Value = serde_json::from_str(&document("v", "t", i64::MAX)).expect("json");
        assert!(
            doc["status"]["expirationTimestamp"]
                .as_str()
                .expect("set")
                .ends_with('Z')
        );
    }
}
