//! The OAuth 2.0 grants the client can redeem, and the source of caller-supplied assertions.

use std::fmt;

use credchain_core::{Error, Secret};

use crate::ClientCertificate;

/// What to redeem at the token endpoint. Borrowed, so callers keep ownership of their secrets.
///
/// `Debug` never shows a secret ([`Secret`] and [`ClientCertificate`] redact themselves).
///
/// ```
/// use credchain_core::Secret;
/// use credchain_entra::Grant;
/// let secret = Secret::new("s3cr3t");
/// let grant = Grant::ClientSecret { client_id: "00000000-0000-0000-0000-000000000001", secret: &secret };
/// assert_eq!(grant.kind(), "client_secret");
/// assert!(!format!("{grant:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Grant<'a> {
    /// Client credentials with a client secret (`grant_type=client_credentials`).
    ClientSecret {
        /// The application (client) ID.
        client_id: &'a str,
        /// The client secret's value.
        secret: &'a Secret,
    },
    /// Client credentials with a certificate: a signed client assertion
    /// (`client_assertion_type=…jwt-bearer`). A fresh assertion is signed for every attempt.
    ClientCertificate {
        /// The application (client) ID.
        client_id: &'a str,
        /// The certificate and its private key.
        certificate: &'a ClientCertificate,
        /// Whether to send the certificate chain (`x5c`), needed for subject name/issuer
        /// authentication.
        send_certificate_chain: bool,
    },
    /// Client credentials with a client assertion the caller supplies (federated credentials:
    /// a workload identity token, another identity provider's JWT). Posts
    /// `grant_type=client_credentials`, `client_assertion_type=…jwt-bearer` and the assertion
    /// from `assertion`, which is asked again for every attempt (retries included).
    ClientAssertion {
        /// The application (client) ID.
        client_id: &'a str,
        /// Where the assertion comes from.
        assertion: &'a dyn ClientAssertionSource,
    },
    /// A refresh token (`grant_type=refresh_token`). The response usually carries a rotated
    /// refresh token.
    RefreshToken {
        /// The public client ID the refresh token was issued to.
        client_id: &'a str,
        /// The refresh token.
        refresh_token: &'a Secret,
    },
    /// Resource-owner password credentials (`grant_type=password`). Deprecated by Microsoft:
    /// it cannot do multi-factor authentication; a warning is logged on every use.
    Password {
        /// The public client ID.
        client_id: &'a str,
        /// The user's name (UPN).
        username: &'a str,
        /// The user's password.
        password: &'a Secret,
    },
}

impl Grant<'_> {
    /// A short name for logs: `client_secret`, `client_certificate`, `client_assertion`,
    /// `refresh_token` or `password`.
    pub fn kind(&self) -> &'static str {
        match self {
            Grant::ClientSecret { .. } => "client_secret",
            Grant::ClientCertificate { .. } => "client_certificate",
            Grant::ClientAssertion { .. } => "client_assertion",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::Password { .. } => "password",
        }
    }

    /// The client ID the grant is for.
    pub fn client_id(&self) -> &str {
        match self {
            Grant::ClientSecret { client_id, .. }
            | Grant::ClientCertificate { client_id, .. }
            | Grant::ClientAssertion { client_id, .. }
            | Grant::RefreshToken { client_id, .. }
            | Grant::Password { client_id, .. } => client_id,
        }
    }

    /// The fixed secret the grant sends, if any, so messages can be scrubbed of it. Client
    /// assertions are made per attempt and scrubbed as they are made.
    pub(crate) fn secret(&self) -> Option<&str> {
        match self {
            Grant::ClientSecret { secret, .. } => Some(secret.expose()),
            Grant::RefreshToken { refresh_token, .. } => Some(refresh_token.expose()),
            Grant::Password { password, .. } => Some(password.expose()),
            Grant::ClientCertificate { .. } | Grant::ClientAssertion { .. } => None,
        }
    }
}

/// Supplies the client assertion for [`Grant::ClientAssertion`]: a JWT from any token source
/// (a workload identity token file, another identity provider). Asked once per attempt, so a
/// source can hand out a fresh or re-read assertion each time.
///
/// A fixed [`Secret`] is a source; [`AssertionFn`] wraps a closure.
///
/// ```
/// use credchain_core::Secret;
/// use credchain_entra::{AssertionFn, Grant};
/// let from_file = AssertionFn(|| Ok(Secret::new("eyJ…assertion")));
/// let grant = Grant::ClientAssertion { client_id: "00000000-0000-0000-0000-000000000001", assertion: &from_file };
/// assert_eq!(grant.kind(), "client_assertion");
/// ```
#[credchain_core::async_trait]
pub trait ClientAssertionSource: Send + Sync + fmt::Debug {
    /// The assertion to send. `provider` is the calling credential's name, for errors.
    ///
    /// # Errors
    ///
    /// Any [`Error`]: `request_token` returns it unchanged, without sending a request.
    async fn client_assertion(&self, provider: &str) -> Result<Secret, Error>;
}

#[credchain_core::async_trait]
impl ClientAssertionSource for Secret {
    async fn client_assertion(&self, _provider: &str) -> Result<Secret, Error> {
        Ok(self.clone())
    }
}

/// A [`ClientAssertionSource`] made from a closure returning the assertion (called once per
/// attempt). `Debug` shows no value.
#[derive(Clone, Copy)]
pub struct AssertionFn<F>(pub F);

impl<F> fmt::Debug for AssertionFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AssertionFn(..)")
    }
}

#[credchain_core::async_trait]
impl<F> ClientAssertionSource for AssertionFn<F>
where
    F: Fn() -> Result<Secret, Error> + Send + Sync,
{
    async fn client_assertion(&self, _provider: &str) -> Result<Secret, Error> {
        (self.0)()
    }
}
