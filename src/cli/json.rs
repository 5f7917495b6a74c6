//! JSON output: `token`'s az-compatible document and `doctor`'s report. Pure: data in, text out.

use credchain::managed_identity::{Description as ManagedIdentityDescription, ProbeReport};
use credchain::workload_identity::{Setting, Source as WiSource, WorkloadIdentityInfo};
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::{Value, json};

use super::advice::next_step;
use super::report::{Outcome, Report, Selection, Verdict, verdict};
use super::timefmt::az_local_time;

/// `credchain token`'s JSON: `az account get-access-token`'s fields (keys sorted, as az prints
/// them) plus `credential`, the provider that issued the token.
#[derive(Debug, Serialize)]
pub(crate) struct TokenJson<'a> {
    /// The token.
    #[serde(rename = "accessToken")]
    pub(crate) access_token: &'a str,
    /// The provider that issued it.
    pub(crate) credential: &'a str,
    /// Expiry as az writes it: local time, `YYYY-MM-DD HH:MM:SS.ffffff`.
    #[serde(rename = "expiresOn")]
    pub(crate) expires_on_local: String,
    /// Expiry in seconds since the Unix epoch.
    pub(crate) expires_on: i64,
    /// The tenant, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tenant: Option<&'a str>,
    /// Usually `Bearer`.
    #[serde(rename = "tokenType")]
    pub(crate) token_type: &'a str,
}

/// Pretty JSON with two-space indentation, as az prints it.
pub(crate) fn token_json(token: &TokenJson<'_>) -> String {
    serde_json::to_string_pretty(token).unwrap_or_else(|_| "{}".to_owned())
}

/// `doctor`'s JSON report (keys sorted; `elapsed_ms` are whole milliseconds).
pub(crate) fn doctor_json(report: &Report) -> String {
    doctor_json_in(report, &TimeZone::system())
}

fn doctor_json_in(report: &Report, tz: &TimeZone) -> String {
    let az_found = report.config.azure_cli.path.is_ok();
    let providers: Vec<Value> = report
        .probes
        .iter()
        .map(|probe| {
            let mut entry = json!({
                "name": probe.name,
                "outcome": probe.outcome.label(),
                "developer_tool": probe.developer_tool,
                "elapsed_ms": probe.elapsed.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                "next_step": next_step(probe, &report.scope, az_found),
            });
            match &probe.outcome {
                Outcome::Token { expires_on, claims } => {
                    entry["expires_on"] = json!(expires_on);
                    entry["expiresOn"] = json!(az_local_time(*expires_on, tz));
                    if report.show_claims {
                        entry["claims"] = match claims {
                            Ok(claims) => json!(claims),
                            Err(why) => json!({ "error": why.as_str() }),
                        };
                    }
                }
                Outcome::Unavailable { message } => entry["reason"] = json!(message),
                Outcome::Failed { kind, message, .. } => {
                    entry["kind"] = json!(kind.as_str());
                    entry["reason"] = json!(message);
                }
                Outcome::Excluded { because } => entry["reason"] = json!(because),
            }
            entry
        })
        .collect();
    let (uses, stops_at) = match verdict(&report.probes) {
        Verdict::Uses(name) => (Some(name), None),
        Verdict::StopsAt(name) => (None, Some(name)),
        Verdict::Nothing => (None, None),
    };
    let config = &report.config;
    let vscode = match &config.vscode {
        Ok(setup) => json!({
            "platform": setup.platform,
            "settings_path": setup.settings_path.as_ref().map(|p| p.display().to_string()),
            "settings_found": setup.settings_found,
            "settings_problem": setup.settings_problem,
            "cloud": setup.cloud,
            "cloud_source": setup.cloud_source.as_str(),
            "tenant": setup.tenant,
            "tenant_source": setup.tenant_source.as_str(),
            "authority": setup.authority,
            "secret_store": setup.secret_store,
            "auth_record_path": setup.auth_record_path.as_ref().map(|p| p.display().to_string()),
            "auth_record_found": setup.auth_record_found,
            "auth_record_valid": setup.auth_record_valid,
            "auth_record_problem": setup.auth_record_problem,
            "unavailable_reason": setup.unavailable_reason,
        }),
        Err(why) => json!({ "error": why }),
    };
    let (az_version, az_version_error) = match &config.azure_cli.version {
        Some(Ok(v)) => (Some(v.as_str()), None),
        Some(Err(why)) => (None, Some(why.as_str())),
        None => (None, None),
    };
    let value = json!({
        "scope": report.scope,
        "timeout_seconds": report.timeout.as_secs_f64(),
        "providers": providers,
        "default_credential": { "uses": uses, "stops_at": stops_at },
        "configuration": {
            "token_credentials": match &config.token_credentials {
                Selection::Unset => None,
                Selection::Valid(value) => Some(*value),
                Selection::Invalid(value) => Some(value.as_str()),
            },
            "azure_variables": config.azure_variables,
            "network_variables": config.network_variables,
            "environment": config.environment.map(|(kind, variables)| json!({ "kind": kind, "variables": variables })),
            "azure_cli": {
                "path": config.azure_cli.path.as_ref().ok().map(|p| p.display().to_string()),
                "not_found": config.azure_cli.path.as_ref().err(),
                "version": az_version,
                "version_error": az_version_error,
                "process_timeout_seconds": config.azure_cli.process_timeout.as_secs_f64(),
            },
            "workload_identity": workload_identity_json(&config.workload_identity),
            "managed_identity": config.managed_identity.as_ref().map(managed_identity_json),
            "vscode": vscode,
        },
        "exit_code": if report.any_token() { 0 } else { 3 },
    });
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_owned())
}

/// Workload identity's settings: for each, where it came from and any problem (no values).
fn workload_identity_json(info: &WorkloadIdentityInfo) -> Value {
    let setting = |s: &Setting| {
        json!({
            "variable": s.variable,
            "source": match s.source {
                WiSource::Option => "option",
                WiSource::Environment => "environment",
                WiSource::Default => "default",
                _ => "missing",
            },
            "problem": s.problem,
        })
    };
    json!({
        "configured": info.is_configured(),
        "missing": info.missing(),
        "tenant_id": setting(&info.tenant_id),
        "client_id": setting(&info.client_id),
        "token_file": setting(&info.token_file),
        "authority_host": setting(&info.authority_host),
        "token_file_found": info.token_file_found,
    })
}

/// The managed identity source, its variables and endpoint, the identity and the probe.
fn managed_identity_json(description: &ManagedIdentityDescription) -> Value {
    let probe = match &description.probe {
        ProbeReport::Answered { status, elapsed } => json!({
            "outcome": "answered",
            "status": status,
            "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        }),
        ProbeReport::NoAnswer { reason, elapsed } => json!({
            "outcome": "no_answer",
            "reason": reason,
            "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        }),
        ProbeReport::NotYet => json!({ "outcome": "not_run" }),
        _ => json!({ "outcome": "off" }),
    };
    json!({
        "source": description.source.map(|kind| kind.as_str()),
        "variables": description.variables,
        "endpoint": description.endpoint,
        "user_assigned": description.user_assigned.as_ref().map(|id| json!({ "kind": id.option_name(), "id": id.value() })),
        "problem": description.problem,
        "probe": probe,
    })
}

#[cfg(test)]
mod tests {
    use super::super::claims::NotJwt;
    use super::super::report::fixtures::{probe, report};
    use super::*;
    use credchain::ErrorKind;

    #[test]
    fn token_json_is_az_compatible() {
        let json = token_json(&TokenJson {
            access_token: "tok",
            credential: "AzureCliCredential",
            expires_on_local: az_local_time(4_070_908_800, &TimeZone::UTC),
            expires_on: 4_070_908_800,
            tenant: Some("t1"),
            token_type: "Bearer",
        });
        assert_eq!(
            json,
            r#"{
  "accessToken": "tok",
  "credential": "AzureCliCredential",
  "expiresOn": "2099-01-01 00:00:00.000000",
  "expires_on": 4070908800,
  "tenant": "t1",
  "tokenType": "Bearer"
}"#
        );
        let no_tenant = token_json(&TokenJson {
            access_token: "tok",
            credential: "X",
            expires_on_local: String::new(),
            expires_on: 0,
            tenant: None,
            token_type: "Bearer",
        });
        assert!(!no_tenant.contains("tenant"), "{no_tenant}");
    }

    #[test]
    fn json_report_has_stable_keys_and_no_secrets() {
        let r = report(vec![
            probe(
                "EnvironmentCredential",
                false,
                Outcome::Failed {
                    kind: ErrorKind::Timeout,
                    message: "slow".into(),
                    stops_chain: true,
                },
            ),
            probe(
                "AzureCliCredential",
                true,
                Outcome::Token {
                    expires_on: 4_070_908_800,
                    claims: Err(NotJwt::Json),
                },
            ),
        ]);
        let value: Value = serde_json::from_str(&doctor_json_in(&r, &TimeZone::UTC)).expect("valid JSON");
        assert_eq!(value["exit_code"], 0);
        assert_eq!(value["default_credential"]["uses"], Value::Null);
        assert_eq!(value["default_credential"]["stops_at"], "EnvironmentCredential");
        assert_eq!(value["providers"][0]["kind"], "timed out");
        assert_eq!(value["providers"][0]["elapsed_ms"], 7);
        assert_eq!(value["providers"][1]["expiresOn"], "2099-01-01 00:00:00.000000");
        assert!(value["providers"][1]["claims"]["error"].is_string());
        assert_eq!(value["configuration"]["azure_cli"]["version"], "2.91.0");
        assert_eq!(
            value["configuration"]["azure_cli"]["process_timeout_seconds"],
            20.0
        );
        assert_eq!(value["configuration"]["vscode"]["error"], "bad tenant");
        assert_eq!(value["configuration"]["managed_identity"], Value::Null);
        let wi = &value["configuration"]["workload_identity"];
        assert_eq!(wi["configured"], false, "{wi}");
        assert_eq!(wi["tenant_id"]["source"], "missing", "{wi}");
        assert_eq!(wi["authority_host"]["source"], "default", "{wi}");
        assert_eq!(
            wi["missing"],
            json!(["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"])
        );
    }
}
