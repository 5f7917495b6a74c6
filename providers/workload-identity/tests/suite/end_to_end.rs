//! WorkloadIdentityCredential end to end: configuration from variables, the grant it sends,
//! rotation of the token file, the retry on `AADSTS700024`, and 1,000 callers through
//! credchain's token cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use credchain::TokenCache;
use credchain_core::fs::{FileSystem, ReadFileError, RealFileSystem};
use credchain_core::{Env, ErrorKind, FakeClock, ProviderContext, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::{FakeEntra, decode_jwt, federated_token};
use credchain_workload_identity::WorkloadIdentityCredential;

const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const APP: &str = "11111111-2222-3333-4444-555555555555";
const SCOPE: &str = "https://vault.azure.net/.default";
const ISSUER: &str = "https://oidc.prod-aks.azure.com/72f988bf-0000-4000-8000-000000000001/";
const SUBJECT: &str = "system:serviceaccount:default:workload";

/// Counts reads of the real file system.
#[derive(Debug, Clone, Default)]
struct CountingFs(Arc<AtomicUsize>);

impl FileSystem for CountingFs {
    fn read(&self, path: &Path, limit: u64) -> Result<zeroize::Zeroizing<Vec<u8>>, ReadFileError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        RealFileSystem.read(path, limit)
    }

    fn is_file(&self, path: &Path) -> bool {
        RealFileSystem.is_file(path)
    }
}

struct Setup {
    entra: FakeEntra,
    _dir: tempfile::TempDir,
    file: PathBuf,
    reads: CountingFs,
}

impl Setup {
    async fn new() -> Setup {
        let entra = FakeEntra::builder()
            .federated_credential(TENANT, APP, ISSUER, SUBJECT)
            .start()
            .await
            .expect("fake Entra starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("azure-identity-token");
        Setup {
            entra,
            _dir: dir,
            file,
            reads: CountingFs::default(),
        }
    }

    fn write(&self, token: &str) {
        // Kubernetes swaps the projected file atomically; a rename does the same here.
        let next = self.file.with_extension("next");
        std::fs::write(&next, format!("{token}\n")).expect("write token");
        std::fs::rename(&next, &self.file).expect("rename token");
    }

    /// The variables a workload-identity pod gets, pointing at the fake.
    fn context(&self) -> ProviderContext {
        let file = self.file.display().to_string();
        let ca = self.entra.ca_pem_path().display().to_string();
        ProviderContext::new()
            .with_env(Env::from_pairs([
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", APP),
                ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
                ("AZURE_AUTHORITY_HOST", self.entra.authority().as_str()),
                ("SSL_CERT_FILE", ca.as_str()),
            ]))
            .with_fs(self.reads.clone())
    }

    fn credential(&self, context: ProviderContext) -> WorkloadIdentityCredential {
        WorkloadIdentityCredential::builder()
            .context(context)
            .build()
            .expect("configured")
    }

    fn reads(&self) -> usize {
        self.reads.0.load(Ordering::SeqCst)
    }

    fn sent_assertions(&self) -> Vec<String> {
        self.entra
            .requests()
            .iter()
            .filter_map(|r| r.form_value("client_assertion").map(str::to_owned))
            .collect()
    }
}

fn valid(subject: &str) -> String {
    federated_token(ISSUER, subject, SystemTime::now() + Duration::from_secs(3600))
}

fn expired() -> String {
    federated_token(ISSUER, SUBJECT, SystemTime::now() - Duration::from_secs(60))
}

async fn get(
    credential: &impl TokenCredential,
) -> Result<credchain_core::AccessToken, credchain_core::Error> {
    credential
        .get_token(&[SCOPE], &TokenRequestOptions::default())
        .await
}

#[tokio::test]
async fn exchanges_the_token_file_for_an_access_token_with_the_client_assertion_grant() {
    let s = Setup::new().await;
    let token = valid(SUBJECT);
    s.write(&token);
    let credential = s.credential(s.context());
    assert_eq!(credential.home_tenant(), Some(TENANT));
    let access = get(&credential).await.expect("token");
    let claims = decode_jwt(access.secret()).expect("JWT").claims;
    assert_eq!(
        (claims["appid"].as_str(), claims["tid"].as_str()),
        (Some(APP), Some(TENANT))
    );

    let requests = s.entra.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", &*format!("/{TENANT}/oauth2/v2.0/token"))
    );
    let fields: Vec<(&str, &str)> = r.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("client_assertion", token.as_str()), // trimmed: the file ends with a newline
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            ),
            ("client_id", APP),
            ("client_info", "1"), // credchain-entra asks for it on every grant, as MSAL does
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
        ]
    );
}

#[tokio::test]
async fn rotation_mid_run_succeeds_without_a_restart() {
    let s = Setup::new().await;
    s.write(&expired());
    let credential = s.credential(s.context());
    let err = get(&credential)
        .await
        .expect_err("the file holds an expired token");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    let m = err.message();
    assert!(
        m.starts_with(
            "Microsoft Entra ID refused the federated token (HTTP 401, `invalid_client`): AADSTS700024"
        ),
        "{m}"
    );
    assert!(
        !m.contains("certificate is registered"),
        "no certificate hint for a federated token: {m}"
    );
    assert!(
        m.contains("still holds the same token") && m.contains(&s.file.display().to_string()),
        "{m}"
    );
    // Read again after the refusal, but not sent again: it had not changed.
    assert_eq!((s.entra.token_request_count(), s.reads()), (1, 2));

    // The kubelet rotates the file; the same credential picks it up.
    let rotated = valid(SUBJECT);
    s.write(&rotated);
    get(&credential).await.expect("the rotated token is used");
    assert_eq!(s.sent_assertions().last(), Some(&rotated));
    assert_eq!(s.entra.token_request_count(), 2);
}

#[tokio::test]
async fn an_assertion_entra_calls_expired_is_read_again_and_retried_once() {
    let s = Setup::new().await;
    // Our clock is two hours behind Entra's, so by our clock the token still has hours to live
    // and stays cached, while Entra already calls it expired.
    let behind = FakeClock::at_unix(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            - 7200,
    );
    let old = expired();
    s.write(&old);
    let credential = s.credential(s.context().with_clock(behind));
    get(&credential)
        .await
        .expect_err("refused; the file has not changed yet");
    let rotated = valid(SUBJECT);
    s.write(&rotated);
    get(&credential)
        .await
        .expect("refused once more, then retried with the rotated file");
    assert_eq!(s.sent_assertions(), [old.clone(), old, rotated]);
}

#[tokio::test]
async fn an_unknown_subject_is_refused_with_aadsts70021_and_not_retried() {
    let s = Setup::new().await;
    s.write(&valid("system:serviceaccount:other:sa"));
    let credential = s.credential(s.context());
    let err = get(&credential)
        .await
        .expect_err("no federated credential matches");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(
        err.message().starts_with(
            "Microsoft Entra ID refused the federated token (HTTP 400, `invalid_request`): AADSTS70021: \
             No matching federated identity record found for presented assertion."
        ),
        "{err}"
    );
    assert!(
        err.message().contains(&format!(
            "add a federated credential to the app or managed identity `{APP}`"
        )),
        "{err}"
    );
    assert_eq!((s.entra.token_request_count(), s.reads()), (1, 1));
}

#[tokio::test]
async fn a_missing_or_empty_file_is_an_error_naming_the_path_and_nothing_is_sent() {
    let s = Setup::new().await;
    let credential = s.credential(s.context());
    let path = s.file.display().to_string();
    let err = get(&credential).await.expect_err("no file yet");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert!(
        err.message().contains(&format!(
            "`{path}` (from `AZURE_FEDERATED_TOKEN_FILE`): it does not exist"
        )),
        "{err}"
    );
    s.write("");
    let err = get(&credential).await.expect_err("empty");
    assert!(
        err.message().contains(&format!("`{path}`")) && err.message().contains("is empty"),
        "{err}"
    );
    assert_eq!(s.entra.token_request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cold_callers_through_the_cache_make_one_token_request_and_one_read() {
    let s = Setup::new().await;
    s.write(&valid(SUBJECT));
    let cache = Arc::new(TokenCache::new(s.credential(s.context())));
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { get(&*cache).await.map(|t| t.secret().to_owned()) })
        })
        .collect();
    let tokens: Vec<String> = futures::future::join_all(callers)
        .await
        .into_iter()
        .map(|joined| joined.expect("task").expect("token"))
        .collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(s.entra.token_request_count(), 1);
    assert_eq!(s.reads(), 1);
}

#[tokio::test]
async fn in_a_chain_not_configured_moves_on_and_a_configured_but_broken_file_stops() {
    use credchain::ChainedCredential;
    use credchain::testing::StaticCredential;

    let s = Setup::new().await;
    let unconfigured = WorkloadIdentityCredential::builder()
        .context(ProviderContext::new().with_env(Env::from_pairs([("AZURE_CLIENT_ID", APP)])))
        .build_for_chain();
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .provider(unconfigured)
        .provider(StaticCredential::new("Next", "next-token"))
        .build()
        .expect("chain");
    assert_eq!(get(&chain).await.expect("moved on").secret(), "next-token");

    // Configured, but the file is not there: the user meant workload identity, so say why.
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .provider(
            WorkloadIdentityCredential::builder()
                .context(s.context())
                .build_for_chain(),
        )
        .provider(StaticCredential::new("Next", "next-token"))
        .build()
        .expect("chain");
    let err = get(&chain).await.expect_err("stops");
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    assert_eq!(err.attempts().len(), 1, "{err}");
    assert!(err.to_string().contains("it does not exist"), "{err}");
}
