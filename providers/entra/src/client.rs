//! The token-endpoint client: [`EntraClient`] and the checks made before anything is sent.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use credchain_core::http::SharedHttpClient;
use credchain_core::{Clock, Error, TokenRequestOptions, validate};
use tracing::Instrument as _;

use crate::{Authority, EntraClientBuilder, Grant, TokenResponse, parse};

/// A client for the Microsoft Entra ID v2.0 token endpoint
/// (`POST {authority}/{tenant}/oauth2/v2.0/token`).
///
/// It redeems a [`Grant`] for an access token, with bounded retries (429, 5xx and connection
/// errors, honouring `Retry-After`) and an overall timeout. Every request goes through one
/// [`HttpClient`](credchain_core::http::HttpClient): by default an
/// [`EntraHttpClient`](crate::EntraHttpClient) (rustls with the system's roots or
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`, `HTTPS_PROXY` / `NO_PROXY`, all read from the injected
/// [`Env`](credchain_core::Env)), or the one given on the builder or in its
/// [`ProviderContext`](credchain_core::ProviderContext). It does not cache tokens: credchain's
/// middleware does.
///
/// Cloning is cheap and clones share one HTTP client.
///
/// ```no_run
/// # async fn run() -> Result<(), credchain_core::Error> {
/// use credchain_core::{Secret, TokenRequestOptions};
/// use credchain_entra::{EntraClient, Grant};
///
/// let client = EntraClient::builder().build()?;
/// let secret = Secret::new("…");
/// let grant = Grant::ClientSecret { client_id: "00000000-0000-0000-0000-000000000001", secret: &secret };
/// let response = client
///     .request_token("MyCredential", "contoso.onmicrosoft.com", &grant,
///         &["https://management.azure.com/.default"], &TokenRequestOptions::default())
///     .await?;
/// println!("expires at {:?}", response.token.expires_on());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EntraClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) authority: Authority,
    pub(crate) http: SharedHttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timeout: Duration,
    pub(crate) max_retries: u32,
    pub(crate) retry_delay: Duration,
}

impl fmt::Debug for EntraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraClient")
            .field("authority", &self.inner.authority.as_str())
            .field("timeout", &self.inner.timeout)
            .field("max_retries", &self.inner.max_retries)
            .field("http", &self.inner.http)
            .finish_non_exhaustive()
    }
}

impl EntraClient {
    /// A builder with the defaults described on [`EntraClientBuilder`].
    pub fn builder() -> EntraClientBuilder {
        EntraClientBuilder::default()
    }

    /// The authority host requests go to.
    pub fn authority(&self) -> &Authority {
        &self.inner.authority
    }

    /// Redeems `grant` for a token for `scopes` in `tenant`.
    ///
    /// `provider` names the calling credential in errors and logs. `options` supplies claims,
    /// CAE and a deadline; its tenant is only checked, not used (pass the resolved one as
    /// `tenant`).
    ///
    /// # Errors
    ///
    /// | Situation | [`ErrorKind`](credchain_core::ErrorKind) |
    /// |---|---|
    /// | invalid tenant or scope, no scope, blank client ID or secret, claims not JSON | `InvalidInput` (nothing sent) |
    /// | a [`ClientAssertionSource`](crate::ClientAssertionSource) failed | its own error, unchanged (nothing sent) |
    /// | the assertion source gave an empty assertion, or a certificate could not sign one | `AuthenticationFailed` (nothing sent) |
    /// | Entra refused (any 4xx but 429): the message carries the `AADSTS` code, description and correlation ID; the source is an [`EntraErrorResponse`](crate::EntraErrorResponse) | `AuthenticationFailed` |
    /// | 200 without a usable token | `AuthenticationFailed` ("unexpected response …", no token values) |
    /// | server's TLS certificate not trusted | `AuthenticationFailed` |
    /// | 429, 5xx or connection errors after all retries | `Transient` |
    /// | the overall timeout or the request's deadline passed | `Timeout` |
    pub async fn request_token(
        &self,
        provider: &str,
        tenant: &str,
        grant: &Grant<'_>,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<TokenResponse, Error> {
        // The shared request check (scopes, the options' tenant, the claims' shape), then the
        // resolved tenant this client puts in the URL path.
        validate::request(provider, scopes, options)?;
        validate::tenant_id(tenant).map_err(|e| Error::invalid_input(provider, e))?;
        check_grant(provider, grant)?;
        let claims = parse::claims_parameter(options.claims(), options.enable_cae())
            .map_err(|e| Error::invalid_input(provider, e))?;
        if let Grant::Password { .. } = grant {
            tracing::warn!(
                provider,
                "username/password authentication is deprecated because it cannot do multi-factor \
                 authentication (MFA); see https://aka.ms/azsdk/identity/mfa"
            );
        }
        let span = tracing::debug_span!(
            "entra_token_request",
            provider,
            tenant,
            grant = grant.kind(),
            client_id = grant.client_id(),
        );
        self.run(
            provider,
            tenant,
            grant,
            scopes,
            claims.as_deref(),
            options.deadline(),
        )
        .instrument(span)
        .await
    }
}

fn check_grant(provider: &str, grant: &Grant<'_>) -> Result<(), Error> {
    if grant.client_id().trim().is_empty() {
        return Err(Error::invalid_input(provider, "the client ID is empty"));
    }
    let blank = match grant {
        Grant::ClientSecret { secret, .. } => secret.is_blank().then_some("the client secret is empty"),
        Grant::RefreshToken { refresh_token, .. } => {
            refresh_token.is_blank().then_some("the refresh token is empty")
        }
        Grant::Password {
            username, password, ..
        } => {
            if username.trim().is_empty() {
                Some("the username is empty")
            } else {
                password.expose().is_empty().then_some("the password is empty")
            }
        }
        Grant::ClientCertificate { .. } | Grant::ClientAssertion { .. } => None,
    };
    match blank {
        Some(msg) => Err(Error::invalid_input(provider, msg)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use credchain_core::{Env, ErrorKind, Secret};

    fn client() -> EntraClient {
        EntraClient::builder()
            .env(Env::empty())
            .authority(Authority::parse("https://127.0.0.1:9").unwrap_or_default())
            .max_retries(0)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn input_is_validated_before_sending() {
        let c = client();
        let s = Secret::new("secret-value");
        let blank = Secret::new("  ");
        let ok = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let o = TokenRequestOptions::default();
        let cases: Vec<(&str, Grant<'_>, Vec<&str>, TokenRequestOptions, &str)> = vec![
            (
                "bad tenant",
                ok,
                vec!["s/.default"],
                o.clone(),
                "invalid tenant ID",
            ),
            ("t", ok, vec![], o.clone(), "at least one scope"),
            ("t", ok, vec!["a b"], o.clone(), "invalid scope"),
            ("t", ok, vec!["s", "x?y"], o.clone(), "invalid scope"),
            (
                "t",
                Grant::ClientSecret {
                    client_id: " ",
                    secret: &s,
                },
                vec!["s"],
                o.clone(),
                "client ID is empty",
            ),
            (
                "t",
                Grant::ClientSecret {
                    client_id: "c",
                    secret: &blank,
                },
                vec!["s"],
                o.clone(),
                "client secret is empty",
            ),
            (
                "t",
                Grant::RefreshToken {
                    client_id: "c",
                    refresh_token: &blank,
                },
                vec!["s"],
                o.clone(),
                "refresh token is empty",
            ),
            (
                "t",
                Grant::Password {
                    client_id: "c",
                    username: "",
                    password: &s,
                },
                vec!["s"],
                o.clone(),
                "username is empty",
            ),
            (
                "t",
                ok,
                vec!["s"],
                o.clone().with_claims("nope"),
                "claims challenge",
            ),
        ];
        for (tenant, grant, scopes, options, expected) in cases {
            let err = c
                .request_token("P", tenant, &grant, &scopes, &options)
                .await
                .expect_err(expected);
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.message().contains(expected), "{err}");
            assert_eq!(err.provider(), "P");
        }
    }

    #[tokio::test]
    async fn connection_refused_is_transient_and_quick() {
        // Port 9 (discard) on loopback is closed in test environments.
        let c = client();
        let s = Secret::new("secret-value");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let err = c
            .request_token("P", "t", &g, &["s/.default"], &TokenRequestOptions::default())
            .await
            .expect_err("nothing listens");
        assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
        assert!(
            err.message()
                .contains("could not reach Microsoft Entra ID at `127.0.0.1:9` after 1 attempt"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn passed_deadline_is_a_timeout() {
        let c = client();
        let s = Secret::new("secret-value");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        let o = TokenRequestOptions::default().with_deadline(Instant::now());
        let err = c
            .request_token("P", "t", &g, &["s"], &o)
            .await
            .expect_err("deadline passed");
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.message().contains("the request's deadline"), "{err}");
    }

    #[tokio::test]
    async fn huge_timeout_and_retry_delay_do_not_panic() {
        let c = EntraClient::builder()
            .env(Env::empty())
            .authority(Authority::parse("https://127.0.0.1:9").unwrap_or_default())
            .timeout(Duration::MAX)
            .retry_delay(Duration::MAX)
            .max_retries(1)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let s = Secret::new("secret-value");
        let g = Grant::ClientSecret {
            client_id: "c",
            secret: &s,
        };
        // Without a timeout of its own, the caller's deadline still bounds the call; the
        // first retry's delay (the 60 s cap) would pass it, so it stops after one attempt.
        let deadline = Instant::now() + Duration::from_secs(5);
        let o = TokenRequestOptions::default().with_deadline(deadline);
        let err = c
            .request_token("P", "t", &g, &["s"], &o)
            .await
            .expect_err("nothing listens");
        assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
        assert!(err.message().contains("after 1 attempt (retrying after"), "{err}");
        assert!(err.message().contains("the request's deadline"), "{err}");
    }

    #[test]
    fn debug_hides_proxy_credentials() {
        let c = EntraClient::builder()
            .env(Env::from_pairs([(
                "HTTPS_PROXY",
                "http://me:pr0xy-pw@127.0.0.1:3128",
            )]))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{c:?}");
        assert!(shown.contains("http://127.0.0.1:3128"), "{shown}");
        assert!(!shown.contains("pr0xy-pw"), "{shown}");
    }

    #[test]
    fn bad_configuration_fails_build() {
        let err = EntraClient::builder()
            .env(Env::from_pairs([("AZURE_AUTHORITY_HOST", "http://x")]))
            .provider_name("Mine")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.provider(), "Mine");
        assert!(err.message().contains("`AZURE_AUTHORITY_HOST`"), "{err}");
        let err = EntraClient::builder()
            .env(Env::empty())
            .add_root_certificate_pem(b"junk")
            .build()
            .unwrap_err();
        assert!(err.message().contains("root certificate"), "{err}");
    }
}
