//! Doctor's "next step" for each provider that did not get a token: the short form of the fix
//! (the provider's own message has the details).

use credchain::ErrorKind;
use credchain::{azure_cli, azure_developer_cli, environment, managed_identity, vscode, workload_identity};

use super::report::{Outcome, Probe};

/// What the user should do about `probe`; `None` for a token or an excluded provider.
/// `scope` is the scope doctor asked for, `az_found` whether `az` was found.
pub(crate) fn next_step(probe: &Probe, scope: &str, az_found: bool) -> Option<String> {
    let failed = match &probe.outcome {
        Outcome::Token { .. } | Outcome::Excluded { .. } => return None,
        Outcome::Unavailable { .. } => false,
        Outcome::Failed { kind, .. } => {
            if let Some(step) = for_kind(*kind) {
                return Some(step.to_owned());
            }
            true
        }
    };
    let step = match probe.name {
        name if name == environment::NAME => environment_step(failed).to_owned(),
        name if name == workload_identity::NAME => workload_identity_step(failed).to_owned(),
        name if name == managed_identity::NAME => managed_identity_step(failed).to_owned(),
        name if name == vscode::CREDENTIAL_NAME => vscode_step(failed).to_owned(),
        name if name == azure_cli::NAME => azure_cli_step(failed, scope, az_found),
        name if name == azure_developer_cli::NAME => azure_developer_cli_step(failed, scope),
        _ => "follow the reason above".to_owned(),
    };
    Some(step)
}

/// The step for failures whose fix does not depend on the provider.
fn for_kind(kind: ErrorKind) -> Option<&'static str> {
    match kind {
        ErrorKind::Timeout => Some("retry; if it keeps timing out, raise the limit with `--timeout`"),
        ErrorKind::Transient => {
            Some("check the network connection and any proxy or `SSL_CERT_FILE` settings, then retry")
        }
        ErrorKind::InvalidInput => Some("fix the value named in the reason; nothing was sent"),
        _ => None,
    }
}

fn environment_step(failed: bool) -> &'static str {
    if failed {
        "fix the service principal in the `AZURE_*` variables (the reason has the service's error \
         code), or unset them: while they are set, the chain stops here"
    } else {
        "for a service principal, set `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` \
         (or `AZURE_CLIENT_CERTIFICATE_PATH`); on a developer machine, leave them unset and use a \
         developer tool"
    }
}

fn workload_identity_step(failed: bool) -> &'static str {
    if failed {
        "check the app's federated credential (its issuer and subject must match the token's) and \
         that the token file is current; the reason has Microsoft Entra's error code"
    } else {
        "only for AKS pods and OIDC-federated CI jobs: enable workload identity (on AKS, label the \
         pod `azure.workload.identity/use: \"true\"`) so `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and \
         `AZURE_FEDERATED_TOKEN_FILE` are set; elsewhere there is nothing to do"
    }
}

fn managed_identity_step(failed: bool) -> &'static str {
    if failed {
        "check that the identity is assigned to this resource (a user-assigned one is chosen by \
         `AZURE_CLIENT_ID`) and has a role on what you call; the reason has the endpoint's answer"
    } else {
        "only on Azure (VMs, App Service, Functions, Container Apps, Arc, Cloud Shell, Azure ML): \
         turn on the resource's managed identity; off Azure there is nothing to do"
    }
}

fn vscode_step(failed: bool) -> &'static str {
    if failed {
        "sign in to Azure in VS Code again, or use the Azure CLI instead (`az login`)"
    } else {
        "sign in to Azure in VS Code, or use the Azure CLI instead (`az login`)"
    }
}

fn azure_cli_step(failed: bool, scope: &str, az_found: bool) -> String {
    if failed {
        format!(
            "run `az account get-access-token --scope {scope}` to see the whole error; run `az login` again \
             if your sign-in expired"
        )
    } else if az_found {
        "run `az login`".to_owned()
    } else {
        "install the Azure CLI (https://aka.ms/azure-cli), then run `az login`".to_owned()
    }
}

fn azure_developer_cli_step(failed: bool, scope: &str) -> String {
    if failed {
        format!(
            "run `azd auth token --output json --scope {scope}` to see the whole error; run `azd auth login` \
             again if your sign-in expired"
        )
    } else {
        "install the Azure Developer CLI if it is missing (https://aka.ms/azd), then run `azd auth login`"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::claims::NotJwt;
    use super::*;

    fn probe(name: &'static str, outcome: Outcome) -> Probe {
        Probe {
            name,
            developer_tool: true,
            outcome,
            elapsed: Some(Duration::from_millis(7)),
        }
    }

    #[test]
    fn next_steps_depend_on_provider_and_kind() {
        let scope = "api://x/.default";
        let step = |name, outcome, az_found| next_step(&probe(name, outcome), scope, az_found);
        let unavailable = || Outcome::Unavailable { message: "m".into() };
        let failed = |kind| Outcome::Failed {
            kind,
            message: "m".into(),
            stops_chain: false,
        };
        assert_eq!(
            step(azure_cli::NAME, unavailable(), false).as_deref(),
            Some("install the Azure CLI (https://aka.ms/azure-cli), then run `az login`")
        );
        assert_eq!(
            step(azure_cli::NAME, unavailable(), true).as_deref(),
            Some("run `az login`")
        );
        assert!(
            step(azure_cli::NAME, failed(ErrorKind::AuthenticationFailed), true)
                .is_some_and(|s| s.contains("`az account get-access-token --scope api://x/.default`"))
        );
        assert!(
            step(azure_developer_cli::NAME, unavailable(), true)
                .is_some_and(|s| s.contains("`azd auth login`"))
        );
        assert!(
            step(
                azure_developer_cli::NAME,
                failed(ErrorKind::AuthenticationFailed),
                true
            )
            .is_some_and(|s| s.contains("`azd auth token --output json --scope api://x/.default`"))
        );
        assert!(
            step(vscode::CREDENTIAL_NAME, failed(ErrorKind::Timeout), true)
                .is_some_and(|s| s.contains("`--timeout`"))
        );
        assert!(
            step(environment::NAME, failed(ErrorKind::AuthenticationFailed), true)
                .is_some_and(|s| s.contains("the chain stops here"))
        );
        assert!(
            step(vscode::CREDENTIAL_NAME, unavailable(), true)
                .is_some_and(|s| s.starts_with("sign in to Azure"))
        );
        assert!(step("MyCredential", unavailable(), true).is_some_and(|s| s.contains("reason")));
        assert!(
            step(workload_identity::NAME, unavailable(), true)
                .is_some_and(|s| s.contains("`AZURE_FEDERATED_TOKEN_FILE`"))
        );
        assert!(
            step(
                workload_identity::NAME,
                failed(ErrorKind::AuthenticationFailed),
                true
            )
            .is_some_and(|s| s.contains("federated credential"))
        );
        assert!(
            step(managed_identity::NAME, unavailable(), true)
                .is_some_and(|s| s.contains("turn on the resource's managed identity"))
        );
        assert!(
            step(
                managed_identity::NAME,
                failed(ErrorKind::AuthenticationFailed),
                true
            )
            .is_some_and(|s| s.contains("has a role"))
        );
        assert_eq!(
            step(
                azure_cli::NAME,
                Outcome::Token {
                    expires_on: 0,
                    claims: Err(NotJwt::Shape)
                },
                true
            ),
            None
        );
        assert_eq!(
            step(azure_cli::NAME, Outcome::Excluded { because: "x".into() }, true),
            None
        );
    }
}
