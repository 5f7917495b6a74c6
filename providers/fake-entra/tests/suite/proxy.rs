//! The CONNECT proxy tunnels to loopback targets only and records what it was asked for.

use crate::common;

use common::*;
use credchain_fake_entra::{FakeEntra, FakeProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn https_through_the_proxy_reaches_the_fake() {
    let entra = FakeEntra::builder().tenant(TENANT).start().await.expect("starts");
    let proxy = FakeProxy::start().await.expect("proxy starts");
    assert!(proxy.url().starts_with("http://127.0.0.1:"));
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(entra.ca_pem()))
        .proxy(reqwest::Proxy::https(proxy.url()).expect("proxy url"))
        .build()
        .expect("builds");
    let url = format!(
        "{}/{TENANT}/v2.0/.well-known/openid-configuration",
        entra.authority()
    );
    let response = http.get(&url).send().await.expect("tunnelled request");
    assert_eq!(response.status(), 200);
    let port = entra
        .authority()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(proxy.connect_count(), 1);
    assert_eq!(proxy.targets(), vec![format!("127.0.0.1:{port}")]);
    assert_eq!(
        entra.requests().len(),
        1,
        "the request arrived through the tunnel"
    );
}

async fn raw(proxy: &FakeProxy, request: &str) -> String {
    let addr = proxy.url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn non_loopback_targets_and_other_methods_are_refused() {
    let proxy = FakeProxy::start().await.expect("proxy starts");
    let refused = raw(
        &proxy,
        "CONNECT login.microsoftonline.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let refused = raw(&proxy, "CONNECT 10.1.2.3:443 HTTP/1.1\r\n\r\n").await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let get = raw(&proxy, "GET http://127.0.0.1/ HTTP/1.1\r\n\r\n").await;
    assert!(get.starts_with("HTTP/1.1 405"), "{get}");
    assert_eq!(proxy.targets(), ["login.microsoftonline.com:443", "10.1.2.3:443"]);
    assert_eq!(proxy.connect_count(), 2);
}

#[tokio::test]
async fn unreachable_loopback_target_is_a_bad_gateway() {
    let proxy = FakeProxy::start().await.expect("proxy starts");
    // Bind and drop a listener to find a port that is (very likely) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let reply = raw(&proxy, &format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n")).await;
    assert!(reply.starts_with("HTTP/1.1 502"), "{reply}");
}
