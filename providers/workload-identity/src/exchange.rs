//! Redeeming an assertion at Microsoft Entra ID: the one seam between the file logic and HTTP.

use std::fmt;

use credchain_core::{AccessToken, Error, Secret, TokenRequestOptions};
use credchain_entra::{EntraClient, Grant};

/// Exchanges a federated assertion for an access token. Implemented by the Entra client; unit
/// tests script it.
#[async_trait::async_trait]
pub(crate) trait Exchange: Send + Sync + fmt::Debug {
    async fn exchange(
        &self,
        tenant: &str,
        client_id: &str,
        assertion: &Secret,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken, Error>;
}

/// `POST {authority}/{tenant}/oauth2/v2.0/token` with the client-assertion grant.
#[derive(Debug)]
pub(crate) struct EntraExchange {
    pub(crate) provider: &'static str,
    pub(crate) client: EntraClient,
}

#[async_trait::async_trait]
impl Exchange for EntraExchange {
    async fn exchange(
        &self,
        tenant: &str,
        client_id: &str,
        assertion: &Secret,
        scopes: &[&str],
        options: &TokenRequestOptions,
    ) -> Result<AccessToken, Error> {
        let grant = Grant::ClientAssertion { client_id, assertion };
        let response = self
            .client
            .request_token(self.provider, tenant, &grant, scopes, options)
            .await?;
        Ok(response.token)
    }
}
