//! The standing fault suite (issue 14): for each provider, a table of hostile upstream
//! behaviours — hang, slow drip, flood, early close, garbage, absurd numbers — and, for each
//! row, the documented outcome (error kind and what the message says, never the token), a
//! bound on time (the request's deadline plus a margin), a bound on memory (a flood is cut at
//! the documented cap, which the error names) and, for `az`, that no process is left behind.
//!
//! One table-driven test per provider; adding a row is one line in its table. Signals to the
//! parent (`SIGTERM`, `SIGHUP`, `SIGQUIT`, `SIGINT` reaching the `credchain` binary while `az`
//! hangs) are covered by `cli.rs` (`sigterm_stops_az_and_exits_143` and its siblings).

mod azure_cli;
mod environment;
mod managed_identity;
mod vscode;
mod workload_identity;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use credchain::{ErrorKind, TokenCache, TokenCredential, TokenRequestOptions};
use credchain_fake_entra::Misbehaviour;

/// The access token every hostile answer carries where a token goes: no message may show it.
/// JWT-shaped like a real one, since that is what credential-shaped text is recognised by.
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.eyJmYXVsdC1zdWl0ZSI6dHJ1ZX0.RkFVTFQtU1VJVEUtZDJhMWYwN2M";
/// The secret each provider sends upstream (client secret, refresh token, identity header):
/// no message may show it either.
pub const SECRET: &str = "FAULT-SUITE-SECRET-5be94e1a";
/// The scope every row asks for.
pub const SCOPE: &str = "https://management.azure.com/.default";
/// Each call's deadline: short, so the whole suite stays fast.
pub const DEADLINE: Duration = Duration::from_millis(1500);
/// How long after its deadline a call may still return (slow, shared CI machines).
pub const MARGIN: Duration = Duration::from_secs(4);
/// The documented cap on a response body from a token endpoint, as the error names it.
pub const HTTP_BODY_CAP: &str = "larger than 1048576 bytes";
/// What the token client says when a call's deadline passes before an answer.
pub const NO_ANSWER_IN_TIME: &str = "did not answer within the request's deadline";
/// One byte per this long: the slow drip.
pub const DRIP: Duration = Duration::from_millis(100);

/// What a row expects from `get_token`.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// An error of this kind whose message contains every fragment (ASCII case-insensitive).
    Fails(ErrorKind, &'static [&'static str]),
    /// A token (the hostile answer was odd but usable); it is also served through a cache.
    Token,
}

/// One row of an HTTP provider's table.
#[derive(Debug, Clone)]
pub struct HttpRow {
    pub name: &'static str,
    pub misbehaviour: Misbehaviour,
    pub expect: Expect,
}

/// A row: `name`, what the upstream does, what the call must do.
pub fn row(name: &'static str, misbehaviour: Misbehaviour, expect: Expect) -> HttpRow {
    HttpRow {
        name,
        misbehaviour,
        expect,
    }
}

/// A `200` answer with `body`, in which `{TOKEN}` stands for [`TOKEN`].
pub fn ok_body(body: &str) -> Misbehaviour {
    Misbehaviour::Reply {
        status: 200,
        body: body.replace("{TOKEN}", TOKEN),
    }
}

/// The table every provider that talks to Microsoft Entra through `credchain-entra`
/// (environment, VS Code, workload identity) must pass: the upstream and the client are the
/// same, so are the outcomes.
#[rustfmt::skip] // one row per line
pub fn entra_table() -> Vec<HttpRow> {
    use ErrorKind::*;
    use Expect::*;
    const OUT_OF_RANGE: &[&str] = &["(HTTP 200)", "`expires_in` is out of range"];
    vec![
        row("hang", Misbehaviour::Hang, Fails(Timeout, &[NO_ANSWER_IN_TIME, "1.5 s"])),
        row("slow drip", Misbehaviour::Drip(DRIP), Fails(Timeout, &[NO_ANSWER_IN_TIME])),
        row("slow drip of the body", Misbehaviour::DripBody(DRIP), Fails(Timeout, &[NO_ANSWER_IN_TIME])),
        row("flood body", Misbehaviour::FloodBody, Fails(Transient, &[HTTP_BODY_CAP])),
        row("flood headers", Misbehaviour::FloodHeaders, Fails(Transient, &["message head is too large"])),
        row("early close", Misbehaviour::EarlyClose, Fails(Transient, &["end of file before message length reached"])),
        row("garbage bytes", Misbehaviour::Garbage, Fails(Transient, &["invalid HTTP"])),
        row("200 not JSON", ok_body("<html>{TOKEN}</html>"), Fails(AuthenticationFailed, &["(HTTP 200)", "not JSON"])),
        row("expires_in 1e300", ok_body(r#"{"access_token":"{TOKEN}","expires_in":1e300}"#), Fails(AuthenticationFailed, OUT_OF_RANGE)),
        row("expires_in u64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_in":18446744073709551615}"#), Fails(AuthenticationFailed, OUT_OF_RANGE)),
        row("expires_in i64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_in":9223372036854775807}"#), Fails(AuthenticationFailed, OUT_OF_RANGE)),
        row("expires_in negative", ok_body(r#"{"access_token":"{TOKEN}","expires_in":-3600}"#), Fails(AuthenticationFailed, &["(HTTP 200)", "`expires_in` is not a usable number of seconds"])),
        row("expires_on u64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_on":18446744073709551615}"#), Fails(AuthenticationFailed, &["`expires_on` is out of range"])),
        row("expires_on year 9999", ok_body(r#"{"access_token":"{TOKEN}","expires_on":253402300799}"#), Token),
        row("refresh_in u64::MAX", ok_body(r#"{"access_token":"{TOKEN}","expires_in":3600,"refresh_in":18446744073709551615}"#), Token),
    ]
}

/// Options with the suite's deadline, starting now.
pub fn options() -> TokenRequestOptions {
    TokenRequestOptions::new().with_deadline(Instant::now() + DEADLINE)
}

/// Runs `call` once and checks it against `expect`: the outcome, the time bound, and that
/// neither the error's `Display` nor its `Debug` shows [`TOKEN`], [`SECRET`] or any of `hidden`. For [`Expect::Token`] the
/// same provider is asked again through credchain's [`TokenCache`] (absurd expiry times must
/// not break the cache's arithmetic either). Returns what went wrong, if anything.
pub async fn check<C>(name: &str, expect: Expect, hidden: &[&str], make: impl Fn() -> C) -> Option<String>
where
    C: TokenCredential + 'static,
{
    let provider = make();
    let started = Instant::now();
    let result = provider.get_token(&[SCOPE], &options()).await;
    let elapsed = started.elapsed();
    let mut problems = String::new();
    if elapsed > DEADLINE + MARGIN {
        let _ = write!(problems, "took {elapsed:?} (deadline {DEADLINE:?}); ");
    }
    match (&result, expect) {
        (Err(error), Expect::Fails(kind, says)) => {
            let text = error.to_string();
            if error.kind() != kind {
                let _ = write!(problems, "kind {:?}, expected {kind:?}; ", error.kind());
            }
            let lower = text.to_ascii_lowercase();
            for fragment in says {
                if !lower.contains(&fragment.to_ascii_lowercase()) {
                    let _ = write!(problems, "message lacks {fragment:?}; ");
                }
            }
        }
        (Ok(token), Expect::Token) => {
            if token.secret() != TOKEN {
                problems.push_str("a token other than the upstream's; ");
            }
            let cached = TokenCache::new(make());
            if let Err(e) = cached.get_token(&[SCOPE], &options()).await {
                let _ = write!(problems, "through the cache: {e}; ");
            }
        }
        (Ok(_), Expect::Fails(..)) => problems.push_str("got a token; "),
        (Err(_), Expect::Token) => problems.push_str("expected a token; "),
    }
    if let Err(error) = &result
        && [TOKEN, SECRET]
            .iter()
            .chain(hidden)
            .any(|s| error.to_string().contains(s) || format!("{error:?}").contains(s))
    {
        problems.push_str("THE ERROR SHOWS THE TOKEN OR THE SECRET; ");
    }
    let outcome = match &result {
        Ok(_) => "token".to_owned(),
        Err(e) => format!("{:?}: {e}", e.kind()),
    };
    (!problems.is_empty()).then(|| format!("{name}: {problems}\n    got {outcome}"))
}

/// Fails the test with every row that went wrong, one per line.
pub fn report(provider: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{provider}: {} fault row(s) went wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
