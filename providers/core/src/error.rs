//! The error every provider, middleware and chain returns.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What kind of failure an [`Error`] is. A chain decides what to do next from this alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The provider could not even try: nothing configured, tool missing, not signed in.
    /// A chain moves on to its next provider. Contrast with `AuthenticationFailed`.
    Unavailable,
    /// The provider tried and was refused (wrong secret, expired refresh token, tenant not
    /// allowed). A chain stops and reports every attempt.
    AuthenticationFailed,
    /// The caller passed a bad scope, tenant or option. Nothing was spawned or sent, and
    /// trying another provider would not help, so a chain stops.
    InvalidInput,
    /// The provider gave up waiting (a deadline passed, a service did not answer in time).
    /// Retrying later may succeed. A chain stops, unless the provider is a developer tool.
    Timeout,
    /// A transient failure such as a connection error or a 5xx after retries.
    /// Retrying later may succeed. A chain stops, unless the provider is a developer tool.
    Transient,
}

impl ErrorKind {
    /// A short lowercase phrase for tables and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::AuthenticationFailed => "authentication failed",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Transient => "transient failure",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one provider's attempt in a chain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The provider reported [`ErrorKind::Unavailable`]; the chain moved on.
    Unavailable,
    /// The provider failed; it was a developer tool, so the chain moved on.
    FailedContinued,
    /// The provider failed and the chain stopped here.
    Failed,
}

impl AttemptOutcome {
    /// The chain's one rule for what an `error` from a provider means: *unavailable* moves on;
    /// any other failure stops the chain, except that a developer tool's failure (not invalid
    /// input, which another provider would not fix) moves on too.
    ///
    /// ```
    /// use credchain_core::{AttemptOutcome, Error};
    /// let refused = Error::authentication_failed("AzureCliCredential", "refused");
    /// assert_eq!(AttemptOutcome::of(&refused, false), AttemptOutcome::Failed);
    /// assert_eq!(AttemptOutcome::of(&refused, true), AttemptOutcome::FailedContinued);
    /// assert!(AttemptOutcome::of(&refused, true).moves_on());
    /// ```
    pub fn of(error: &Error, developer_tool: bool) -> Self {
        if error.is_unavailable() {
            AttemptOutcome::Unavailable
        } else if developer_tool && error.kind() != ErrorKind::InvalidInput {
            AttemptOutcome::FailedContinued
        } else {
            AttemptOutcome::Failed
        }
    }

    /// `true` when a chain tries the next provider after this outcome.
    pub fn moves_on(self) -> bool {
        !matches!(self, AttemptOutcome::Failed)
    }

    /// A short lowercase word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Unavailable => "unavailable",
            AttemptOutcome::FailedContinued => "failed (developer tool, skipped)",
            AttemptOutcome::Failed => "failed",
        }
    }
}

/// One provider's attempt inside a chain's error.
#[derive(Clone, Debug)]
pub struct Attempt {
    provider: Box<str>,
    outcome: AttemptOutcome,
    elapsed: Duration,
    error: Error,
}

impl Attempt {
    /// What happened, for one line of a chain's report: the outcome, or for an attempt that
    /// stopped the chain, what kind of failure it was (`failed` for a refusal, `invalid input`,
    /// `timed out`, `transient failure`), so the line names what actually happened.
    pub fn label(&self) -> &'static str {
        match (self.outcome, self.error.kind()) {
            (AttemptOutcome::Failed, ErrorKind::AuthenticationFailed) => AttemptOutcome::Failed.as_str(),
            (AttemptOutcome::Failed, kind) => kind.as_str(),
            (outcome, _) => outcome.as_str(),
        }
    }

    /// Records that `provider` ended with `outcome` after `elapsed`, because of `error`.
    pub fn new(
        provider: impl Into<Box<str>>,
        outcome: AttemptOutcome,
        elapsed: Duration,
        error: Error,
    ) -> Self {
        Attempt {
            provider: provider.into(),
            outcome,
            elapsed,
            error,
        }
    }

    /// The provider's name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// How the attempt ended.
    pub fn outcome(&self) -> AttemptOutcome {
        self.outcome
    }

    /// How long it took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The provider's error; its [`message`](Error::message) is the reason and the fix.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

/// An error from a provider, a middleware or a chain.
///
/// It carries a [`kind`](Error::kind), the name of the [`provider`](Error::provider) it came
/// from, and a [`message`](Error::message) that says what went wrong and what to do next. A
/// chain's error also lists every [`attempt`](Error::attempts). It is cheap to clone (the chain
/// shares one result among many waiting callers). No secret is ever put in an error.
///
/// ```
/// use credchain_core::{Error, ErrorKind};
/// let err = Error::unavailable("AzureCliCredential", "Azure CLI not found on path; install it (https://aka.ms/azure-cli)");
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// assert!(err.is_unavailable());
/// assert_eq!(err.to_string(), "AzureCliCredential: Azure CLI not found on path; install it (https://aka.ms/azure-cli)");
/// ```
#[derive(Clone)]
pub struct Error(Arc<Repr>);

#[derive(Debug, thiserror::Error)]
#[error("{provider}: {message}")]
struct Repr {
    kind: ErrorKind,
    provider: Box<str>,
    message: Box<str>,
    #[source]
    source: Option<Arc<dyn StdError + Send + Sync>>,
    attempts: Box<[Attempt]>,
}

impl Error {
    #[cold]
    fn new(kind: ErrorKind, provider: &str, message: impl Into<String>) -> Self {
        Error(Arc::new(Repr {
            kind,
            provider: provider.into(),
            message: message.into().into_boxed_str(),
            source: None,
            attempts: Box::default(),
        }))
    }

    /// The provider cannot try here (nothing configured, tool missing, not signed in); a chain
    /// moves on. Say what is missing and how to set it up.
    #[cold]
    pub fn unavailable(provider: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, provider, message)
    }

    /// The provider tried and was refused; a chain stops. Say why, keeping service error codes
    /// (such as `AADSTS7000215`) and correlation ids.
    #[cold]
    pub fn authentication_failed(provider: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AuthenticationFailed, provider, message)
    }

    /// The caller's input was rejected before anything was spawned or sent; a chain stops.
    #[cold]
    pub fn invalid_input(provider: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, provider, message)
    }

    /// The provider gave up waiting; retrying later may work.
    #[cold]
    pub fn timeout(provider: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, provider, message)
    }

    /// A transient failure (connection error, 5xx after retries); retrying later may work.
    #[cold]
    pub fn transient(provider: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, provider, message)
    }

    /// A chain's error: `kind` is the outcome of the whole chain, `attempts` lists every
    /// provider tried, in order.
    #[cold]
    pub fn from_attempts(
        chain: &str,
        kind: ErrorKind,
        message: impl Into<String>,
        attempts: Vec<Attempt>,
    ) -> Self {
        Error(Arc::new(Repr {
            kind,
            provider: chain.into(),
            message: message.into().into_boxed_str(),
            source: None,
            attempts: attempts.into_boxed_slice(),
        }))
    }

    /// Attaches the underlying cause. It must not contain secrets either.
    pub fn with_source(self, source: impl StdError + Send + Sync + 'static) -> Self {
        let repr = Arc::try_unwrap(self.0).unwrap_or_else(|shared| Repr {
            kind: shared.kind,
            provider: shared.provider.clone(),
            message: shared.message.clone(),
            source: shared.source.clone(),
            attempts: shared.attempts.clone(),
        });
        Error(Arc::new(Repr {
            source: Some(Arc::new(source)),
            ..repr
        }))
    }

    /// The same error with another kind (for example a developer tool's failure that a chain
    /// reports as unavailable).
    pub fn with_kind(&self, kind: ErrorKind) -> Self {
        Error(Arc::new(Repr {
            kind,
            provider: self.0.provider.clone(),
            message: self.0.message.clone(),
            source: self.0.source.clone(),
            attempts: self.0.attempts.clone(),
        }))
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// `true` for [`ErrorKind::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        self.0.kind == ErrorKind::Unavailable
    }

    /// `true` when retrying later may succeed ([`ErrorKind::Timeout`] or [`ErrorKind::Transient`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Timeout | ErrorKind::Transient)
    }

    /// The name of the provider (or chain) the error came from.
    pub fn provider(&self) -> &str {
        &self.0.provider
    }

    /// What went wrong and what to do next, without the provider's name.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// For a chain's error, every provider it tried, in order; empty otherwise.
    pub fn attempts(&self) -> &[Attempt] {
        &self.0.attempts
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.0.kind)
            .field("provider", &self.0.provider)
            .field("message", &self.0.message);
        if let Some(source) = &self.0.source {
            s.field("source", source);
        }
        if !self.0.attempts.is_empty() {
            s.field("attempts", &self.0.attempts);
        }
        s.finish()
    }
}

impl fmt::Display for Error {
    /// One line for a provider's error. A chain's error has one line per attempt:
    ///
    /// ```text
    /// ChainedCredential: no provider could get a token; attempts:
    ///   1. EnvironmentCredential (unavailable, 0.1 ms): set `AZURE_TENANT_ID`, …
    ///   2. AzureCliCredential (failed, 512.3 ms): AADSTS7000215: …
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)?;
        for (i, attempt) in self.0.attempts.iter().enumerate() {
            write!(
                f,
                "\n  {}. {} ({}, {:.1} ms): ",
                i + 1,
                attempt.provider,
                attempt.label(),
                attempt.elapsed.as_secs_f64() * 1000.0
            )?;
            // Indent nested multi-line reasons (a chain inside a chain) under their line.
            let reason = attempt.error.to_string();
            let reason = reason
                .strip_prefix(&format!("{}: ", attempt.provider))
                .unwrap_or(&reason);
            for (n, line) in reason.lines().enumerate() {
                if n > 0 {
                    f.write_str("\n     ")?;
                }
                f.write_str(line)?;
            }
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_display_lists_every_attempt() {
        let a = Attempt::new(
            "A",
            AttemptOutcome::Unavailable,
            Duration::from_micros(100),
            Error::unavailable("A", "set `X`"),
        );
        let b = Attempt::new(
            "B",
            AttemptOutcome::Failed,
            Duration::from_millis(5),
            Error::authentication_failed("B", "refused"),
        );
        let err = Error::from_attempts("Chain", ErrorKind::AuthenticationFailed, "B failed", vec![a, b]);
        let text = err.to_string();
        assert_eq!(
            text,
            "Chain: B failed\n  1. A (unavailable, 0.1 ms): set `X`\n  2. B (failed, 5.0 ms): refused"
        );
        assert_eq!(err.attempts().len(), 2);
        assert_eq!(err.attempts()[1].error().kind(), ErrorKind::AuthenticationFailed);
    }

    #[test]
    fn with_kind_keeps_message() {
        let e = Error::authentication_failed("P", "boom").with_kind(ErrorKind::Unavailable);
        assert!(e.is_unavailable());
        assert_eq!(e.message(), "boom");
    }

    #[test]
    fn source_is_kept() {
        let io = std::io::Error::other("disk");
        let e = Error::transient("P", "read failed").with_source(io);
        assert_eq!(
            StdError::source(&e).map(|s| s.to_string()).as_deref(),
            Some("disk")
        );
    }
}
