//! The fake's configuration, mutable state and request handling, free of any I/O so it can be
//! unit-tested directly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::entra_error::EntraError;
use crate::federation::{self, FederatedCredential};
use crate::jwt::{self, JWT_BEARER, RegisteredCert};
use crate::record::RecordedRequest;
use crate::reply::Reply;

/// Tenant names that are not tenants but ask Entra to pick the user's home tenant.
const TENANT_ALIASES: [&str; 3] = ["common", "organizations", "consumers"];
/// Scopes that request OpenID Connect extras rather than a resource.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];
/// The username a refresh token stands for when no user is registered for its client.
const DEFAULT_USERNAME: &str = "user@fake-entra.test";

/// An ARM subscription served by `GET /subscriptions`.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) tenant: String,
}

/// A username/password pair registered for a public client.
#[derive(Clone)]
pub(crate) struct User {
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) password: String,
}

/// Everything the builder collected; fixed once the server runs. `Debug` omits secrets,
/// passwords and refresh tokens.
#[derive(Clone, Default)]
pub(crate) struct Config {
    /// `https://127.0.0.1:PORT`, set when the listener is bound.
    pub(crate) authority: String,
    /// Known tenants, lower-cased, in registration order (the first is the "home" tenant).
    pub(crate) tenants: Vec<String>,
    /// Client secrets by (tenant, client id).
    pub(crate) secrets: HashMap<(String, String), Vec<String>>,
    /// Client certificates by (tenant, client id).
    pub(crate) certs: HashMap<(String, String), Vec<RegisteredCert>>,
    /// Federated identity credentials (issuer, subject) by (tenant, client id).
    pub(crate) federated: HashMap<(String, String), Vec<FederatedCredential>>,
    /// (client id, refresh token) pairs registered up front.
    pub(crate) refresh_tokens: Vec<(String, String)>,
    pub(crate) users: Vec<User>,
    pub(crate) subscriptions: Vec<Subscription>,
    pub(crate) token_lifetime: Duration,
    pub(crate) refresh_in: Option<Duration>,
    pub(crate) latency: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut secret_clients: Vec<&(String, String)> = self.secrets.keys().collect();
        secret_clients.sort();
        let mut cert_clients: Vec<&(String, String)> = self.certs.keys().collect();
        cert_clients.sort();
        let mut federated_clients: Vec<&(String, String)> = self.federated.keys().collect();
        federated_clients.sort();
        f.debug_struct("Config")
            .field("authority", &self.authority)
            .field("tenants", &self.tenants)
            .field("secret_clients", &secret_clients)
            .field("certificate_clients", &cert_clients)
            .field("federated_clients", &federated_clients)
            .field("refresh_tokens", &self.refresh_tokens.len())
            .field(
                "users",
                &self
                    .users
                    .iter()
                    .map(|u| (&u.client_id, &u.username))
                    .collect::<Vec<_>>(),
            )
            .field("subscriptions", &self.subscriptions)
            .field("token_lifetime", &self.token_lifetime)
            .field("refresh_in", &self.refresh_in)
            .field("latency", &self.latency)
            .finish()
    }
}

impl Config {
    pub(crate) fn add_tenant(&mut self, tenant: &str) -> String {
        let tenant = tenant.to_ascii_lowercase();
        if !self.tenants.contains(&tenant) {
            self.tenants.push(tenant.clone());
        }
        tenant
    }

    fn is_known_tenant(&self, tenant: &str) -> bool {
        self.tenants.iter().any(|t| t.eq_ignore_ascii_case(tenant))
    }

    fn is_alias(tenant: &str) -> bool {
        TENANT_ALIASES.iter().any(|a| a.eq_ignore_ascii_case(tenant))
    }

    /// The tenant a user flow lands in: the named tenant, or the home tenant for an alias.
    fn user_tenant(&self, tenant: &str) -> Option<String> {
        if self.is_known_tenant(tenant) {
            Some(tenant.to_ascii_lowercase())
        } else if Self::is_alias(tenant) {
            self.tenants.first().cloned()
        } else {
            None
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An injected failure for the next token requests.
#[derive(Debug, Clone, Copy)]
struct FailPlan {
    remaining: usize,
    status: u16,
    retry_after: Option<u64>,
}

/// What the fake knows about an access token it issued.
#[derive(Debug, Clone)]
struct IssuedToken {
    tenant: String,
    expires: u64,
    is_user: bool,
}

/// Who a refresh token belongs to.
#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    username: String,
}

/// Never `Debug`: it holds issued tokens and refresh tokens.
#[derive(Default)]
struct Mutable {
    requests: Vec<RecordedRequest>,
    token_requests: usize,
    fail: Option<FailPlan>,
    issued: Vec<String>,
    issued_info: HashMap<String, IssuedToken>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    used_jti: HashSet<String>,
    counter: u64,
}

/// The shared state behind one running fake.
pub(crate) struct State {
    pub(crate) config: Config,
    hmac: ring::hmac::Key,
    inner: Mutex<Mutable>,
}

/// A request as the handlers see it.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) form: BTreeMap<String, String>,
}

impl State {
    pub(crate) fn new(config: Config) -> Self {
        let key = crate::cert::random_bytes::<32>();
        let mut mutable = Mutable::default();
        for (client_id, token) in &config.refresh_tokens {
            let username = config
                .users
                .iter()
                .find(|u| &u.client_id == client_id)
                .map_or(DEFAULT_USERNAME, |u| u.username.as_str())
                .to_owned();
            mutable.refresh_tokens.insert(
                token.clone(),
                RefreshGrant {
                    client_id: client_id.clone(),
                    username,
                },
            );
        }
        State {
            config,
            hmac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            inner: Mutex::new(mutable),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Mutable> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters for a test double, so recover from poisoning.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub(crate) fn token_request_count(&self) -> usize {
        self.lock().token_requests
    }

    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    pub(crate) fn fail_next(&self, n: usize, status: u16, retry_after: Option<u64>) {
        self.lock().fail = (n > 0).then_some(FailPlan {
            remaining: n,
            status,
            retry_after,
        });
    }

    pub(crate) fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.config.authority)
    }

    /// Records and answers one request. Returns the reply and whether it was a token request
    /// (which the server delays by the configured latency).
    pub(crate) fn handle(&self, req: Incoming, now: u64) -> (Reply, bool) {
        let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
        let is_token = req.method == "POST" && matches!(segments.as_slice(), [_, "oauth2", "v2.0", "token"]);
        self.lock().requests.push(RecordedRequest {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            form: req.form.clone(),
            headers: req.headers.clone(),
        });
        let reply = match (req.method.as_str(), segments.as_slice()) {
            ("POST", [tenant, "oauth2", "v2.0", "token"]) => self.token(tenant, &req.form, now),
            ("GET", [tenant, "v2.0", ".well-known", "openid-configuration"])
            | ("GET", [tenant, ".well-known", "openid-configuration"]) => self.discovery(tenant),
            ("GET", ["subscriptions"]) => self.arm(&req, now, |tid, _| self.list_subscriptions(tid)),
            ("GET", ["subscriptions", id]) => self.arm(&req, now, |tid, _| self.get_subscription(tid, id)),
            ("GET", ["tenants"]) => self.arm(&req, now, |tid, is_user| self.list_tenants(tid, is_user)),
            (_, [_, "oauth2", "v2.0", "token"]) => EntraError::new(
                405,
                "invalid_request",
                900561,
                "The endpoint only accepts POST requests.",
            )
            .to_reply(),
            _ => Reply::json(
                404,
                &json!({"error": {"code": "NotFound", "message": format!("no fake endpoint at {}", req.path)}}),
            ),
        };
        (reply, is_token)
    }

    fn token(&self, tenant: &str, form: &BTreeMap<String, String>, now: u64) -> Reply {
        {
            let mut state = self.lock();
            state.token_requests += 1;
            if let Some(plan) = state.fail.as_mut() {
                plan.remaining -= 1;
                let plan = *plan;
                if plan.remaining == 0 {
                    state.fail = None;
                }
                return injected_failure(plan.status, plan.retry_after);
            }
        }
        match self.token_inner(tenant, form, now) {
            Ok(reply) => reply,
            Err(e) => e.to_reply(),
        }
    }

    fn token_inner(
        &self,
        tenant: &str,
        form: &BTreeMap<String, String>,
        now: u64,
    ) -> Result<Reply, EntraError> {
        let field = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let require = |name: &str| field(name).ok_or_else(|| EntraError::missing_field(name));
        let config = &self.config;
        if !config.is_known_tenant(tenant) && !Config::is_alias(tenant) {
            return Err(EntraError::unknown_tenant(tenant));
        }
        let grant_type = require("grant_type")?;
        // Client credentials need a real tenant: there is no user whose home tenant to pick.
        if grant_type == "client_credentials" && !config.is_known_tenant(tenant) {
            return Err(EntraError::unknown_tenant(tenant));
        }
        let client_id = require("client_id")?;
        let scope = require("scope")?;
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        let client_info = field("client_info") == Some("1");
        match grant_type {
            "client_credentials" => {
                check_app_scopes(&scopes)?;
                let key = (tenant.to_ascii_lowercase(), client_id.to_owned());
                let secrets = config.secrets.get(&key);
                let certs = config.certs.get(&key);
                let federated = config.federated.get(&key);
                if secrets.is_none() && certs.is_none() && federated.is_none() {
                    return Err(EntraError::unknown_client(client_id, tenant));
                }
                if let Some(assertion) = field("client_assertion") {
                    match field("client_assertion_type") {
                        None => return Err(EntraError::missing_field("client_assertion_type")),
                        Some(JWT_BEARER) => {}
                        Some(other) => {
                            return Err(EntraError::new(
                                401,
                                "invalid_client",
                                50027,
                                format!(
                                    "JWT token is invalid or malformed. Unsupported client_assertion_type '{other}'; use '{JWT_BEARER}'."
                                ),
                            ));
                        }
                    }
                    // A token from another issuer is a federated token, unless the app only
                    // has certificates (then it is a certificate assertion with a wrong `iss`).
                    let federation_applies = federated.is_some() || certs.is_none();
                    if federation_applies && federation::is_federated(assertion, client_id) {
                        let records = federated.map(Vec::as_slice).unwrap_or_default();
                        federation::verify(assertion, records, now)?;
                    } else {
                        let url = self.token_url(tenant);
                        let certs = certs.map(Vec::as_slice).unwrap_or_default();
                        let mut state = self.lock();
                        jwt::verify_assertion(assertion, client_id, &url, certs, now, &mut state.used_jti)?;
                    }
                } else if let Some(secret) = form.get("client_secret").filter(|s| !s.is_empty()) {
                    if !secrets.is_some_and(|list| list.iter().any(|s| s == secret)) {
                        return Err(EntraError::wrong_secret(client_id));
                    }
                } else {
                    return Err(EntraError::new(
                        401,
                        "invalid_client",
                        7000218,
                        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                    ));
                }
                let tid = tenant.to_ascii_lowercase();
                Ok(self.issue(&tid, client_id, None, &scopes, now, false, client_info))
            }
            "refresh_token" => {
                let token = require("refresh_token")?;
                let grant = self.lock().refresh_tokens.get(token).cloned();
                let Some(grant) = grant.filter(|g| g.client_id == client_id) else {
                    return Err(EntraError::new(
                        400,
                        "invalid_grant",
                        70000,
                        "Provided grant is invalid or malformed.",
                    ));
                };
                let tid = config
                    .user_tenant(tenant)
                    .ok_or_else(|| EntraError::unknown_tenant(tenant))?;
                Ok(self.issue(
                    &tid,
                    client_id,
                    Some(&grant.username),
                    &scopes,
                    now,
                    true,
                    client_info,
                ))
            }
            "password" => {
                let username = require("username")?;
                let password = form.get("password").filter(|p| !p.is_empty());
                let password = password.ok_or_else(|| EntraError::missing_field("password"))?;
                let mut users = config
                    .users
                    .iter()
                    .filter(|u| u.client_id == client_id)
                    .peekable();
                if users.peek().is_none() {
                    return Err(EntraError::unknown_client(client_id, tenant));
                }
                let Some(user) = users.find(|u| u.username.eq_ignore_ascii_case(username)) else {
                    return Err(EntraError::new(
                        400,
                        "invalid_grant",
                        50034,
                        format!(
                            "The user account {{EUII Hidden}} does not exist in the {tenant} directory. To sign \
                             into this application, the account must be added to the directory."
                        ),
                    ));
                };
                if &user.password != password {
                    return Err(EntraError::new(
                        400,
                        "invalid_grant",
                        50126,
                        "Error validating credentials due to invalid username or password.",
                    ));
                }
                let tid = config
                    .user_tenant(tenant)
                    .ok_or_else(|| EntraError::unknown_tenant(tenant))?;
                let username = user.username.clone();
                Ok(self.issue(&tid, client_id, Some(&username), &scopes, now, true, client_info))
            }
            other => Err(EntraError::new(
                400,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        }
    }

    /// Issues an access token (and for user flows a rotated refresh token) and builds the
    /// success body.
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        tid: &str,
        client_id: &str,
        username: Option<&str>,
        scopes: &[&str],
        now: u64,
        with_refresh: bool,
        client_info: bool,
    ) -> Reply {
        let lifetime = self.config.token_lifetime.as_secs();
        let exp = now.saturating_add(lifetime);
        let resource_scopes: Vec<&str> = scopes
            .iter()
            .copied()
            .filter(|s| !OIDC_SCOPES.contains(&s.to_ascii_lowercase().as_str()))
            .collect();
        let aud = resource_scopes
            .first()
            .map_or("00000003-0000-0000-c000-000000000000".to_owned(), |s| audience(s));
        let oid = stable_uuid(&format!("{tid}|{}", username.unwrap_or(client_id)));
        let mut state = self.lock();
        state.counter += 1;
        let uti = format!("{}-{}", state.counter, uuid::Uuid::new_v4().simple());
        let mut claims = json!({
            "aud": aud,
            "iss": format!("{}/{tid}/v2.0", self.config.authority),
            "iat": now,
            "nbf": now,
            "exp": exp,
            "tid": tid,
            "oid": oid,
            "sub": oid,
            "azp": client_id,
            "scp": resource_scopes.join(" "),
            "uti": uti,
            "ver": "2.0",
        });
        match username {
            Some(name) => {
                claims["upn"] = json!(name);
                claims["preferred_username"] = json!(name);
                claims["name"] = json!(name.split('@').next().unwrap_or(name));
                claims["idtyp"] = json!("user");
            }
            None => {
                claims["appid"] = json!(client_id);
                claims["idtyp"] = json!("app");
            }
        }
        let access_token = jwt::issue(&self.hmac, &claims);
        state.issued.push(access_token.clone());
        state.issued_info.insert(
            access_token.clone(),
            IssuedToken {
                tenant: tid.to_owned(),
                expires: exp,
                is_user: username.is_some(),
            },
        );
        let mut body = json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        });
        if let Some(refresh_in) = self.config.refresh_in {
            body["refresh_in"] = json!(refresh_in.as_secs());
        }
        if let Some(name) = username {
            body["scope"] = json!(scopes.join(" "));
            if with_refresh {
                let rotated = format!("fake-rt.{}.{}", state.counter, uuid::Uuid::new_v4().simple());
                state.refresh_tokens.insert(
                    rotated.clone(),
                    RefreshGrant {
                        client_id: client_id.to_owned(),
                        username: name.to_owned(),
                    },
                );
                body["refresh_token"] = json!(rotated);
            }
            if client_info {
                let info = json!({"uid": oid, "utid": tid});
                body["client_info"] = json!(URL_SAFE_NO_PAD.encode(info.to_string()));
            }
            if scopes.iter().any(|s| s.eq_ignore_ascii_case("openid")) {
                let id_claims = json!({
                    "aud": client_id, "iss": format!("{}/{tid}/v2.0", self.config.authority),
                    "iat": now, "nbf": now, "exp": exp, "tid": tid, "oid": oid, "sub": oid,
                    "preferred_username": name, "name": name, "ver": "2.0",
                });
                body["id_token"] = json!(jwt::issue(&self.hmac, &id_claims));
            }
        }
        Reply::json(200, &body)
    }

    fn discovery(&self, tenant: &str) -> Reply {
        let alias = Config::is_alias(tenant);
        if !alias && !self.config.is_known_tenant(tenant) {
            let mut err = EntraError::unknown_tenant(tenant);
            err.error = "invalid_tenant";
            return err.to_reply();
        }
        let base = &self.config.authority;
        let tid = if alias {
            "{tenantid}".to_owned()
        } else {
            tenant.to_ascii_lowercase()
        };
        let doc = json!({
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{base}/{tid}/v2.0"),
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": format!("{base}/oidc/userinfo"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid", "preferred_username", "name"],
            "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
            "tenant_region_scope": "NA",
            "cloud_instance_name": "fake-entra.test",
            "cloud_graph_host_name": "graph.fake-entra.test",
            "msgraph_host": "graph.fake-entra.test",
            "rbac_url": "https://pas.fake-entra.test",
        });
        Reply::json(200, &doc)
    }

    /// Authenticates an ARM call by its bearer token, then runs `f(tenant, is_user)`.
    fn arm(&self, req: &Incoming, now: u64, f: impl FnOnce(&str, bool) -> Reply) -> Reply {
        if req.query.get("api-version").is_none_or(|v| v.is_empty()) {
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        }
        let header = req
            .headers
            .get("authorization")
            .map(String::as_str)
            .unwrap_or_default();
        let Some(token) = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
        else {
            return self.arm_unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            );
        };
        let info = self.lock().issued_info.get(token.trim()).cloned();
        let Some(info) = info else {
            return self.arm_unauthorized("InvalidAuthenticationToken", "The access token is invalid.");
        };
        if info.expires <= now {
            let message = format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                crate::time_fmt::entra_timestamp(std::time::UNIX_EPOCH + Duration::from_secs(info.expires)),
                crate::time_fmt::entra_timestamp(std::time::UNIX_EPOCH + Duration::from_secs(now)),
            );
            return self.arm_unauthorized("ExpiredAuthenticationToken", &message);
        }
        f(&info.tenant, info.is_user)
    }

    fn arm_unauthorized(&self, code: &str, message: &str) -> Reply {
        let challenge = format!(
            "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"{message}\"",
            self.config.authority,
            self.config.tenants.first().map_or("common", String::as_str),
        );
        arm_error(401, code, message).header("www-authenticate", &challenge)
    }

    fn subscription_json(&self, sub: &Subscription) -> Value {
        json!({
            "id": format!("/subscriptions/{}", sub.id),
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": sub.id,
            "tenantId": sub.tenant,
            "displayName": sub.name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        })
    }

    fn list_subscriptions(&self, tid: &str) -> Reply {
        let value: Vec<Value> = self
            .config
            .subscriptions
            .iter()
            .filter(|s| s.tenant.eq_ignore_ascii_case(tid))
            .map(|s| self.subscription_json(s))
            .collect();
        let count = value.len();
        Reply::json(
            200,
            &json!({"value": value, "count": {"type": "Total", "value": count}}),
        )
    }

    fn get_subscription(&self, tid: &str, id: &str) -> Reply {
        match self
            .config
            .subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id) && s.tenant.eq_ignore_ascii_case(tid))
        {
            Some(sub) => Reply::json(200, &self.subscription_json(sub)),
            None => arm_error(
                404,
                "SubscriptionNotFound",
                &format!("The subscription '{id}' could not be found."),
            ),
        }
    }

    fn list_tenants(&self, tid: &str, is_user: bool) -> Reply {
        let value: Vec<Value> = self
            .config
            .tenants
            .iter()
            .filter(|t| is_user || t.as_str() == tid)
            .map(|t| {
                json!({
                    "id": format!("/tenants/{t}"),
                    "tenantId": t,
                    "countryCode": "US",
                    "displayName": format!("Fake tenant {t}"),
                    "domains": [format!("{t}.fake-entra.test")],
                    "defaultDomain": format!("{t}.fake-entra.test"),
                    "tenantCategory": "Home",
                    "tenantType": "AAD",
                })
            })
            .collect();
        let count = value.len();
        Reply::json(
            200,
            &json!({"value": value, "count": {"type": "Total", "value": count}}),
        )
    }
}

/// Client-credential flows need exactly one `{resource}/.default` scope.
fn check_app_scopes(scopes: &[&str]) -> Result<(), EntraError> {
    let resources: Vec<&&str> = scopes
        .iter()
        .filter(|s| !OIDC_SCOPES.contains(&s.to_ascii_lowercase().as_str()))
        .collect();
    if let Some(bad) = resources.iter().find(|s| !s.ends_with("/.default")) {
        return Err(EntraError::new(
            400,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {bad} is not valid. Client credential flows must have a scope \
                 value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    }
    if resources.len() != 1 {
        return Err(EntraError::new(
            400,
            "invalid_scope",
            70011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided value for the \
                 input parameter 'scope' is not valid. The scope {} is not valid.",
                scopes.join(" ")
            ),
        ));
    }
    Ok(())
}

/// The resource a scope belongs to: `https://x/.default` → `https://x`, `https://x/Read` → `https://x`.
fn audience(scope: &str) -> String {
    if let Some(resource) = scope.strip_suffix("/.default") {
        return resource.to_owned();
    }
    match scope.rfind('/') {
        Some(i) if scope[..i].contains("://") => scope[..i].to_owned(),
        _ => scope.to_owned(),
    }
}

/// A UUID-formatted string derived from `seed`, so object ids are stable across runs.
fn stable_uuid(seed: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

fn arm_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"error": {"code": code, "message": message}}))
}

/// The reply for an injected failure: Entra's JSON error shape for that status.
fn injected_failure(status: u16, retry_after: Option<u64>) -> Reply {
    let err = match status {
        429 => EntraError::new(
            429,
            "temporarily_unavailable",
            90055,
            "TenantThrottlingError - There are too many incoming requests. This exception is thrown for blocked tenants.",
        ),
        503 => EntraError::new(
            503,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        ),
        504 => EntraError::new(
            504,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        ),
        s => EntraError::new(
            if (100..=999).contains(&s) { s } else { 500 },
            "server_error",
            50000,
            "There was an error issuing a token or an issue with our sign-in service.",
        ),
    };
    let reply = err.to_reply();
    match retry_after {
        Some(secs) => reply.header("retry-after", &secs.to_string()),
        None => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "tenant-a";
    const NOW: u64 = 1_800_000_000;

    fn state() -> State {
        let mut config = Config {
            authority: "https://127.0.0.1:9".into(),
            token_lifetime: Duration::from_secs(3600),
            ..Config::default()
        };
        let tenant = config.add_tenant("Tenant-A");
        config.add_tenant("tenant-b");
        config
            .secrets
            .insert((tenant, "app".into()), vec!["s3cret".into()]);
        config.users.push(User {
            client_id: "pub".into(),
            username: "u@x.test".into(),
            password: "pw-value".into(),
        });
        config.refresh_tokens.push(("pub".into(), "rt".into()));
        config.subscriptions.push(Subscription {
            id: "sub-1".into(),
            name: "One".into(),
            tenant: "tenant-a".into(),
        });
        State::new(config)
    }

    fn request(method: &str, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Incoming {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Incoming {
            method: method.into(),
            path: path.into(),
            query: crate::record::parse_urlencoded(query.as_bytes()),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            form: form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn app_form(secret: &str) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", "app".into()),
            ("client_secret", secret.into()),
            ("scope", "api://x/.default".into()),
        ]
    }

    fn post(state: &State, tenant: &str, form: &[(&str, String)], now: u64) -> Reply {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        state
            .handle(
                request("POST", &format!("/{tenant}/oauth2/v2.0/token"), &form, &[]),
                now,
            )
            .0
    }

    #[test]
    fn audience_of_scopes() {
        for (scope, aud) in [
            (
                "https://management.azure.com/.default",
                "https://management.azure.com",
            ),
            (
                "https://management.azure.com//.default",
                "https://management.azure.com/",
            ),
            (
                "https://graph.microsoft.com/User.Read",
                "https://graph.microsoft.com",
            ),
            ("api://x/.default", "api://x"),
            (
                "00000003-0000-0000-c000-000000000000/.default",
                "00000003-0000-0000-c000-000000000000",
            ),
            ("User.Read", "User.Read"),
        ] {
            assert_eq!(audience(scope), aud, "{scope}");
        }
    }

    #[test]
    fn client_credential_scopes() {
        assert!(check_app_scopes(&["api://x/.default"]).is_ok());
        assert!(check_app_scopes(&["api://x/.default", "openid", "offline_access"]).is_ok());
        assert_eq!(
            check_app_scopes(&["api://x/read"]).map_err(|e| e.code),
            Err(1002012)
        );
        assert_eq!(
            check_app_scopes(&["a/.default", "b/.default"]).map_err(|e| e.code),
            Err(70011)
        );
        assert_eq!(check_app_scopes(&["openid"]).map_err(|e| e.code), Err(70011));
    }

    #[test]
    fn stable_uuids_are_deterministic_and_uuid_shaped() {
        assert_eq!(stable_uuid("a"), stable_uuid("a"));
        assert_ne!(stable_uuid("a"), stable_uuid("b"));
        assert!(uuid::Uuid::parse_str(&stable_uuid("a")).is_ok());
    }

    #[test]
    fn injected_failure_shapes() {
        for (status, expect_status, error, code) in [
            (429, 429, "temporarily_unavailable", 90055),
            (500, 500, "server_error", 50000),
            (502, 502, "server_error", 50000),
            (503, 503, "temporarily_unavailable", 90033),
            (42, 500, "server_error", 50000),
        ] {
            let reply = injected_failure(status, Some(3));
            assert_eq!(reply.status, expect_status);
            assert_eq!(reply.header_value("retry-after"), Some("3"));
            let body = reply.body_json();
            assert_eq!(
                (body["error"].as_str(), body["error_codes"][0].as_u64()),
                (Some(error), Some(code))
            );
        }
        assert_eq!(injected_failure(500, None).header_value("retry-after"), None);
    }

    #[test]
    fn tenants_match_case_insensitively_and_aliases_only_for_users() {
        let state = state();
        assert_eq!(post(&state, "TENANT-A", &app_form("s3cret"), NOW).status, 200);
        let reply = post(&state, "organizations", &app_form("s3cret"), NOW);
        assert_eq!(reply.body_json()["error_codes"][0], 90002);
        let user = [
            ("grant_type", "password".to_owned()),
            ("client_id", "pub".into()),
            ("username", "u@x.test".into()),
            ("password", "pw-value".into()),
            ("scope", "api://x/.default".into()),
        ];
        let reply = post(&state, "common", &user, NOW);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let token = reply.body_json()["access_token"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_default();
        assert_eq!(
            jwt::decode_jwt(&token).map(|j| j.claims["tid"].clone()),
            Some(json!("tenant-a"))
        );
    }

    #[test]
    fn errors_never_echo_submitted_secrets() {
        let state = state();
        let reply = post(&state, T, &app_form("my-wrong-secret"), NOW);
        assert_eq!(reply.status, 401);
        assert!(!reply.body.contains("my-wrong-secret"));
        let user = [
            ("grant_type", "password".to_owned()),
            ("client_id", "pub".into()),
            ("username", "u@x.test".into()),
            ("password", "my-wrong-password".into()),
            ("scope", "api://x/.default".into()),
        ];
        let reply = post(&state, T, &user, NOW);
        assert_eq!(reply.body_json()["error_codes"][0], 50126);
        assert!(!reply.body.contains("my-wrong-password"));
        let rt = [
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", "pub".into()),
            ("refresh_token", "my-bogus-refresh-token".into()),
            ("scope", "api://x/.default".into()),
        ];
        let reply = post(&state, T, &rt, NOW);
        assert_eq!(reply.body_json()["error_codes"][0], 70000);
        assert!(!reply.body.contains("my-bogus-refresh-token"));
    }

    #[test]
    fn fail_next_counts_down_and_is_recorded() {
        let state = state();
        state.fail_next(2, 503, None);
        assert_eq!(post(&state, T, &app_form("s3cret"), NOW).status, 503);
        assert_eq!(post(&state, T, &app_form("s3cret"), NOW).status, 503);
        assert_eq!(post(&state, T, &app_form("s3cret"), NOW).status, 200);
        assert_eq!(state.token_request_count(), 3);
        assert_eq!(state.issued_tokens().len(), 1);
        assert_eq!(state.requests().len(), 3);
        // Non-token requests neither count nor consume the plan.
        state.fail_next(1, 500, None);
        let (reply, is_token) = state.handle(
            request("GET", "/tenant-a/v2.0/.well-known/openid-configuration", &[], &[]),
            NOW,
        );
        assert_eq!((reply.status, is_token), (200, false));
        assert_eq!(state.token_request_count(), 3);
        assert_eq!(post(&state, T, &app_form("s3cret"), NOW).status, 500);
    }

    #[test]
    fn routing_of_odd_requests() {
        let state = state();
        let (reply, is_token) = state.handle(request("GET", "/tenant-a/oauth2/v2.0/token", &[], &[]), NOW);
        assert_eq!((reply.status, is_token), (405, false));
        let (reply, _) = state.handle(request("DELETE", "/", &[], &[]), NOW);
        assert_eq!(reply.status, 404);
        // Repeated slashes are tolerated, as HTTP clients joining "authority/" + "/path" produce them.
        let (reply, is_token) = state.handle(request("POST", "//tenant-a//oauth2/v2.0/token", &[], &[]), NOW);
        assert!(is_token);
        assert_eq!(reply.body_json()["error_codes"][0], 900144, "grant_type missing");
        // The v1-style discovery path works too.
        let (reply, _) = state.handle(
            request("GET", "/tenant-b/.well-known/openid-configuration", &[], &[]),
            NOW,
        );
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body_json()["issuer"], "https://127.0.0.1:9/tenant-b/v2.0");
        let (reply, _) = state.handle(
            request("GET", "/common/v2.0/.well-known/openid-configuration", &[], &[]),
            NOW,
        );
        assert_eq!(reply.body_json()["issuer"], "https://127.0.0.1:9/{tenantid}/v2.0");
    }

    #[test]
    fn arm_checks_expiry_against_the_request_time() {
        let state = state();
        let token = post(&state, T, &app_form("s3cret"), NOW).body_json()["access_token"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_default();
        let auth = format!("Bearer {token}");
        let list = |now| {
            state
                .handle(
                    request(
                        "GET",
                        "/subscriptions?api-version=1",
                        &[],
                        &[("authorization", &auth)],
                    ),
                    now,
                )
                .0
        };
        let ok = list(NOW + 3599);
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body_json()["value"][0]["subscriptionId"], "sub-1");
        let expired = list(NOW + 3600);
        assert_eq!(expired.status, 401);
        assert_eq!(expired.body_json()["error"]["code"], "ExpiredAuthenticationToken");
        assert!(
            expired
                .header_value("www-authenticate")
                .is_some_and(|h| h.contains("invalid_token"))
        );
    }

    #[test]
    fn refresh_tokens_rotate_per_redemption() {
        let state = state();
        let form = |rt: &str| {
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "pub"),
                ("refresh_token", rt),
                ("scope", "api://x/.default"),
            ]
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect::<Vec<_>>()
        };
        let first = post(&state, T, &form("rt"), NOW).body_json();
        let rotated = first["refresh_token"].as_str().unwrap_or_default().to_owned();
        let second = post(&state, T, &form(&rotated), NOW).body_json();
        let again = second["refresh_token"].as_str().unwrap_or_default().to_owned();
        assert!(!rotated.is_empty() && !again.is_empty());
        assert_ne!(rotated, again);
        assert_eq!(
            post(&state, T, &form("rt"), NOW).status,
            200,
            "the original stays valid"
        );
        let claims = jwt::decode_jwt(first["access_token"].as_str().unwrap_or_default()).map(|j| j.claims);
        assert_eq!(claims.map(|c| c["upn"].clone()), Some(json!("u@x.test")));
    }
}
