//! Access tokens and secret strings.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use zeroize::Zeroize;

/// A string that must never be shown: a client secret, refresh token, password or token.
///
/// `Debug` prints `Secret(***)`, there is no `Display`, and the memory is zeroized on drop.
/// Read it with [`expose`](Secret::expose), which makes each use easy to find in review.
///
/// ```
/// use credchain_core::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "Secret(***)");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        let mut value: String = value.into();
        // `into_boxed_str` may reallocate and free the old buffer unwiped; copy, then wipe it.
        let secret = Secret(Box::from(value.as_str()));
        value.zeroize();
        secret
    }

    /// The secret value. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` when the secret is empty or whitespace only.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An access token with its lifetime.
///
/// Cloning is cheap (one reference-count increment; the token string is never copied).
/// `Debug` and `Display` never show the token; [`secret`](AccessToken::secret) does.
///
/// ```
/// use credchain_core::AccessToken;
/// use std::time::{Duration, SystemTime};
///
/// let expires = SystemTime::now() + Duration::from_secs(3600);
/// let token = AccessToken::new("eyJ0eXAi", expires).with_refresh_on(expires - Duration::from_secs(1800));
/// assert_eq!(token.secret(), "eyJ0eXAi");
/// assert!(!format!("{token:?}").contains("eyJ0eXAi"));
/// assert_eq!(token.token_type(), "Bearer");
/// ```
#[derive(Clone)]
pub struct AccessToken(Arc<TokenParts>);

#[derive(Clone)]
struct TokenParts {
    secret: Secret,
    expires_on: SystemTime,
    refresh_on: Option<SystemTime>,
    token_type: Arc<str>,
}

impl AccessToken {
    /// A `Bearer` token that expires at `expires_on`.
    pub fn new(token: impl Into<Secret>, expires_on: SystemTime) -> Self {
        thread_local! {
            static BEARER: Arc<str> = Arc::from("Bearer");
        }
        AccessToken(Arc::new(TokenParts {
            secret: token.into(),
            expires_on,
            refresh_on: None,
            token_type: BEARER.with(Arc::clone),
        }))
    }

    /// Sets the time at which a cache should refresh the token proactively.
    pub fn with_refresh_on(mut self, refresh_on: SystemTime) -> Self {
        Arc::make_mut(&mut self.0).refresh_on = Some(refresh_on);
        self
    }

    /// Sets the token type (`Bearer` by default).
    pub fn with_token_type(mut self, token_type: impl Into<Arc<str>>) -> Self {
        Arc::make_mut(&mut self.0).token_type = token_type.into();
        self
    }

    /// The token itself. Never log or format it.
    pub fn secret(&self) -> &str {
        self.0.secret.expose()
    }

    /// When the token expires.
    pub fn expires_on(&self) -> SystemTime {
        self.0.expires_on
    }

    /// When the issuer suggests refreshing it, if it said.
    pub fn refresh_on(&self) -> Option<SystemTime> {
        self.0.refresh_on
    }

    /// The token type, usually `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.0.token_type
    }

    /// `true` when the token has expired at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        now >= self.0.expires_on
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"***")
            .field("expires_on", &self.0.expires_on)
            .field("refresh_on", &self.0.refresh_on)
            .field("token_type", &self.0.token_type)
            .finish()
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} token (redacted)", self.0.token_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn token_is_never_formatted() {
        let t = AccessToken::new(
            "top-secret-value",
            SystemTime::UNIX_EPOCH + Duration::from_secs(5),
        );
        for shown in [format!("{t:?}"), format!("{t}"), format!("{t:#?}")] {
            assert!(!shown.contains("top-secret-value"), "{shown}");
        }
    }

    #[test]
    fn clone_shares_the_string() {
        let t = AccessToken::new("abc", SystemTime::UNIX_EPOCH);
        let c = t.clone();
        assert!(std::ptr::eq(t.secret().as_ptr(), c.secret().as_ptr()));
    }

    #[test]
    fn expiry_is_inclusive() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let t = AccessToken::new("x", at);
        assert!(!t.is_expired_at(at - Duration::from_secs(1)));
        assert!(t.is_expired_at(at));
    }
}
