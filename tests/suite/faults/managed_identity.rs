//! ManagedIdentityCredential against a hostile managed identity endpoint over plain loopback
//! HTTP, both as App Service (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) and as IMDS
//! (`AZURE_POD_IDENTITY_AUTHORITY_HOST`). An empty in-memory file system keeps the host's Azure
//! Arc agent files out of source detection.

use credchain::{Env, ErrorKind};
use credchain_core::ProviderContext;
use credchain_core::fs::MemoryFileSystem;
use credchain_fake_entra::{HostileServer, Misbehaviour};
use credchain_managed_identity::ManagedIdentityCredential;

use super::{DRIP, Expect, HttpRow, SECRET, check, ok_body, report, row};

/// The body cap of managed identity responses (64 KiB, README), as the error names it.
const MI_BODY_CAP: &str = "larger than 65536 bytes";
/// An answer that came but could not be read is not called "no response".
const UNUSABLE: &str = "no usable response from";

/// The table for one source. An endpoint that never answers in time is retried until the
/// caller's deadline ends the request: *timed out*. Answers that are not HTTP, cut short or over
/// the cap are retried like no answer for IMDS used alone (nothing proves IMDS is there), so the
/// deadline ends those too; for App Service, whose endpoint is known to be there, they are not
/// retried and fail (*authentication failed*: a retry cannot fix them).
#[rustfmt::skip] // one row per line
fn table(source: &'static str) -> Vec<HttpRow> {
    use ErrorKind::*;
    use Expect::*;
    let imds = source == "IMDS";
    let no_answer = if imds { Timeout } else { AuthenticationFailed };
    let unusable = if imds { UNUSABLE } else { "endpoint could not be used" };
    let deadline: &'static [&'static str] = if imds {
        &["no response from the IMDS endpoint", "the request's deadline is too near"]
    } else {
        &["no response from the App Service managed identity endpoint", "the request's deadline is too near"]
    };
    const BAD_EXPIRES_IN: &[&str] = &["answered 200", "no valid `expires_in`"];
    vec![
        row("hang", Misbehaviour::Hang, Fails(Timeout, deadline)),
        row("slow drip", Misbehaviour::Drip(DRIP), Fails(Timeout, deadline)),
        row("slow drip of the body", Misbehaviour::DripBody(DRIP), Fails(Timeout, deadline)),
        row("flood body", Misbehaviour::FloodBody, Fails(no_answer, both(unusable, MI_BODY_CAP))),
        row("flood headers", Misbehaviour::FloodHeaders, Fails(no_answer, both(unusable, "message head is too large"))),
        row("early close", Misbehaviour::EarlyClose, Fails(no_answer, both(unusable, "end of file before message length reached"))),
        row("garbage bytes", Misbehaviour::Garbage, Fails(no_answer, both(unusable, "invalid HTTP"))),
        row("200 not JSON", ok_body("<html>{TOKEN}</html>"), Fails(AuthenticationFailed, &["answered 200", "not a JSON token response"])),
        row("expires_in 1e300", ok_body(r#"{"access_token":"{TOKEN}","expires_in":1e300}"#), Fails(AuthenticationFailed, BAD_EXPIRES_IN)),
        row("expires_in u64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_in":18446744073709551615}"#), Fails(AuthenticationFailed, BAD_EXPIRES_IN)),
        row("expires_in i64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_in":"9223372036854775807"}"#), Fails(AuthenticationFailed, BAD_EXPIRES_IN)),
        row("expires_in negative", ok_body(r#"{"access_token":"{TOKEN}","expires_in":-3600}"#), Fails(AuthenticationFailed, BAD_EXPIRES_IN)),
        row("expires_on 1e300", ok_body(r#"{"access_token":"{TOKEN}","expires_on":1e300}"#), Fails(AuthenticationFailed, &["answered 200", "`expires_on`"])),
        row("expires_on u64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_on":"18446744073709551615"}"#), Fails(AuthenticationFailed, &["answered 200", "`expires_on`"])),
        row("expires_on year 9999", ok_body(r#"{"access_token":"{TOKEN}","expires_on":"253402300799"}"#), Token),
        row("refresh_in u64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_in":3600,"refresh_in":18446744073709551615}"#), Token),
    ]
}

/// Two expected message parts as the `'static` slice a row holds (a test leaks a few bytes).
fn both(first: &'static str, second: &'static str) -> &'static [&'static str] {
    Box::leak(Box::new([first, second]))
}

/// The variables that make the credential use `server` as `source`.
fn variables(source: &str, server: &HostileServer) -> Vec<(String, String)> {
    let pairs = match source {
        "App Service" => vec![
            ("IDENTITY_ENDPOINT", format!("{}/msi/token", server.base_url())),
            ("IDENTITY_HEADER", SECRET.to_owned()),
        ],
        _ => vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.base_url().to_owned())],
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[tokio::test]
async fn managed_identity_credential_survives_a_hostile_endpoint() {
    let mut problems = Vec::new();
    for source in ["App Service", "IMDS"] {
        for HttpRow {
            name,
            misbehaviour,
            expect,
        } in table(source)
        {
            let server = HostileServer::http(misbehaviour).await.expect("hostile server");
            let env = Env::from_pairs(variables(source, &server));
            let make = || {
                ManagedIdentityCredential::builder()
                    .context(
                        ProviderContext::new()
                            .with_env(env.clone())
                            .with_fs(MemoryFileSystem::new()),
                    )
                    .build()
            };
            let name = format!("{source}, {name}");
            problems.extend(check(&name, expect, &[], make).await);
        }
    }
    report("ManagedIdentityCredential", problems);
}
