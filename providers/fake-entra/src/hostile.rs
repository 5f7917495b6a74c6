//! [`HostileServer`]: an HTTP or HTTPS endpoint on loopback that misbehaves in one chosen way,
//! for fault tests of token clients (deadlines, body caps, broken connections, nonsense).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::tls;

/// The most request bytes read before misbehaving (headers and body); the rest is ignored.
const MAX_REQUEST: usize = 256 * 1024;
/// The size of each write of a flood.
const FLOOD_CHUNK: usize = 64 * 1024;

/// What a [`HostileServer`] does with every connection, after reading the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misbehaviour {
    /// Never answers (the connection stays open until the client leaves).
    Hang,
    /// Sends a plausible `200` JSON response one byte per interval, without end, from its
    /// first byte (the status line never completes in time).
    Drip(Duration),
    /// Sends the `200` head at once, then its JSON body one byte per interval, without end.
    DripBody(Duration),
    /// A `200` with no length and a body that never ends, written as fast as it is read.
    FloodBody,
    /// A `200` whose header section never ends.
    FloodHeaders,
    /// Announces `Content-Length: 4096`, sends the start of a JSON body and closes.
    EarlyClose,
    /// Random bytes instead of HTTP, then closes.
    Garbage,
    /// A well-formed response with this status and body (text that is not JSON, JSON with
    /// absurd numbers, …).
    Reply {
        /// The HTTP status code.
        status: u16,
        /// The body, sent with `Content-Type: application/json` whatever it holds.
        body: String,
    },
}

/// An endpoint on `127.0.0.1` that reads each request and then misbehaves as told.
///
/// [`https`](Self::https) serves TLS with a certificate from its own throw-away CA
/// ([`ca_pem`](Self::ca_pem), [`ca_pem_path`](Self::ca_pem_path)), so a client can point
/// `AZURE_AUTHORITY_HOST` at it and trust it through `SSL_CERT_FILE`; [`http`](Self::http)
/// serves plain HTTP (managed identity endpoints). Dropping the server closes every connection.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use credchain_fake_entra::{HostileServer, Misbehaviour};
/// let server = HostileServer::http(Misbehaviour::Garbage).await?;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(server.connections(), 0);
/// # Ok(()) }
/// ```
pub struct HostileServer {
    base_url: String,
    ca: Option<(String, PathBuf, tempfile::TempDir)>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl fmt::Debug for HostileServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostileServer")
            .field("base_url", &self.base_url)
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HostileServer {
    /// Starts a plain-HTTP endpoint on a free loopback port.
    pub async fn http(misbehaviour: Misbehaviour) -> std::io::Result<Self> {
        Self::start(misbehaviour, None).await
    }

    /// Starts an HTTPS endpoint on a free loopback port, with a certificate for `127.0.0.1`
    /// and `localhost` signed by a new CA.
    pub async fn https(misbehaviour: Misbehaviour) -> std::io::Result<Self> {
        let pki = tls::generate()?;
        let mut config = (*pki.server_config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("hostile-ca.pem");
        std::fs::write(&path, &pki.ca_pem)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        Self::start(misbehaviour, Some((acceptor, (pki.ca_pem, path, dir)))).await
    }

    async fn start(
        misbehaviour: Misbehaviour,
        tls: Option<(TlsAcceptor, (String, PathBuf, tempfile::TempDir))>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (acceptor, ca) = match tls {
            Some((acceptor, ca)) => (Some(acceptor), Some(ca)),
            None => (None, None),
        };
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            // Connection tasks live in this set, so aborting the accept loop ends them too.
            let mut tasks = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let misbehaviour = misbehaviour.clone();
                let acceptor = acceptor.clone();
                tasks.spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, &misbehaviour).await;
                            }
                        }
                        None => serve(stream, &misbehaviour).await,
                    }
                });
                while tasks.try_join_next().is_some() {}
            }
        });
        Ok(HostileServer {
            base_url: format!("{scheme}://127.0.0.1:{port}"),
            ca,
            connections,
            task,
        })
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`, without a trailing slash. Every
    /// path gets the same treatment.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The CA certificate (PEM) to trust, for an HTTPS server.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|(pem, _, _)| pem.as_str())
    }

    /// A file holding [`ca_pem`](Self::ca_pem) (for `SSL_CERT_FILE`), for an HTTPS server.
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.ca.as_ref().map(|(_, path, _)| path.as_path())
    }

    /// How many connections were accepted so far (retries show up here).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, misbehaviour: &Misbehaviour) {
    if read_request(&mut stream).await.is_err() {
        return;
    }
    let _ = misbehave(&mut stream, misbehaviour).await;
}

/// Reads the request head and as much of the body as `Content-Length` announces (bounded), so
/// closing the connection later does not reset it with unread data.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_REQUEST {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut remaining = (head_end + length.min(MAX_REQUEST)).saturating_sub(buf.len());
    while remaining > 0 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        remaining = remaining.saturating_sub(n);
    }
    Ok(())
}

async fn misbehave<S: AsyncWrite + Unpin>(
    stream: &mut S,
    misbehaviour: &Misbehaviour,
) -> std::io::Result<()> {
    const OK_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
    match misbehaviour {
        Misbehaviour::Hang => std::future::pending().await,
        Misbehaviour::Drip(interval) | Misbehaviour::DripBody(interval) => {
            let body = b"{\"token_type\":\"Bearer\",\"access_token\":\"";
            let mut bytes: Box<dyn Iterator<Item = &u8> + Send> =
                Box::new(body.iter().chain(std::iter::repeat(&b'x')));
            if matches!(misbehaviour, Misbehaviour::Drip(_)) {
                bytes = Box::new(OK_HEAD.iter().chain(bytes));
            } else {
                stream.write_all(OK_HEAD).await?;
                stream.flush().await?;
            }
            for byte in bytes {
                stream.write_all(&[*byte]).await?;
                stream.flush().await?;
                tokio::time::sleep(*interval).await;
            }
        }
        Misbehaviour::FloodBody => {
            stream.write_all(OK_HEAD).await?;
            stream.write_all(b"{\"access_token\":\"").await?;
            let chunk = vec![b'a'; FLOOD_CHUNK];
            loop {
                stream.write_all(&chunk).await?;
            }
        }
        Misbehaviour::FloodHeaders => {
            stream.write_all(b"HTTP/1.1 200 OK\r\n").await?;
            let line = format!("x-flood: {}\r\n", "a".repeat(1000));
            let chunk = line.repeat(FLOOD_CHUNK / line.len());
            loop {
                stream.write_all(chunk.as_bytes()).await?;
            }
        }
        Misbehaviour::EarlyClose => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n",
                )
                .await?;
            stream
                .write_all(b"{\"token_type\":\"Bearer\",\"expires_in\":3599,\"acc")
                .await?;
            stream.shutdown().await?;
        }
        Misbehaviour::Garbage => {
            let mut bytes = vec![0u8; 4096];
            getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
            stream.write_all(&bytes).await?;
            stream.shutdown().await?;
        }
        Misbehaviour::Reply { status, body } => {
            let head = format!(
                "HTTP/1.1 {status} Hostile\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
            stream.shutdown().await?;
        }
    }
    Ok(())
}
