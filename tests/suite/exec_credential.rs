//! `credchain token --output exec-credential` as kubectl's exec credential plugin: the document
//! itself, and the real `kubectl` (skipped with a message when it is not installed) against a
//! local HTTPS fake API server that records the bearer token it is sent.
#![cfg(all(unix, feature = "cli"))]

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use parking_lot::Mutex;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::serve::{AZ_TOKEN, Host};

const AKS_SCOPE: &str = "6dae42f8-4368-4678-94ff-3960e28e3630/.default";
const KUBECTL: &str = "/usr/bin/kubectl";

fn run_json(host: &Host, exec_info: Option<&str>) -> (Option<i32>, serde_json::Value, String) {
    let mut cmd = host.command(&["token", "-o", "exec-credential", "--scope", AKS_SCOPE]);
    if let Some(info) = exec_info {
        cmd.env("KUBERNETES_EXEC_INFO", info);
    }
    let out = cmd.output().expect("run");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn prints_an_exec_credential_with_an_expiry() {
    let host = Host::with_az("0");
    let (code, json, stderr) = run_json(&host, None);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        json,
        serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": {"token": AZ_TOKEN, "expirationTimestamp": "2099-01-01T00:00:00Z"}
        })
    );
    let log = std::fs::read_to_string(host.root().join("az.log")).expect("az ran");
    assert!(log.contains("6dae42f8-4368-4678-94ff-3960e28e3630"), "{log}");
}

#[test]
fn api_version_follows_kubernetes_exec_info() {
    let host = Host::with_az("0");
    let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#;
    let (code, json, stderr) = run_json(&host, Some(info));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json["apiVersion"], "client.authentication.k8s.io/v1beta1");
    // An apiVersion credchain cannot answer is a usage error, and az never runs.
    let host = Host::with_az("0");
    let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}"#;
    let (code, json, stderr) = run_json(&host, Some(info));
    assert_eq!(code, Some(2));
    assert_eq!(json, serde_json::Value::Null);
    assert!(stderr.contains("v1alpha1"), "{stderr}");
    assert_eq!(host.az_runs(), 0);
}

/// A fake Kubernetes API server on loopback HTTPS: answers `/api` and records each request's
/// `Authorization` header.
struct FakeApiServer {
    url: String,
    ca_pem: String,
    seen: Arc<Mutex<Vec<Option<String>>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeApiServer {
    async fn start() -> Self {
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("cert");
        let ca_pem = key.cert.pem();
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(vec![key.cert.der().clone()], private)
                .expect("config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let server_seen = Arc::clone(&seen);
        let server = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, seen) = (acceptor.clone(), Arc::clone(&server_seen));
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let seen = Arc::clone(&seen);
                        async move {
                            let auth = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let authorized = auth.is_some();
                            seen.lock().push(auth);
                            let (status, body) = if authorized {
                                (
                                    200,
                                    r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}"#,
                                )
                            } else {
                                (
                                    401,
                                    r#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":401}"#,
                                )
                            };
                            let mut response = Response::new(Full::new(Bytes::from(body)));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                            response
                                .headers_mut()
                                .insert("content-type", "application/json".parse().expect("value"));
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeApiServer {
            url,
            ca_pem,
            seen,
            _server: server,
        }
    }
}

/// A kubeconfig whose user runs `credchain token -o exec-credential` for AKS's scope.
fn kubeconfig(path: &Path, server: &FakeApiServer, api_version: &str) {
    let ca = base64::engine::general_purpose::STANDARD.encode(&server.ca_pem);
    let config = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {url}
    certificate-authority-data: {ca}
users:
- name: azure
  user:
    exec:
      apiVersion: {api_version}
      command: {credchain}
      args: [token, --output, exec-credential, --scope, {AKS_SCOPE}]
      interactiveMode: Never
contexts:
- name: fake
  context:
    cluster: fake
    user: azure
current-context: fake
",
        url = server.url,
        credchain = env!("CARGO_BIN_EXE_credchain"),
    );
    std::fs::write(path, config).expect("write kubeconfig");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_kubectl_sends_credchains_token() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipped: {KUBECTL} is not installed");
        return;
    }
    let server = FakeApiServer::start().await;
    for api_version in [
        "client.authentication.k8s.io/v1",
        "client.authentication.k8s.io/v1beta1",
    ] {
        let host = Host::with_az("0");
        let config = host.root().join("kubeconfig");
        kubeconfig(&config, &server, api_version);
        // kubectl runs in the host's clean environment (the fake az first on PATH), which it
        // passes on to the plugin.
        let base = host.command(&[]);
        let mut cmd = std::process::Command::new(KUBECTL);
        cmd.env_clear();
        for (name, value) in base.get_envs() {
            if let Some(value) = value {
                cmd.env(name, value);
            }
        }
        cmd.env("KUBECONFIG", &config).args(["get", "--raw", "/api"]);
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("run kubectl"))
            .await
            .expect("join");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{api_version}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("APIVersions"), "{stdout}");
        let seen = server.seen.lock().drain(..).collect::<Vec<_>>();
        assert!(!seen.is_empty());
        for auth in seen {
            assert_eq!(
                auth.as_deref(),
                Some(&*format!("Bearer {AZ_TOKEN}")),
                "{api_version}"
            );
        }
        assert_eq!(host.az_runs(), 1, "{api_version}");
    }
}
