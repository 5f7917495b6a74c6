//! `credchain token`: one token from the default chain, printed like `az account get-access-token`.

use credchain::{AccessToken, DefaultCredential, Error, TokenCredential, TokenRequestOptions, validate};
use jiff::tz::TimeZone;

use super::args::{TokenArgs, TokenOutput};
use super::json::{TokenJson, token_json};
use super::progress::with_progress;
use super::timefmt::{az_local_time, unix_seconds};
#[cfg(unix)]
use super::token_cache::{self, Entry, Inputs, TokenCacheDir};
use super::{ExitStatus, claims, exec_credential, terminal};

/// A token to print, fresh from the chain or from the cross-process cache.
struct Issued<'a> {
    secret: &'a str,
    expires_on: i64,
    token_type: &'a str,
    credential: &'a str,
}

/// Runs `credchain token`.
pub(crate) async fn run(args: &TokenArgs, progress: bool) -> ExitStatus {
    let scopes = args.scopes();
    // The chain's tenant middleware checks these too, before any provider runs; checking them
    // here first gives a one-line message instead of a chain report.
    if let Err(reason) = check_input(&scopes, args.tenant.as_deref()) {
        terminal::error(reason);
        return ExitStatus::Usage;
    }
    // kubectl's requested apiVersion is checked before anything runs, too.
    let exec_api_version = match args.output {
        TokenOutput::ExecCredential => match exec_info_api_version() {
            Ok(version) => Some(version),
            Err(reason) => {
                terminal::error(reason);
                return ExitStatus::Usage;
            }
        },
        _ => None,
    };
    let print = |issued: &Issued<'_>| print_token(args, exec_api_version, issued);
    // A claims challenge asks for a new token, so it never reads or fills the cache.
    if args.cache && args.claims.is_none() {
        return run_cached(args, &scopes, progress, print).await;
    }
    match fetch(args, &scopes, progress).await {
        Ok((token, credential)) => print(&Issued {
            secret: token.secret(),
            expires_on: unix_seconds(token.expires_on()),
            token_type: token.token_type(),
            credential: &credential,
        }),
        Err(status) => status,
    }
}

/// `--cache`: a usable entry is printed without building the chain; otherwise the first
/// process to take the lock fetches and stores, and the others wait and then find its entry.
#[cfg(unix)]
async fn run_cached(
    args: &TokenArgs,
    scopes: &[String],
    progress: bool,
    print: impl Fn(&Issued<'_>) -> ExitStatus,
) -> ExitStatus {
    let cache = match TokenCacheDir::open() {
        Ok(cache) => cache,
        Err(reason) => {
            terminal::error(reason);
            return ExitStatus::Failed;
        }
    };
    let fingerprint = Inputs::gather(scopes, args.tenant.as_deref()).fingerprint();
    let print_entry = |entry: &Entry| {
        print(&Issued {
            secret: &entry.access_token,
            expires_on: entry.expires_on,
            token_type: &entry.token_type,
            credential: &entry.credential,
        })
    };
    if let Some(entry) = cache.get(&fingerprint, now()) {
        tracing::debug!("token cache hit");
        return print_entry(&entry);
    }
    let lock = match cache.lock(token_cache::LOCK_WAIT).await {
        Ok(lock) => lock,
        Err(reason) => {
            terminal::error(reason);
            return ExitStatus::Failed;
        }
    };
    if lock.is_none() {
        terminal::note(format_args!(
            "warning: another `credchain token --cache` has held the token cache for {} s; getting a \
             token without the cache",
            token_cache::LOCK_WAIT.as_secs()
        ));
    }
    if let Some(entry) = cache.get(&fingerprint, now()) {
        tracing::debug!("token cache hit after waiting for another process");
        return print_entry(&entry);
    }
    let (token, credential) = match fetch(args, scopes, progress).await {
        Ok(fetched) => fetched,
        Err(status) => return status,
    };
    let issued = Issued {
        secret: token.secret(),
        expires_on: unix_seconds(token.expires_on()),
        token_type: token.token_type(),
        credential: &credential,
    };
    // Stored only with the lock held. The token is good even if it cannot be stored; say why
    // and go on.
    if lock.is_none() {
        return print(&issued);
    }
    if let Err(reason) = cache.put(
        &fingerprint,
        issued.secret,
        issued.expires_on,
        issued.token_type,
        issued.credential,
        now(),
    ) {
        terminal::note(format_args!("warning: {reason}"));
    }
    print(&issued)
}

/// `--cache` relies on Unix file ownership and modes to keep the cache private; elsewhere it is
/// refused rather than left unprotected.
#[cfg(not(unix))]
async fn run_cached(
    _args: &TokenArgs,
    _scopes: &[String],
    _progress: bool,
    _print: impl Fn(&Issued<'_>) -> ExitStatus,
) -> ExitStatus {
    terminal::error("--cache is not supported on this platform yet; run without it");
    ExitStatus::Usage
}

/// Gets a token from the default chain; the name of the provider that issued it comes along.
async fn fetch(
    args: &TokenArgs,
    scopes: &[String],
    progress: bool,
) -> Result<(AccessToken, String), ExitStatus> {
    let credential = DefaultCredential::new().map_err(|error| fail(&error))?;
    let mut options = TokenRequestOptions::new();
    if let Some(tenant) = &args.tenant {
        options = options.with_tenant_id(tenant.as_str());
    }
    if let Some(claims) = &args.claims {
        options = options.with_claims(claims.as_str());
    }
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let token = with_progress(
        progress,
        "getting a token from the default credential chain…".to_owned(),
        credential.get_token(&scope_refs, &options),
    )
    .await
    .map_err(|error| fail(&error))?;
    let chain = credential.chain();
    let issuer = chain.selected().unwrap_or_else(|| chain.name()).to_owned();
    Ok((token, issuer))
}

/// Prints `issued` in the chosen output format.
fn print_token(args: &TokenArgs, exec_api_version: Option<&str>, issued: &Issued<'_>) -> ExitStatus {
    let printed = match args.output {
        TokenOutput::Token => terminal::print_stdout(issued.secret),
        TokenOutput::ExecCredential => terminal::print_stdout(&exec_credential::document(
            exec_api_version.unwrap_or_default(),
            issued.secret,
            issued.expires_on,
        )),
        TokenOutput::Json => {
            let decoded = claims::decode(issued.secret).ok();
            let tenant = args
                .tenant
                .as_deref()
                .or_else(|| decoded.as_ref().and_then(|c| c.tid.as_deref()));
            terminal::print_stdout(&token_json(&TokenJson {
                access_token: issued.secret,
                credential: issued.credential,
                expires_on_local: az_local_time(issued.expires_on, &TimeZone::system()),
                expires_on: issued.expires_on,
                tenant,
                token_type: issued.token_type,
            }))
        }
    };
    printed.err().unwrap_or(ExitStatus::Success)
}

/// Now, in Unix seconds.
#[cfg(unix)]
fn now() -> i64 {
    unix_seconds(std::time::SystemTime::now())
}

/// The ExecCredential apiVersion that `KUBERNETES_EXEC_INFO` asks for.
fn exec_info_api_version() -> Result<&'static str, String> {
    let info = match std::env::var(exec_credential::EXEC_INFO_VAR) {
        Ok(info) => Some(info),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!("{} is not valid Unicode", exec_credential::EXEC_INFO_VAR));
        }
    };
    exec_credential::api_version(info.as_deref())
}

/// Rejects scopes and tenants that no provider would accept.
fn check_input(scopes: &[String], tenant: Option<&str>) -> Result<(), String> {
    for scope in scopes {
        validate::scope(scope)?;
    }
    if let Some(tenant) = tenant {
        validate::tenant_id(tenant)?;
    }
    Ok(())
}

/// Prints the chain's report (escaped) and gives the exit status for its kind.
fn fail(error: &Error) -> ExitStatus {
    terminal::error(error);
    ExitStatus::from_kind(error.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_checked_before_anything_runs() {
        let ok = ["https://management.azure.com/.default".to_owned()];
        assert!(check_input(&ok, None).is_ok());
        assert!(check_input(&ok, Some("contoso.onmicrosoft.com")).is_ok());
        for (scopes, tenant) in [
            (vec!["bad scope".to_owned()], None),
            (vec![String::new()], None),
            (ok.to_vec(), Some("bad|tenant")),
            (ok.to_vec(), Some("")),
        ] {
            let err = check_input(&scopes, tenant).expect_err("invalid");
            assert!(err.starts_with("invalid "), "{err}");
        }
    }
}
