//! The OAuth 2.0 grants the client can redeem.

use credchain_core::Secret;

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
    /// A short name for logs: `client_secret`, `client_certificate`, `refresh_token` or `password`.
    pub fn kind(&self) -> &'static str {
        match self {
            Grant::ClientSecret { .. } => "client_secret",
            Grant::ClientCertificate { .. } => "client_certificate",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::Password { .. } => "password",
        }
    }

    /// The client ID the grant is for.
    pub fn client_id(&self) -> &str {
        match self {
            Grant::ClientSecret { client_id, .. }
            | Grant::ClientCertificate { client_id, .. }
            | Grant::RefreshToken { client_id, .. }
            | Grant::Password { client_id, .. } => client_id,
        }
    }

    /// The secret values the grant sends, so messages can be checked against them.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        match self {
            Grant::ClientSecret { secret, .. } => vec![secret.expose()],
            Grant::ClientCertificate { .. } => Vec::new(),
            Grant::RefreshToken { refresh_token, .. } => vec![refresh_token.expose()],
            Grant::Password { password, .. } => vec![password.expose()],
        }
    }
}
