//! The HTTP seam: the small request/response shape providers use to reach token endpoints.
//!
//! credchain-core has no HTTP stack. `credchain-entra` implements [`HttpClient`] with its TLS
//! and proxy set-up, and every provider that talks HTTP (Entra, managed identity endpoints)
//! sends through a [`SharedHttpClient`] taken from its [`ProviderContext`](crate::ProviderContext),
//! so tests can answer requests without a network and no provider writes a second HTTP stack.
//!
//! Bodies are [`Zeroizing`] buffers: a request form may hold a client secret or refresh token,
//! and a response holds the access token.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

/// The methods token endpoints use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One HTTP request. `Debug` shows the method, URL and header *names* only: header values and
/// the body may hold secrets.
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, query included.
    pub url: String,
    /// Headers as `(name, value)`; values may be secrets (`Authorization`, `X-IDENTITY-HEADER`).
    pub headers: Vec<(String, Zeroizing<String>)>,
    /// The body (a form for token grants), wiped when dropped.
    pub body: Zeroizing<Vec<u8>>,
    /// Gives up on this one request after this long (connect and response together).
    pub timeout: Option<Duration>,
}

impl HttpRequest {
    /// A `GET` of `url` with no headers.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Zeroizing::new(Vec::new()),
            timeout: None,
        }
    }

    /// A `POST` of `body` (an `application/x-www-form-urlencoded` form) to `url`.
    pub fn post_form(url: impl Into<String>, body: Zeroizing<Vec<u8>>) -> Self {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![(
                "Content-Type".to_owned(),
                Zeroizing::new("application/x-www-form-urlencoded".to_owned()),
            )],
            body,
            timeout: None,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), Zeroizing::new(value.into())));
        self
    }

    /// Limits this request's time.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One HTTP response. `Debug` shows the status and header names only.
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// The body, wiped when dropped (it holds the token).
    pub body: Zeroizing<Vec<u8>>,
}

impl HttpResponse {
    /// A response with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Zeroizing::new(body.into()),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why a request got no HTTP answer at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// The connection was refused or the host was unreachable: nothing is listening.
    Connect,
    /// The request's timeout passed before an answer came.
    Timeout,
    /// Anything else (TLS failure, a broken connection, an oversized body).
    Other,
}

/// A request that got no HTTP answer. Its message never holds header values or the body.
#[derive(Debug)]
pub struct HttpError {
    kind: HttpErrorKind,
    message: String,
}

impl HttpError {
    /// An error of `kind` with a message for people.
    pub fn new(kind: HttpErrorKind, message: impl Into<String>) -> Self {
        HttpError {
            kind,
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> HttpErrorKind {
        self.kind
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

/// Sends one request and returns the answer, whatever its status. No retries: the caller
/// decides which statuses to retry.
///
/// Implementations must bound the response body (and say so in an [`HttpErrorKind::Other`]
/// error when it is exceeded) and honour [`HttpRequest::timeout`].
#[async_trait::async_trait]
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// Sends `request`.
    ///
    /// # Errors
    ///
    /// An [`HttpError`] when no HTTP answer came.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// The shared, dynamically typed HTTP client handle a [`ProviderContext`](crate::ProviderContext) holds.
pub type SharedHttpClient = Arc<dyn HttpClient>;
