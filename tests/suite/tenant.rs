//! Tenant policy through the public API: every row of azure-identity's `resolve_tenant` table
//! (`azure/identity/_internal/utils.py`, 1.27.0; credchain compares tenants ignoring ASCII case,
//! see the rows marked "credchain"), validation before the provider runs, and the allow-list
//! sources (builder, chain, `AZURE_ADDITIONALLY_ALLOWED_TENANTS`).

use credchain::testing::ScriptedCredential;
use credchain::{
    ChainedCredential, Env, ErrorKind, Layer, TenantPolicyLayer, TokenCredential, TokenRequestOptions,
};

const SCOPE: &[&str] = &["https://management.azure.com/.default"];

/// What the provider should be asked for, or the tenant named in the refusal.
enum Expect {
    Resolved(Option<&'static str>),
    NotAllowed(&'static str),
}

async fn run(
    home: Option<&str>,
    requested: Option<&str>,
    allowed: Option<&[&str]>,
    disable: Option<&str>,
) -> (Result<(), credchain::Error>, ScriptedCredential) {
    let mut provider = ScriptedCredential::new("Provider").always_ok("token");
    if let Some(home) = home {
        provider = provider.with_home_tenant(home);
    }
    let env = match disable {
        Some(value) => Env::from_pairs([("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", value)]),
        None => Env::empty(),
    };
    let credential = TenantPolicyLayer::new()
        .env(env)
        .additionally_allowed_tenants(allowed.unwrap_or(&[]).iter())
        .layer(provider.clone());
    let mut options = TokenRequestOptions::new();
    if let Some(requested) = requested {
        options = options.with_tenant_id(requested);
    }
    (credential.get_token(SCOPE, &options).await.map(drop), provider)
}

#[tokio::test]
async fn every_row_of_the_reference_table() {
    use Expect::*;
    /// (home tenant, requested tenant, allow-list, AZURE_IDENTITY_DISABLE_MULTITENANTAUTH, expected)
    type Row = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static [&'static str]>,
        Option<&'static str>,
        Expect,
    );
    let rows: &[Row] = &[
        (Some("tenant-a"), None, None, None, Resolved(Some("tenant-a"))),
        (
            Some("tenant-a"),
            Some("tenant-a"),
            None,
            None,
            Resolved(Some("tenant-a")),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            None,
            None,
            NotAllowed("tenant-b"),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            Some(&[]),
            None,
            NotAllowed("tenant-b"),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            Some(&["tenant-b"]),
            None,
            Resolved(Some("tenant-b")),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            Some(&["tenant-c"]),
            None,
            NotAllowed("tenant-b"),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            Some(&["*"]),
            None,
            Resolved(Some("tenant-b")),
        ),
        // credchain: the home tenant in another case is the home tenant, asked for in the home
        // tenant's spelling (azure-identity compares exactly and refuses it).
        (
            Some("tenant-a"),
            Some("TENANT-A"),
            None,
            None,
            Resolved(Some("tenant-a")),
        ),
        // credchain: allow-list entries match in any case (azure-identity: refused).
        (
            Some("tenant-a"),
            Some("tenant-b"),
            Some(&["TENANT-B"]),
            None,
            Resolved(Some("tenant-b")),
        ),
        // credchain: the special home tenants in any case.
        (Some("ADFS"), Some("tenant-b"), None, None, Resolved(Some("ADFS"))),
        (
            Some("Organizations"),
            Some("tenant-b"),
            Some(&["tenant-c"]),
            None,
            NotAllowed("tenant-b"),
        ),
        (Some(""), Some("tenant-b"), None, None, Resolved(Some("tenant-b"))),
        (Some(""), None, None, None, Resolved(None)),
        (None, Some("tenant-b"), None, None, Resolved(Some("tenant-b"))),
        (None, None, None, None, Resolved(None)),
        (
            Some("organizations"),
            Some("tenant-b"),
            None,
            None,
            Resolved(Some("tenant-b")),
        ),
        (
            Some("organizations"),
            Some("tenant-b"),
            Some(&[]),
            None,
            Resolved(Some("tenant-b")),
        ),
        (
            Some("organizations"),
            Some("tenant-b"),
            Some(&["tenant-c"]),
            None,
            NotAllowed("tenant-b"),
        ),
        (
            Some("organizations"),
            Some("tenant-b"),
            Some(&["tenant-b"]),
            None,
            Resolved(Some("tenant-b")),
        ),
        (
            Some("common"),
            Some("tenant-b"),
            None,
            None,
            NotAllowed("tenant-b"),
        ),
        (Some("adfs"), Some("tenant-b"), None, None, Resolved(Some("adfs"))),
        (
            Some("adfs"),
            Some("tenant-b"),
            Some(&["*"]),
            None,
            Resolved(Some("adfs")),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            Some(&["*"]),
            Some("true"),
            Resolved(Some("tenant-a")),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            None,
            Some("false"),
            Resolved(Some("tenant-a")),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            None,
            Some("0"),
            Resolved(Some("tenant-a")),
        ),
        (
            Some("tenant-a"),
            Some("tenant-b"),
            None,
            Some(""),
            NotAllowed("tenant-b"),
        ),
        (Some(""), Some("tenant-b"), None, Some("1"), Resolved(None)),
    ];
    for (i, (home, requested, allowed, disable, expect)) in rows.iter().enumerate() {
        let (result, provider) = run(*home, *requested, *allowed, *disable).await;
        match expect {
            Resolved(tenant) => {
                assert!(result.is_ok(), "row {i}: {result:?}");
                let seen = provider.requests();
                assert_eq!(seen.len(), 1, "row {i}");
                assert_eq!(seen[0].tenant_id.as_deref(), *tenant, "row {i}");
            }
            NotAllowed(tenant) => {
                let err = result.expect_err(&format!("row {i} must be refused"));
                assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "row {i}");
                assert!(
                    err.message().contains(&format!("tenant `{tenant}`")),
                    "row {i}: {err}"
                );
                assert!(
                    err.message().contains("additionally_allowed_tenants"),
                    "row {i}: {err}"
                );
                assert_eq!(provider.calls(), 0, "row {i}: the provider must not run");
            }
        }
    }
}

#[tokio::test]
async fn an_empty_requested_tenant_is_invalid_input_not_a_tenant() {
    // azure-identity reaches the allow-list with "" and refuses "tenant ."; we reject it earlier.
    let (result, provider) = run(Some("tenant-a"), Some(""), None, None).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(provider.calls(), 0);
}

#[tokio::test]
async fn bad_tenants_and_scopes_never_reach_the_provider() {
    let provider = ScriptedCredential::new("Provider").always_ok("token");
    let credential = TenantPolicyLayer::new().env(Env::empty()).layer(provider.clone());
    for tenant in ["my tenant", "a/b", "t;rm -rf", "ténant", "x\ny"] {
        let options = TokenRequestOptions::new().with_tenant_id(tenant);
        let err = credential.get_token(SCOPE, &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{tenant}");
        assert!(
            !err.to_string().contains('\n'),
            "control characters are escaped: {err}"
        );
    }
    for scope in [
        "",
        "https://x/.default offline_access",
        "https://x/?a=b",
        "$(reboot)",
    ] {
        let err = credential
            .get_token(&[scope], &TokenRequestOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{scope}");
    }
    let err = credential
        .get_token(&[], &TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(provider.calls(), 0);
}

#[tokio::test]
async fn environment_allow_list_is_semicolon_separated_and_adds_to_the_builder_list() {
    let provider = ScriptedCredential::new("Provider")
        .with_home_tenant("home")
        .always_ok("token");
    let env = Env::from_pairs([("AZURE_ADDITIONALLY_ALLOWED_TENANTS", "t1; t2")]);
    let credential = TenantPolicyLayer::new()
        .env(env)
        .additionally_allowed_tenants(["t3"])
        .layer(provider);
    for allowed in ["t1", "t2", "t3"] {
        let options = TokenRequestOptions::new().with_tenant_id(allowed);
        assert!(credential.get_token(SCOPE, &options).await.is_ok(), "{allowed}");
    }
    let options = TokenRequestOptions::new().with_tenant_id("t4");
    assert_eq!(
        credential.get_token(SCOPE, &options).await.unwrap_err().kind(),
        ErrorKind::AuthenticationFailed
    );
}

#[tokio::test]
async fn chain_wide_and_per_provider_allow_lists() {
    let a = ScriptedCredential::new("A")
        .with_home_tenant("home")
        .always_ok("a");
    let b = ScriptedCredential::new("B")
        .with_home_tenant("home")
        .always_ok("b");
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .additionally_allowed_tenants(["everyone"])
        .entry(credchain::ProviderEntry::new(a.clone()).additionally_allowed_tenants(["only-a"]))
        .provider(b.clone())
        .build()
        .unwrap();
    let only_a = TokenRequestOptions::new().with_tenant_id("only-a");
    assert_eq!(chain.get_token(SCOPE, &only_a).await.unwrap().secret(), "a");
    let everyone = TokenRequestOptions::new().with_tenant_id("everyone");
    assert_eq!(chain.get_token(SCOPE, &everyone).await.unwrap().secret(), "a");

    let chain_b = ChainedCredential::builder()
        .env(Env::empty())
        .additionally_allowed_tenants(["everyone"])
        .provider(b)
        .build()
        .unwrap();
    assert_eq!(
        chain_b.get_token(SCOPE, &only_a).await.unwrap_err().kind(),
        ErrorKind::AuthenticationFailed
    );
}

#[tokio::test]
async fn a_cached_token_never_bypasses_the_tenant_check() {
    let provider = ScriptedCredential::new("Provider")
        .with_home_tenant("home")
        .always_ok("token");
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .sticky(true)
        .provider(provider.clone())
        .build()
        .unwrap();
    chain.get_token(SCOPE, &TokenRequestOptions::new()).await.unwrap();
    // Same scopes, now for a tenant that is not allowed: refused, although a token is cached.
    let other = TokenRequestOptions::new().with_tenant_id("intruder");
    assert_eq!(
        chain.get_token(SCOPE, &other).await.unwrap_err().kind(),
        ErrorKind::AuthenticationFailed
    );
    assert_eq!(provider.calls(), 1);
}

/// A chain entry (as `DefaultCredential` builds them) whose provider's home tenant is
/// `organizations` and whose allow-list is `["t1"]`: the list restricts, it does not widen.
#[tokio::test]
async fn a_restricted_allow_list_restricts_an_organizations_provider_in_a_chain() {
    let provider = ScriptedCredential::new("Provider")
        .with_home_tenant("organizations")
        .always_ok("token");
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .sticky(true)
        .additionally_allowed_tenants(["t1"])
        .provider(provider.clone())
        .build()
        .unwrap();
    let t1 = TokenRequestOptions::new().with_tenant_id("t1");
    assert!(chain.get_token(SCOPE, &t1).await.is_ok());
    assert_eq!(provider.requests()[0].tenant_id.as_deref(), Some("t1"));

    let t2 = TokenRequestOptions::new().with_tenant_id("t2");
    let err = chain.get_token(SCOPE, &t2).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
    assert!(err.to_string().contains("tenant `t2`"), "{err}");
    assert!(err.to_string().contains("additionally_allowed_tenants"), "{err}");
    assert_eq!(
        provider.calls(),
        1,
        "the refused request never reached the provider"
    );
}

#[tokio::test]
async fn an_allow_list_serves_its_tenant_for_a_provider_with_a_specific_home_tenant() {
    let provider = ScriptedCredential::new("Provider")
        .with_home_tenant("home")
        .always_ok("token");
    let credential = credchain::DefaultCredential::builder()
        .env(Env::empty())
        .exclude_environment_credential(true)
        .exclude_workload_identity_credential(true)
        .exclude_managed_identity_credential(true)
        .exclude_visual_studio_code_credential(true)
        .exclude_cli_credential(true)
        .additionally_allowed_tenants(["t1"])
        .push(credchain::ProviderEntry::new(provider.clone()))
        .build()
        .unwrap();
    let t1 = TokenRequestOptions::new().with_tenant_id("t1");
    assert!(credential.get_token(SCOPE, &t1).await.is_ok());
    assert_eq!(provider.requests()[0].tenant_id.as_deref(), Some("t1"));
    let t2 = TokenRequestOptions::new().with_tenant_id("t2");
    let err = credential.get_token(SCOPE, &t2).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{err}");
}

#[tokio::test]
async fn a_star_allow_list_allows_every_tenant() {
    let provider = ScriptedCredential::new("Provider")
        .with_home_tenant("home")
        .always_ok("token");
    let credential = TenantPolicyLayer::new()
        .env(Env::empty())
        .additionally_allowed_tenants(["*"])
        .layer(provider.clone());
    for tenant in ["t1", "t2", "organizations", "ANOTHER-ONE"] {
        let options = TokenRequestOptions::new().with_tenant_id(tenant);
        assert!(credential.get_token(SCOPE, &options).await.is_ok(), "{tenant}");
    }
    let seen: Vec<_> = provider
        .requests()
        .iter()
        .map(|r| r.tenant_id.as_deref().map(str::to_owned))
        .collect();
    assert_eq!(
        seen,
        [Some("t1"), Some("t2"), Some("organizations"), Some("ANOTHER-ONE")].map(|t| t.map(str::to_owned))
    );
}

#[tokio::test]
async fn the_home_tenant_in_another_case_shares_the_cached_token() {
    let provider = ScriptedCredential::new("Provider")
        .with_home_tenant("tenant-a")
        .always_ok("token");
    let chain = ChainedCredential::builder()
        .env(Env::empty())
        .provider(provider.clone())
        .build()
        .unwrap();
    for tenant in ["tenant-a", "TENANT-A", "Tenant-A"] {
        let options = TokenRequestOptions::new().with_tenant_id(tenant);
        assert!(chain.get_token(SCOPE, &options).await.is_ok(), "{tenant}");
    }
    assert_eq!(provider.calls(), 1);
}

#[tokio::test]
async fn a_claims_challenge_that_is_not_a_json_object_never_reaches_the_provider() {
    let provider = ScriptedCredential::new("Provider").always_ok("token");
    let credential = TenantPolicyLayer::new().env(Env::empty()).layer(provider.clone());
    for claims in [
        "not json",
        "[1]",
        &format!("{{\"a\":\"{}\"}}", "x".repeat(17 * 1024)),
    ] {
        let options = TokenRequestOptions::new().with_claims(claims);
        let err = credential.get_token(SCOPE, &options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.message().contains("claims challenge"), "{err}");
    }
    assert_eq!(provider.calls(), 0);
    let ok = TokenRequestOptions::new().with_claims(r#"{"access_token":{}}"#);
    assert!(credential.get_token(SCOPE, &ok).await.is_ok());
}
