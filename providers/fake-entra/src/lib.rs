//! A fake Microsoft Entra ID token endpoint, served over real HTTPS on `127.0.0.1`, for testing
//! anything that gets Azure tokens: credchain's providers, your own app, or the real Azure CLI.
//!
//! It behaves like the real service where a client can tell the difference: the same endpoints,
//! form fields, validation rules, status codes and JSON error shapes (`AADSTS…` codes), a CA you
//! must trust, and JWT-shaped tokens you can decode.
//!
//! | item | what it is |
//! |---|---|
//! | [`FakeEntra`], [`FakeEntraBuilder`] | the server: register tenants, clients, users, subscriptions; inspect requests |
//! | [`RecordedRequest`] | one request as received (method, path, query, form, headers) |
//! | [`TestCertificate`] | an RSA client certificate as PEM, encrypted PEM or PKCS#12 |
//! | [`FakeProxy`] | an HTTP `CONNECT` proxy on loopback, to test `HTTPS_PROXY` / `NO_PROXY` |
//! | [`decode_jwt`] | decodes issued tokens and recorded client assertions |
//! | [`federated_token`] | mints an (unsigned) federated token for workload identity tests |
//! | [`LogCapture`] | captures `tracing` output at TRACE level, to assert that no secret is logged |
//! | [`FakeManagedIdentity`], [`MiSource`] | a managed identity endpoint (IMDS, App Service, Arc, Azure ML, Cloud Shell over loopback HTTP; Service Fabric over HTTPS with a self-signed certificate) |
//! | [`SilentListener`], [`refused_url`] | an endpoint that never answers, and one that refuses connections |
//! | [`HostileServer`], [`Misbehaviour`] | an HTTP(S) endpoint that hangs, drips, floods, closes early, or answers garbage or absurd numbers |
//!
//! # Example: a client secret, end to end
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use credchain_fake_entra::{FakeEntra, decode_jwt};
//!
//! let entra = FakeEntra::builder()
//!     .client_secret("tenant-1", "app-1", "s3cret")
//!     .start()
//!     .await?;
//!
//! // Point the client under test at `entra.authority()` and make it trust `entra.ca_pem()`
//! // (or set `SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE` to `entra.ca_pem_path()`). Here: reqwest.
//! # let _ = rustls::crypto::ring::default_provider().install_default();
//! let http = reqwest::Client::builder()
//!     .add_root_certificate(reqwest::Certificate::from_pem(entra.ca_pem().as_bytes())?)
//!     .no_proxy()
//!     .build()?;
//! let response = http
//!     .post(entra.token_url("tenant-1"))
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body("grant_type=client_credentials&client_id=app-1&client_secret=s3cret&scope=api%3A%2F%2Fx%2F.default")
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 200);
//! let body: serde_json::Value = serde_json::from_slice(&response.bytes().await?)?;
//!
//! // Assert on what the client sent and what it got.
//! let token = body["access_token"].as_str().unwrap_or_default();
//! assert_eq!(entra.issued_tokens(), [token]);
//! assert_eq!(decode_jwt(token).map(|jwt| jwt.claims["appid"].clone()), Some("app-1".into()));
//! assert_eq!(entra.requests()[0].form_value("client_id"), Some("app-1"));
//! # Ok(())
//! # }
//! ```
//!
//! # Example: a certificate credential
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use credchain_fake_entra::{FakeEntra, TestCertificate};
//!
//! let cert = TestCertificate::generate("my-app");
//! let entra = FakeEntra::builder()
//!     .client_certificate("tenant-1", "app-1", cert.cert_pem())
//!     .start()
//!     .await?;
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("cert.pem"), cert.combined_pem())?;
//! std::fs::write(dir.path().join("cert.pfx"), cert.pkcs12("pfx-password"))?;
//! // ... set AZURE_CLIENT_CERTIFICATE_PATH for the credential under test, get a token, then
//! // check the assertion it sent: `decode_jwt(request.form_value("client_assertion"))`.
//! assert_eq!(entra.token_request_count(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Running outside Rust tests
//!
//! The `fake-entra` binary serves the same fake from command-line flags until killed, for
//! scripts that drive other tools (the real Azure CLI) against it; see `fake-entra --help`.
//!
//! # Endpoints
//!
//! | request | behaviour |
//! |---|---|
//! | `POST /{tenant}/oauth2/v2.0/token` | grants `client_credentials` (secret, certificate assertion or federated token), `refresh_token`, `password` |
//! | `GET /{tenant}/v2.0/.well-known/openid-configuration` | discovery document; `common`, `organizations`, `consumers` always work |
//! | `GET /subscriptions?api-version=…`, `GET /subscriptions/{id}`, `GET /tenants` | ARM listings; need `Authorization: Bearer <token issued by this fake>` |
//!
//! # Errors the token endpoint returns
//!
//! Every error body has `error`, `error_description` (starting `AADSTS{code}: `), `error_codes`,
//! `timestamp`, `trace_id` and `correlation_id` (fresh per response).
//!
//! | situation | status | `error` | code |
//! |---|---|---|---|
//! | unknown tenant | 400 | `invalid_request` (`invalid_tenant` on discovery) | 90002 |
//! | missing `grant_type`, `client_id`, `scope`, `refresh_token`, `username`, `password` | 400 | `invalid_request` | 900144 |
//! | unknown client in that tenant | 400 | `unauthorized_client` | 700016 |
//! | wrong client secret | 401 | `invalid_client` | 7000215 |
//! | neither secret nor assertion | 401 | `invalid_client` | 7000218 |
//! | client-credentials scope without `/.default` / several resources | 400 | `invalid_scope` | 1002012 / 70011 |
//! | assertion malformed, wrong `aud`, no `jti`, unsupported `alg` | 401 | `invalid_client` | 50027 |
//! | assertion signed by an unregistered key / bad signature | 401 | `invalid_client` | 700027 |
//! | assertion `iss` or `sub` ≠ `client_id` | 401 | `invalid_client` | 700021 |
//! | assertion expired or not yet valid | 401 | `invalid_client` | 700024 |
//! | assertion `jti` already used (code chosen by this fake) | 401 | `invalid_client` | 700023 |
//! | federated token: no registered (issuer, subject) matches | 400 | `invalid_request` | 70021 |
//! | federated token: audience not `api://AzureADTokenExchange` | 400 | `invalid_request` | 700212 |
//! | federated token expired or not yet valid | 401 | `invalid_client` | 700024 |
//! | unknown or foreign refresh token | 400 | `invalid_grant` | 70000 |
//! | unknown user / wrong password | 400 | `invalid_grant` | 50034 / 50126 |
//! | other `grant_type` | 400 | `unsupported_grant_type` | 70003 |
//! | [`FakeEntra::fail_next`] with 429 / 500 / 503 | as given | `temporarily_unavailable` / `server_error` | 90055 / 50000 / 90033 |
//!
//! # Workload identity federation
//!
//! [`FakeEntraBuilder::federated_credential`] registers an (issuer, subject) pair for an app. A
//! `client_assertion` whose `iss` is not the client ID is treated as a federated token (unless
//! the app has certificates but no federated credentials: then it is a certificate assertion
//! with a wrong `iss`, `AADSTS700021`): it is
//! matched on `iss` and `sub`, must have the audience `api://AzureADTokenExchange` and be
//! within `nbf`/`exp` (by the fake's wall clock). Its **signature is not verified** (the fake
//! has no issuer keys to fetch) and, unlike certificate assertions, the same token may be
//! presented again (Kubernetes reuses the projected token until it rotates).
//!
//! # Issued tokens
//!
//! Access tokens are HS256 JWTs (signed with a random per-server key; not verifiable by
//! clients, exactly like real Entra tokens for other audiences). Claims: `aud` (the scope's
//! resource), `iss`, `iat`, `nbf`, `exp`, `tid`, `oid`, `sub`, `azp`, `scp` (the requested
//! resource scopes, space-separated), `uti` (unique per token), `ver`, `idtyp`, and `appid`
//! for applications or `upn` / `preferred_username` / `name` for users. Decode them with
//! [`decode_jwt`].
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

mod cert;
mod entra_error;
mod federation;
mod hostile;
mod jwt;
mod log_capture;
mod mi_protocol;
mod mi_server;
mod proxy;
mod record;
mod reply;
mod server;
mod state;
mod time_fmt;
mod tls;

pub use cert::TestCertificate;
pub use federation::{TOKEN_EXCHANGE_AUDIENCE, federated_token};
pub use hostile::{HostileServer, Misbehaviour};
pub use jwt::{DecodedJwt, decode_jwt};
pub use log_capture::LogCapture;
pub use mi_protocol::MiSource;
pub use mi_server::{FakeManagedIdentity, FakeManagedIdentityBuilder, SilentListener, refused_url};
pub use proxy::FakeProxy;
pub use record::RecordedRequest;
pub use server::{DEFAULT_TOKEN_LIFETIME, FakeEntra, FakeEntraBuilder};
