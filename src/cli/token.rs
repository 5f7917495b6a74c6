//! `credchain token`: one token from the default chain, printed like `az account get-access-token`.

use credchain::{DefaultCredential, Error, TokenCredential, TokenRequestOptions, validate};
use jiff::tz::TimeZone;

use super::args::{TokenArgs, TokenOutput};
use super::json::{TokenJson, token_json};
use super::progress::with_progress;
use super::timefmt::{az_local_time, unix_seconds};
use super::{ExitStatus, claims, exec_credential, terminal};

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
    let credential = match DefaultCredential::new() {
        Ok(credential) => credential,
        Err(error) => return fail(&error),
    };
    let mut options = TokenRequestOptions::new();
    if let Some(tenant) = &args.tenant {
        options = options.with_tenant_id(tenant.as_str());
    }
    if let Some(claims) = &args.claims {
        options = options.with_claims(claims.as_str());
    }
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let result = with_progress(
        progress,
        "getting a token from the default credential chain…".to_owned(),
        credential.get_token(&scope_refs, &options),
    )
    .await;
    let token = match result {
        Ok(token) => token,
        Err(error) => return fail(&error),
    };
    let printed = match args.output {
        TokenOutput::Token => terminal::print_stdout(token.secret()),
        TokenOutput::ExecCredential => terminal::print_stdout(&exec_credential::document(
            exec_api_version.unwrap_or_default(),
            token.secret(),
            unix_seconds(token.expires_on()),
        )),
        TokenOutput::Json => {
            let chain = credential.chain();
            let issuer = chain.selected().unwrap_or_else(|| chain.name());
            let decoded = claims::decode(token.secret()).ok();
            let tenant = args
                .tenant
                .as_deref()
                .or_else(|| decoded.as_ref().and_then(|c| c.tid.as_deref()));
            let expires_on = unix_seconds(token.expires_on());
            terminal::print_stdout(&token_json(&TokenJson {
                access_token: token.secret(),
                credential: issuer,
                expires_on_local: az_local_time(expires_on, &TimeZone::system()),
                expires_on,
                tenant,
                token_type: token.token_type(),
            }))
        }
    };
    printed.err().unwrap_or(ExitStatus::Success)
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
