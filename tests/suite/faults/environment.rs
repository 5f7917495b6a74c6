//! EnvironmentCredential (client secret) against a hostile token endpoint:
//! `AZURE_AUTHORITY_HOST` points at it, `SSL_CERT_FILE` trusts its CA.

use credchain::{Env, EnvironmentCredential};
use credchain_fake_entra::HostileServer;

use super::{HttpRow, SECRET, check, entra_table, report};

const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const APP: &str = "11111111-2222-3333-4444-555555555555";

#[tokio::test]
async fn environment_credential_survives_a_hostile_token_endpoint() {
    let mut problems = Vec::new();
    for HttpRow {
        name,
        misbehaviour,
        expect,
    } in entra_table()
    {
        let server = HostileServer::https(misbehaviour).await.expect("hostile server");
        let ca = server.ca_pem_path().expect("https").display().to_string();
        let env = Env::from_pairs([
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", APP),
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_AUTHORITY_HOST", server.base_url()),
            ("SSL_CERT_FILE", ca.as_str()),
        ]);
        let make = || EnvironmentCredential::builder().env(env.clone()).build();
        problems.extend(check(name, expect, &[], make).await);
    }
    report("EnvironmentCredential", problems);
}
