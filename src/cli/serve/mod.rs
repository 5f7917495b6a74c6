//! `credchain serve`: a local managed-identity endpoint (the App Service protocol in
//! [`protocol`]) backed by the default chain, so any Azure SDK on this host, or in a container
//! beside it, borrows one sign-in by setting `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
//!
//! Rules it keeps: a non-loopback address needs `--allow-remote`; the [`secret`] is compared in
//! constant time and appears only on stdout's `IDENTITY_HEADER=` line; each connection runs in
//! its own task with a header-read timeout, a 16 KiB request buffer and a lifetime cap, and at
//! most [`MAX_CONNECTIONS`] are served at once; all clients share the chain's cache and
//! single-flight. Dropping [`run`]'s future (a stop signal) aborts every connection task, which
//! drops their token requests and so kills any `az` they started.

mod protocol;
mod secret;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use credchain::{DefaultCredential, ErrorKind, TokenRequestOptions};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::args::ServeArgs;
use super::timefmt::unix_seconds;
use super::{ExitStatus, terminal};
use protocol::{Decision, RequestParts};
pub(crate) use secret::HeaderSecret;

/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a connection may stay open (a token fetch included).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);
/// hyper's read buffer, and so the largest request head accepted (hyper answers 431 beyond it).
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// What every connection shares.
struct State {
    credential: DefaultCredential,
    secret: HeaderSecret,
}

/// Runs `credchain serve` until the future is dropped (by a stop signal) or accepting fails.
pub(crate) async fn run(args: &ServeArgs) -> ExitStatus {
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        terminal::error(format_args!(
            "refusing to listen on {}: it is not a loopback address, so other machines could ask \
             for your tokens; use 127.0.0.1 or [::1], or add --allow-remote (e.g. for a \
             container bridge) if you mean it",
            args.listen
        ));
        return ExitStatus::Usage;
    }
    let secret = match &args.header_file {
        Some(path) => HeaderSecret::from_file(path),
        None => HeaderSecret::generate(),
    };
    let secret = match secret {
        Ok(secret) => secret,
        Err(reason) => {
            terminal::error(reason);
            return ExitStatus::Usage;
        }
    };
    let credential = match DefaultCredential::builder().env(chain_env()).build() {
        Ok(credential) => credential,
        Err(error) => {
            terminal::error(&error);
            return ExitStatus::from_kind(error.kind());
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            terminal::error(format_args!(
                "cannot listen on {}: {e}; choose another --listen address or port",
                args.listen
            ));
            return ExitStatus::Failed;
        }
    };
    let local = match listener.local_addr() {
        Ok(local) => local,
        Err(e) => {
            terminal::error(format_args!("cannot read the listening address: {e}"));
            return ExitStatus::Failed;
        }
    };
    if !local.ip().is_loopback() {
        terminal::note(format_args!(
            "warning: listening on {local}, which is not a loopback address: anyone who can reach \
             it and knows IDENTITY_HEADER gets tokens for your identity"
        ));
    }
    let lines = format!(
        "IDENTITY_ENDPOINT=http://{local}{}\nIDENTITY_HEADER={}\n",
        protocol::TOKEN_PATH,
        secret.expose()
    );
    if let Err(status) = terminal::print_stdout(&lines) {
        return status;
    }
    drop(lines);
    tracing::info!(address = %local, "serving managed identity tokens");
    serve(listener, Arc::new(State { credential, secret })).await
}

/// The environment serve's own chain reads: the process's, without the App Service managed
/// identity variables. Those are what serve hands out, so a shell that sourced an earlier serve's
/// output (or runs next to a live one) would make the chain ask that serve, or a stale port,
/// instead of the sign-in it should share. Azure Arc and Service Fabric, which also use
/// `IDENTITY_ENDPOINT`, are kept (they set `IMDS_ENDPOINT` or `IDENTITY_SERVER_THUMBPRINT`).
fn chain_env() -> credchain::Env {
    let vars: Vec<(String, std::ffi::OsString)> = std::env::vars_os()
        .filter_map(|(name, value)| name.into_string().ok().map(|name| (name, value)))
        .collect();
    let other_source = vars
        .iter()
        .any(|(name, _)| name == "IMDS_ENDPOINT" || name == "IDENTITY_SERVER_THUMBPRINT");
    credchain::Env::from_os_pairs(
        vars.into_iter()
            .filter(|(name, _)| other_source || (name != "IDENTITY_ENDPOINT" && name != "IDENTITY_HEADER")),
    )
}

/// Accepts connections until accepting fails; each is served in its own task.
async fn serve(listener: TcpListener, state: Arc<State>) -> ExitStatus {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Dropping the set (when this future is dropped) aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return ExitStatus::Failed;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, state).await;
        });
    }
}

/// Serves one connection's requests within the bounds above.
async fn serve_connection(stream: tokio::net::TcpStream, peer: SocketAddr, state: Arc<State>) {
    let service = hyper::service::service_fn(move |request| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(respond(request, &state).await) }
    });
    // One request per connection: a connection never holds one of the permits idle between
    // requests, so clients (with or without the secret) cannot park on all of them.
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(false)
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_REQUEST_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
        Err(_) => tracing::debug!(%peer, "connection closed: open too long"),
    }
}

/// Answers one request.
async fn respond(request: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    let headers = request.headers();
    let parts = RequestParts {
        method: request.method(),
        path: request.uri().path(),
        query: request.uri().query(),
        identity_headers: headers
            .get_all(protocol::IDENTITY_HEADER)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect(),
        has_body: headers.contains_key(TRANSFER_ENCODING)
            || headers
                .get(CONTENT_LENGTH)
                .is_some_and(|length| length.as_bytes() != b"0"),
    };
    let (resource, scope) = match protocol::decide(&parts, &state.secret) {
        Decision::Fetch { resource, scope } => (resource, scope),
        Decision::Refuse(status, message) => {
            tracing::info!(method = %request.method(), path = %terminal::clean(request.uri().path()), status = status.as_u16(), "refused");
            return error_response(status, &message);
        }
    };
    let options = TokenRequestOptions::new();
    match state.credential.get_token(&[scope.as_str()], &options).await {
        Ok(token) => {
            tracing::info!(scope = %scope, status = 200, "token served");
            let expires_on = unix_seconds(token.expires_on());
            json_response(
                StatusCode::OK,
                protocol::token_body(token.secret(), expires_on, &resource, token.token_type()),
            )
        }
        Err(error) => {
            let status = if error.kind() == ErrorKind::InvalidInput {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            // The chain logged its report already; the caller gets it in the body.
            tracing::info!(scope = %scope, status = status.as_u16(), "no token");
            error_response(status, &error.to_string())
        }
    }
}

fn error_response(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(status, protocol::error_body(status, message))
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(hyper::header::ALLOW, HeaderValue::from_static("GET"));
    }
    response
}
