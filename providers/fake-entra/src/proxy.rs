//! A minimal HTTP `CONNECT` proxy on loopback, to prove a client honours `HTTPS_PROXY`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Longest request head the proxy reads before giving up.
const MAX_HEAD: usize = 16 * 1024;

/// An HTTP proxy on `127.0.0.1` that only understands `CONNECT` and only tunnels to
/// `127.0.0.1` (anything else gets `403`). It records each `CONNECT` target. Stops on drop.
///
/// # Examples
///
/// ```
/// # async fn demo() -> std::io::Result<()> {
/// use credchain_fake_entra::FakeProxy;
///
/// let proxy = FakeProxy::start().await?;
/// // e.g. set HTTPS_PROXY for the client under test to:
/// assert!(proxy.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(proxy.connect_count(), 0);
/// # Ok(())
/// # }
/// ```
pub struct FakeProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for FakeProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeProxy")
            .field("url", &self.url())
            .field("targets", &self.targets())
            .finish()
    }
}

impl FakeProxy {
    /// Binds `127.0.0.1` on a random port and starts proxying on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// Fails when no loopback port can be bound.
    pub async fn start() -> std::io::Result<FakeProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let targets = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&targets)));
        Ok(FakeProxy { addr, targets, task })
    }

    /// `http://127.0.0.1:PORT`, the value for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many `CONNECT` requests arrived (including refused ones).
    pub fn connect_count(&self) -> usize {
        self.targets().len()
    }

    /// The `host:port` of every `CONNECT`, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for FakeProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, targets: Arc<Mutex<Vec<String>>>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.spawn(tunnel(stream, Arc::clone(&targets)));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads one request head; for an allowed `CONNECT`, answers 200 and copies bytes both ways.
async fn tunnel(mut client: TcpStream, targets: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > MAX_HEAD {
            let _ = client
                .write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
                .await;
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default().to_owned(),
    );
    if !method.eq_ignore_ascii_case("CONNECT") {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    }
    targets
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(target.clone());
    let Some(addr) = loopback_target(&target) else {
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(addr).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    // Bytes the client sent after the head (e.g. an eager TLS ClientHello) go upstream first.
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |p| p + 4);
    if end < head.len() && upstream.write_all(&head[end..]).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// `127.0.0.1:PORT` (or `localhost:PORT`) → the socket address; anything else → `None`.
fn loopback_target(target: &str) -> Option<SocketAddr> {
    let (host, port) = target.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let ip = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other
            .parse::<Ipv4Addr>()
            .ok()
            .filter(|ip| *ip == Ipv4Addr::LOCALHOST)?
            .into(),
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_allowed() {
        assert_eq!(
            loopback_target("127.0.0.1:443"),
            Some(SocketAddr::from(([127, 0, 0, 1], 443)))
        );
        assert_eq!(
            loopback_target("localhost:8080"),
            Some(SocketAddr::from(([127, 0, 0, 1], 8080)))
        );
        for bad in [
            "login.microsoftonline.com:443",
            "10.0.0.1:443",
            "127.0.0.2:443",
            "127.0.0.1",
            "127.0.0.1:x",
            "",
        ] {
            assert_eq!(loopback_target(bad), None, "{bad}");
        }
    }
}
