//! The managed identity endpoints' rules, as pure functions: what each source checks and what it
//! answers. Used by [`FakeManagedIdentity`](crate::FakeManagedIdentity).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::reply::Reply;
use crate::state::Incoming;

/// The managed identity source a [`FakeManagedIdentity`](crate::FakeManagedIdentity) plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MiSource {
    /// The VM instance metadata service.
    Imds,
    /// App Service, Functions, Container Apps.
    AppService,
    /// The Azure Arc agent.
    AzureArc,
    /// Azure Machine Learning.
    AzureMl,
    /// Azure Cloud Shell.
    CloudShell,
    /// Service Fabric: HTTPS with a self-signed certificate the client pins by thumbprint.
    ServiceFabric,
}

impl MiSource {
    /// The path the fake serves tokens on.
    pub(crate) fn path(self) -> &'static str {
        match self {
            MiSource::Imds | MiSource::AzureArc | MiSource::ServiceFabric => {
                "/metadata/identity/oauth2/token"
            }
            MiSource::AppService => "/msi/token",
            MiSource::AzureMl => "/token",
            MiSource::CloudShell => "/oauth2/token",
        }
    }
}

/// One managed identity the fake knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) client_id: String,
    pub(crate) object_id: String,
    pub(crate) resource_id: String,
}

/// What the fake serves.
#[derive(Clone, Debug)]
pub(crate) struct MiConfig {
    pub(crate) source: MiSource,
    /// `X-IDENTITY-HEADER` (App Service) or `secret` (Azure ML).
    pub(crate) secret: String,
    pub(crate) system: Option<Identity>,
    pub(crate) user_assigned: Vec<Identity>,
    pub(crate) arc_key_path: String,
    pub(crate) arc_key: String,
    pub(crate) token_lifetime: Duration,
    /// When set, the time (Unix seconds) every answer is computed at, instead of the clock.
    pub(crate) fixed_now: Option<u64>,
}

/// The answer to `incoming` at `now` (Unix seconds), and the token issued, if any.
pub(crate) fn handle(
    config: &MiConfig,
    incoming: &Incoming,
    now: u64,
    token: &str,
) -> (Reply, Option<String>) {
    if incoming.path.trim_end_matches('/') != config.source.path().trim_end_matches('/') {
        return (
            Reply::json(
                404,
                &json!({"error": "not_found", "error_description": "no such endpoint"}),
            ),
            None,
        );
    }
    match checked(config, incoming) {
        Err(reply) => (reply, None),
        Ok((identity, resource)) => (
            token_reply(config, &identity, &resource, now, token),
            Some(token.to_owned()),
        ),
    }
}

/// IMDS and Arc's error shape.
fn imds_error(status: u16, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": "invalid_request", "error_description": description}),
    )
}

/// App Service's error shape.
fn app_service_error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"statusCode": status, "message": message, "correlationId": uuid::Uuid::new_v4().to_string()}),
    )
}

/// Service Fabric's error shape.
fn service_fabric_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"correlationId": uuid::Uuid::new_v4().to_string(), "code": code, "message": message}}),
    )
}

fn header<'a>(incoming: &'a Incoming, name: &str) -> Option<&'a str> {
    incoming.headers.get(name).map(String::as_str)
}

/// Checks the request as the real source does; the identity and resource, or the error reply.
fn checked(config: &MiConfig, incoming: &Incoming) -> Result<(Identity, String), Reply> {
    let q = &incoming.query;
    let source = config.source;
    let method_ok = match source {
        MiSource::CloudShell => incoming.method == "POST",
        _ => incoming.method == "GET",
    };
    if !method_ok {
        return Err(imds_error(405, "method not allowed"));
    }
    match source {
        MiSource::Imds | MiSource::AzureArc | MiSource::CloudShell => {
            if header(incoming, "metadata") != Some("true") {
                return Err(imds_error(400, "Required metadata header not specified"));
            }
        }
        MiSource::AppService => {
            if header(incoming, "x-identity-header") != Some(config.secret.as_str()) {
                return Err(app_service_error(401, "X-IDENTITY-HEADER is missing or wrong"));
            }
        }
        MiSource::AzureMl => {
            if header(incoming, "secret") != Some(config.secret.as_str()) {
                return Err(app_service_error(401, "secret header is missing or wrong"));
            }
        }
        MiSource::ServiceFabric => {
            if header(incoming, "secret") != Some(config.secret.as_str()) {
                return Err(service_fabric_error(
                    401,
                    "SecretHeaderNotFound",
                    "Secret is not found in the request headers.",
                ));
            }
        }
    }
    if source == MiSource::AzureArc {
        let expected = format!("Basic {}", config.arc_key);
        match header(incoming, "authorization") {
            None => {
                return Err(
                    imds_error(401, "Unauthorized: provide the key file's contents").header(
                        "WWW-Authenticate",
                        &format!("Basic realm={}", config.arc_key_path),
                    ),
                );
            }
            Some(given) if given != expected => return Err(imds_error(401, "Unauthorized: wrong key")),
            Some(_) => {}
        }
    }
    let (api_version, resource) = match source {
        MiSource::CloudShell => (None, incoming.form.get("resource")),
        _ => (Some(q.get("api-version")), q.get("resource")),
    };
    // The versions client libraries send: IMDS gets 2018-02-01 from azure-identity (Python, Go)
    // and MSAL, and 2019-08-01 from the official Rust crate (`virtual_machine_managed_identity_credential.rs`).
    let wanted_versions: &[&str] = match source {
        MiSource::Imds => &["2018-02-01", "2019-08-01"],
        MiSource::AppService => &["2019-08-01"],
        MiSource::AzureArc => &["2020-06-01"],
        MiSource::AzureMl => &["2017-09-01"],
        MiSource::ServiceFabric => &["2019-07-01-preview"],
        MiSource::CloudShell => &[],
    };
    if let Some(given) = api_version {
        let error = |text: &str| match source {
            MiSource::AppService | MiSource::AzureMl => app_service_error(400, text),
            _ => imds_error(400, text),
        };
        match given {
            None => return Err(error("Required query variable 'api-version' is missing")),
            // This fake accepts only the versions client libraries send.
            Some(v) if !wanted_versions.contains(&v.as_str()) => {
                return Err(error(&format!(
                    "Invalid api-version {v}; this fake serves {}",
                    wanted_versions.join(", ")
                )));
            }
            Some(_) => {}
        }
    }
    let Some(resource) = resource.filter(|r| !r.is_empty()).cloned() else {
        return Err(imds_error(400, "Required query variable 'resource' is missing"));
    };
    let identity = identity(config, q)?;
    Ok((identity, resource))
}

/// Reads one id field of an identity.
type Field = fn(&Identity) -> &str;

/// The identity named by the query's user-assigned parameters, or the system-assigned one.
fn identity(config: &MiConfig, q: &BTreeMap<String, String>) -> Result<Identity, Reply> {
    let names: &[(&str, Field)] = match config.source {
        MiSource::Imds => &[
            ("client_id", |i| &i.client_id),
            ("object_id", |i| &i.object_id),
            ("msi_res_id", |i| &i.resource_id),
        ],
        MiSource::AppService => &[
            ("client_id", |i| &i.client_id),
            ("object_id", |i| &i.object_id),
            ("principal_id", |i| &i.object_id),
            ("mi_res_id", |i| &i.resource_id),
        ],
        MiSource::AzureMl => &[("clientid", |i| &i.client_id)],
        MiSource::AzureArc | MiSource::CloudShell | MiSource::ServiceFabric => &[],
    };
    let not_found = || match config.source {
        MiSource::AppService | MiSource::AzureMl => {
            app_service_error(400, "Unable to load the proper Managed Identity.")
        }
        _ => imds_error(400, "Identity not found"),
    };
    let given: Vec<(&str, &str, Field)> = names
        .iter()
        .filter_map(|(name, field)| q.get(*name).map(|v| (*name, v.as_str(), *field)))
        .collect();
    match given.as_slice() {
        [] => config.system.clone().ok_or_else(not_found),
        [(_, value, field)] => config
            .user_assigned
            .iter()
            .find(|i| field(i).eq_ignore_ascii_case(value))
            .cloned()
            .ok_or_else(not_found),
        _ => Err(imds_error(
            400,
            "Only one of client_id, object_id and the resource id may be given",
        )),
    }
}

/// A token response in the source's own shape.
fn token_reply(config: &MiConfig, identity: &Identity, resource: &str, now: u64, token: &str) -> Reply {
    let lifetime = config.token_lifetime.as_secs();
    let expires_on = (now + lifetime).to_string();
    let body: Value = match config.source {
        MiSource::Imds | MiSource::AzureArc => json!({
            "access_token": token,
            "client_id": identity.client_id,
            "expires_in": lifetime.to_string(),
            "expires_on": expires_on,
            "ext_expires_in": lifetime.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
        MiSource::AppService => json!({
            "access_token": token,
            "expires_on": expires_on,
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }),
        MiSource::AzureMl => json!({
            "access_token": token,
            "expires_on": expires_on,
            "resource": resource,
            "token_type": "Bearer",
        }),
        MiSource::ServiceFabric => json!({
            "token_type": "Bearer",
            "access_token": token,
            "expires_on": now + lifetime,
            "resource": resource,
        }),
        MiSource::CloudShell => json!({
            "access_token": token,
            "expires_in": lifetime.to_string(),
            "expires_on": expires_on,
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    };
    Reply::json(200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: MiSource) -> MiConfig {
        let id = |n: &str| Identity {
            client_id: format!("{n}-client"),
            object_id: format!("{n}-object"),
            resource_id: format!("/subscriptions/s/{n}"),
        };
        MiConfig {
            source,
            secret: "sec".into(),
            system: Some(id("system")),
            user_assigned: vec![id("user")],
            arc_key_path: "/var/opt/azcmagent/tokens/k.key".into(),
            arc_key: "key".into(),
            token_lifetime: Duration::from_secs(3600),
            fixed_now: None,
        }
    }

    fn get(source: MiSource, query: &[(&str, &str)], headers: &[(&str, &str)]) -> Incoming {
        Incoming {
            method: if source == MiSource::CloudShell {
                "POST"
            } else {
                "GET"
            }
            .into(),
            path: source.path().into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            form: BTreeMap::new(),
        }
    }

    #[test]
    fn imds_rules() {
        let c = config(MiSource::Imds);
        let q = [("api-version", "2018-02-01"), ("resource", "r")];
        let (reply, _) = handle(&c, &get(MiSource::Imds, &q, &[]), 0, "t");
        assert_eq!(
            (reply.status, reply.body_json()["error_description"].as_str()),
            (400, Some("Required metadata header not specified"))
        );
        let (reply, issued) = handle(&c, &get(MiSource::Imds, &q, &[("metadata", "true")]), 10, "t");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body_json()["client_id"], "system-client");
        assert_eq!(reply.body_json()["expires_on"], "3610");
        assert_eq!(issued.as_deref(), Some("t"));
        let q = [
            ("api-version", "2018-02-01"),
            ("resource", "r"),
            ("msi_res_id", "/subscriptions/s/user"),
        ];
        let (reply, _) = handle(&c, &get(MiSource::Imds, &q, &[("metadata", "true")]), 0, "t");
        assert_eq!(reply.body_json()["client_id"], "user-client");
        let q = [
            ("api-version", "2018-02-01"),
            ("resource", "r"),
            ("client_id", "nobody"),
        ];
        let (reply, _) = handle(&c, &get(MiSource::Imds, &q, &[("metadata", "true")]), 0, "t");
        assert_eq!(
            (reply.status, reply.body_json()["error_description"].as_str()),
            (400, Some("Identity not found"))
        );
    }

    #[test]
    fn imds_takes_the_versions_clients_send() {
        let c = config(MiSource::Imds);
        let status = |version: &str| {
            let q = [("api-version", version), ("resource", "r")];
            handle(&c, &get(MiSource::Imds, &q, &[("metadata", "true")]), 0, "t")
                .0
                .status
        };
        assert_eq!(status("2018-02-01"), 200);
        assert_eq!(status("2019-08-01"), 200, "the official Rust crate's version");
        assert_eq!(status("2017-09-01"), 400);
    }

    #[test]
    fn service_fabric_rules() {
        let c = config(MiSource::ServiceFabric);
        let q = [("api-version", "2019-07-01-preview"), ("resource", "r")];
        let (reply, _) = handle(
            &c,
            &get(MiSource::ServiceFabric, &q, &[("secret", "bad")]),
            0,
            "t",
        );
        assert_eq!(
            (reply.status, reply.body_json()["error"]["code"].as_str()),
            (401, Some("SecretHeaderNotFound"))
        );
        let (reply, issued) = handle(
            &c,
            &get(MiSource::ServiceFabric, &q, &[("secret", "sec")]),
            10,
            "t",
        );
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.body_json()["expires_on"],
            3610,
            "a number, as Service Fabric sends"
        );
        assert_eq!(issued.as_deref(), Some("t"));
        let old = [("api-version", "2019-08-01"), ("resource", "r")];
        assert_eq!(
            handle(
                &c,
                &get(MiSource::ServiceFabric, &old, &[("secret", "sec")]),
                0,
                "t"
            )
            .0
            .status,
            400
        );
    }

    #[test]
    fn arc_challenge() {
        let c = config(MiSource::AzureArc);
        let q = [("api-version", "2020-06-01"), ("resource", "r")];
        let (reply, _) = handle(&c, &get(MiSource::AzureArc, &q, &[("metadata", "true")]), 0, "t");
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.header_value("www-authenticate"),
            Some("Basic realm=/var/opt/azcmagent/tokens/k.key")
        );
        let with_key = [("metadata", "true"), ("authorization", "Basic key")];
        assert_eq!(
            handle(&c, &get(MiSource::AzureArc, &q, &with_key), 0, "t")
                .0
                .status,
            200
        );
    }

    #[test]
    fn app_service_header_and_identity() {
        let c = config(MiSource::AppService);
        let q = [
            ("api-version", "2019-08-01"),
            ("resource", "r"),
            ("object_id", "user-object"),
        ];
        assert_eq!(
            handle(
                &c,
                &get(MiSource::AppService, &q, &[("x-identity-header", "bad")]),
                0,
                "t"
            )
            .0
            .status,
            401
        );
        let (reply, _) = handle(
            &c,
            &get(MiSource::AppService, &q, &[("x-identity-header", "sec")]),
            0,
            "t",
        );
        assert_eq!(reply.body_json()["client_id"], "user-client");
    }
}
