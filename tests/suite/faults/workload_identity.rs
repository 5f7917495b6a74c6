//! WorkloadIdentityCredential against a hostile token endpoint: a valid federated token file,
//! `AZURE_AUTHORITY_HOST` pointed at the hostile server, `SSL_CERT_FILE` trusting its CA.

use std::time::{Duration, SystemTime};

use credchain::Env;
use credchain_core::ProviderContext;
use credchain_fake_entra::{HostileServer, federated_token};
use credchain_workload_identity::WorkloadIdentityCredential;

use super::{HttpRow, check, entra_table, report};

const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const APP: &str = "11111111-2222-3333-4444-555555555555";
const ISSUER: &str = "https://oidc.prod-aks.azure.com/72f988bf-0000-4000-8000-000000000001/";
const SUBJECT: &str = "system:serviceaccount:default:workload";

#[tokio::test]
async fn workload_identity_credential_survives_a_hostile_token_endpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("azure-identity-token");
    let assertion = federated_token(ISSUER, SUBJECT, SystemTime::now() + Duration::from_secs(3600));
    std::fs::write(&file, &assertion).expect("token file");
    let file = file.display().to_string();
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
            ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
            ("AZURE_AUTHORITY_HOST", server.base_url()),
            ("SSL_CERT_FILE", ca.as_str()),
        ]);
        let make = || {
            WorkloadIdentityCredential::builder()
                .context(ProviderContext::new().with_env(env.clone()))
                .build()
                .expect("WorkloadIdentityCredential builds")
        };
        problems.extend(check(name, expect, &[&assertion], make).await);
    }
    report("WorkloadIdentityCredential", problems);
}
