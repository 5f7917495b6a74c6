//! Output formatting. Everything here is pure: data in, text out.

use std::fmt::Write as _;
use std::time::Duration;

use credchain::ErrorKind;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::{Value, json};

use super::claims::Claims;
use super::doctor::{Configuration, Outcome, Probe, Report, Selection, Verdict, verdict};

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

/// A Unix time as az's `expiresOn`: `YYYY-MM-DD HH:MM:SS.ffffff` in `tz`, without a zone.
pub(crate) fn az_local_time(unix_seconds: i64, tz: &TimeZone) -> String {
    match Timestamp::from_second(unix_seconds) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S.%6f")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// A Unix time for people: `YYYY-MM-DD HH:MM:SS ZONE` in `tz`.
pub(crate) fn human_time(unix_seconds: i64, tz: &TimeZone) -> String {
    match Timestamp::from_second(unix_seconds) {
        Ok(ts) => ts
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => format!("{unix_seconds} (out of range)"),
    }
}

/// Whole milliseconds, always as `N ms` (so tests can redact them with one pattern).
pub(crate) fn millis(elapsed: Duration) -> String {
    format!("{} ms", elapsed.as_millis())
}

/// Escapes control characters so text from files or services cannot move the cursor.
pub(crate) fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// The reason column: the provider's message, with the kind of failure first.
fn reason(probe: &Probe, tz: &TimeZone) -> String {
    match &probe.outcome {
        Outcome::Token { expires_on, .. } => format!("token expires {}", human_time(*expires_on, tz)),
        Outcome::Unavailable { message } => clean(message),
        Outcome::Failed { kind, message } => format!("{kind}: {}", clean(message)),
        Outcome::Excluded { because } => clean(because),
    }
}

/// What the user should do about a provider that did not get a token; `None` for a token or an
/// excluded provider. Provider messages already carry the specific fix; this is the short form.
pub(crate) fn next_step(probe: &Probe, scope: &str, az_found: bool) -> Option<String> {
    let step = match (&probe.outcome, probe.name) {
        (Outcome::Token { .. } | Outcome::Excluded { .. }, _) => return None,
        (
            Outcome::Failed {
                kind: ErrorKind::Timeout,
                ..
            },
            _,
        ) => "retry; if it keeps timing out, raise the limit with `--timeout`".to_owned(),
        (
            Outcome::Failed {
                kind: ErrorKind::Transient,
                ..
            },
            _,
        ) => "check the network connection and any proxy or `SSL_CERT_FILE` settings, then retry".to_owned(),
        (
            Outcome::Failed {
                kind: ErrorKind::InvalidInput,
                ..
            },
            _,
        ) => "fix the value named in the reason; nothing was sent".to_owned(),
        (Outcome::Unavailable { .. }, "EnvironmentCredential") => {
            "for a service principal, set `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` \
             (or `AZURE_CLIENT_CERTIFICATE_PATH`); on a developer machine, leave them unset and use a \
             developer tool"
                .to_owned()
        }
        (Outcome::Failed { .. }, "EnvironmentCredential") => {
            "fix the service principal in the `AZURE_*` variables (the reason has the service's error \
             code), or unset them: while they are set, the chain stops here"
                .to_owned()
        }
        (Outcome::Unavailable { .. }, "VisualStudioCodeCredential") => {
            "sign in to Azure in VS Code, or use the Azure CLI instead (`az login`)".to_owned()
        }
        (Outcome::Failed { .. }, "VisualStudioCodeCredential") => {
            "sign in to Azure in VS Code again, or use the Azure CLI instead (`az login`)".to_owned()
        }
        (Outcome::Unavailable { .. }, "AzureCliCredential") if !az_found => {
            "install the Azure CLI (https://aka.ms/azure-cli), then run `az login`".to_owned()
        }
        (Outcome::Unavailable { .. }, "AzureCliCredential") => "run `az login`".to_owned(),
        (Outcome::Failed { .. }, "AzureCliCredential") => format!(
            "run `az account get-access-token --scope {scope}` to see the whole error; run `az login` again \
             if your sign-in expired"
        ),
        (Outcome::Unavailable { .. } | Outcome::Failed { .. }, _) => "follow the reason above".to_owned(),
    };
    Some(step)
}

/// Formats rows as left-aligned columns separated by two spaces; the column at `right` (if any)
/// is right-aligned. The last column is never padded.
fn columns(rows: &[Vec<String>], right: Option<usize>) -> String {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            let last = i + 1 == row.len();
            if Some(i) == right {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if !last {
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `doctor`'s human-readable report.
pub(crate) fn doctor_table(report: &Report) -> String {
    doctor_table_in(report, &TimeZone::system())
}

fn doctor_table_in(report: &Report, tz: &TimeZone) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "credchain doctor: asked every provider of the default chain for a token for `{}` (at most {} each)\n",
        clean(&report.scope),
        seconds(report.timeout)
    );
    let mut rows = vec![vec![
        "PROVIDER".to_owned(),
        "OUTCOME".to_owned(),
        // At least 8 wide ("12345 ms"), so the columns do not shift with the timings.
        format!("{:>8}", "TIME"),
        "REASON".to_owned(),
    ]];
    for probe in &report.probes {
        rows.push(vec![
            probe.name.to_owned(),
            probe.outcome.label().to_owned(),
            probe.elapsed.map_or_else(|| "-".to_owned(), millis),
            reason(probe, tz),
        ]);
    }
    out.push_str(&columns(&rows, Some(2)));
    out.push('\n');

    let verdict = verdict(&report.probes);
    match verdict {
        Verdict::Uses(name) => {
            let _ = writeln!(out, "DefaultCredential would use: {name}");
        }
        Verdict::StopsAt(name) => {
            let _ = writeln!(
                out,
                "DefaultCredential would fail: `{name}` failed, and a failure of this provider stops the \
                 chain, so the providers after it are never tried"
            );
        }
        Verdict::Nothing => {
            let _ = writeln!(
                out,
                "DefaultCredential would use: nothing; no provider could get a token"
            );
        }
    }

    if report.show_claims {
        let tokens: Vec<_> = report
            .probes
            .iter()
            .filter_map(|p| match &p.outcome {
                Outcome::Token { claims, .. } => Some((p.name, claims)),
                _ => None,
            })
            .collect();
        if !tokens.is_empty() {
            out.push_str("\nToken claims (decoded without verifying the signature):\n");
            for (name, claims) in tokens {
                match claims {
                    Ok(claims) => {
                        let _ = writeln!(out, "  {name}: {}", claims_line(claims, tz));
                    }
                    Err(why) => {
                        let _ = writeln!(out, "  {name}: {}", why.as_str());
                    }
                }
            }
        }
    }

    out.push_str("\nConfiguration:\n");
    out.push_str(&configuration_text(&report.config));

    let az_found = report.config.azure_cli.path.is_ok();
    let steps: Vec<(&str, String)> = report
        .probes
        .iter()
        .filter_map(|p| next_step(p, &report.scope, az_found).map(|s| (p.name, s)))
        .collect();
    if !steps.is_empty() {
        match verdict {
            Verdict::Uses(name) => {
                let _ = writeln!(
                    out,
                    "\nNothing needs fixing: DefaultCredential gets tokens from {name}. To set up the others:"
                );
            }
            Verdict::StopsAt(_) | Verdict::Nothing => out.push_str("\nNext steps:\n"),
        }
        for (i, (name, step)) in steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {name}: {step}", i + 1);
        }
    }
    out
}

fn claims_line(claims: &Claims, tz: &TimeZone) -> String {
    let text = |v: &Option<String>| v.as_deref().map_or_else(|| "(none)".to_owned(), clean);
    let exp = claims.exp.map_or_else(
        || "(none)".to_owned(),
        |exp| format!("{exp} ({})", human_time(exp, tz)),
    );
    format!(
        "tid {}, oid {}, upn {}, exp {exp}",
        text(&claims.tid),
        text(&claims.oid),
        text(&claims.upn)
    )
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

fn names_or_none<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
    }
}

/// The configuration section: variable names (never values), the Azure CLI, VS Code.
pub(crate) fn configuration_text(config: &Configuration) -> String {
    let mut out = String::new();
    let _ = match &config.token_credentials {
        Selection::Unset => writeln!(
            out,
            "  AZURE_TOKEN_CREDENTIALS: not set (every provider is tried)"
        ),
        Selection::Valid(value) => writeln!(out, "  AZURE_TOKEN_CREDENTIALS: `{value}`"),
        Selection::Invalid(value) => {
            let shown: String = value.chars().take(60).collect();
            writeln!(out, "  AZURE_TOKEN_CREDENTIALS: `{}` (not valid)", clean(&shown))
        }
    };
    let _ = writeln!(
        out,
        "  AZURE_* variables set: {}",
        names_or_none(&config.azure_variables)
    );
    let _ = writeln!(
        out,
        "  network variables set: {}",
        names_or_none(&config.network_variables)
    );
    let _ = match config.environment {
        Some((kind, variables)) => writeln!(
            out,
            "  environment credential: {kind}, from {}",
            variables.join(", ")
        ),
        None => writeln!(out, "  environment credential: not configured"),
    };
    let _ = match (&config.azure_cli.path, &config.azure_cli.version) {
        (Ok(path), Some(Ok(version))) => writeln!(
            out,
            "  Azure CLI: `{}`, version {version}",
            clean(&path.display().to_string())
        ),
        (Ok(path), Some(Err(why))) => writeln!(
            out,
            "  Azure CLI: `{}`, version unknown ({})",
            clean(&path.display().to_string()),
            clean(why)
        ),
        (Ok(path), None) => writeln!(out, "  Azure CLI: `{}`", clean(&path.display().to_string())),
        // The reason (where it looked) is in the provider's row already.
        (Err(_), _) => writeln!(out, "  Azure CLI: not found"),
    };
    match &config.vscode {
        Ok(setup) => {
            out.push_str("  VS Code:\n");
            for line in setup.to_string().lines() {
                let _ = writeln!(out, "    {}", clean(line));
            }
        }
        Err(why) => {
            let _ = writeln!(out, "  VS Code: cannot be used ({})", clean(why));
        }
    }
    out
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
                Outcome::Failed { kind, message } => {
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
    let any_token = report
        .probes
        .iter()
        .any(|p| matches!(p.outcome, Outcome::Token { .. }));
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
            },
            "vscode": vscode,
        },
        "exit_code": if any_token { 0 } else { 3 },
    });
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::claims::NotJwt;
    use super::super::doctor::AzureCliFacts;
    use super::*;
    use std::path::PathBuf;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    #[test]
    fn az_time_format_matches_az() {
        // Values from the reference `az account get-access-token` output, in UTC.
        assert_eq!(az_local_time(1_795_679_499, &utc()), "2026-11-26 07:51:39.000000");
        assert_eq!(az_local_time(4_070_908_800, &utc()), "2099-01-01 00:00:00.000000");
        let new_york = TimeZone::get("America/New_York").expect("tzdb");
        assert_eq!(
            az_local_time(1_698_789_550, &new_york),
            "2023-10-31 17:59:10.000000"
        );
        assert_eq!(az_local_time(i64::MAX, &utc()), "");
    }

    #[test]
    fn token_json_is_az_compatible() {
        let json = token_json(&TokenJson {
            access_token: "tok",
            credential: "AzureCliCredential",
            expires_on_local: az_local_time(4_070_908_800, &utc()),
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
    fn columns_align_and_right_align() {
        let rows = vec![
            vec!["A".to_owned(), "TIME".to_owned(), "WHY".to_owned()],
            vec!["longer".to_owned(), "5 ms".to_owned(), "x".to_owned()],
            vec!["b".to_owned(), "1234 ms".to_owned(), String::new()],
        ];
        assert_eq!(
            columns(&rows, Some(1)),
            "A          TIME  WHY\nlonger     5 ms  x\nb       1234 ms\n"
        );
    }

    #[test]
    fn clean_escapes_control_characters() {
        assert_eq!(clean("plain `text` é"), "plain `text` é");
        assert_eq!(clean("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\\nc");
    }

    #[test]
    fn millis_and_seconds() {
        assert_eq!(millis(Duration::from_micros(999)), "0 ms");
        assert_eq!(millis(Duration::from_millis(12_034)), "12034 ms");
        assert_eq!(seconds(Duration::from_secs(20)), "20 s");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5 s");
    }

    fn report(probes: Vec<Probe>) -> Report {
        Report {
            scope: "https://management.azure.com/.default".into(),
            probes,
            config: Configuration {
                token_credentials: Selection::Unset,
                azure_variables: vec!["AZURE_CLIENT_ID".into()],
                network_variables: vec![],
                environment: None,
                azure_cli: AzureCliFacts {
                    path: Ok(PathBuf::from("/usr/bin/az")),
                    version: Some(Ok("2.91.0".into())),
                },
                vscode: Err("bad tenant".into()),
            },
            show_claims: true,
            timeout: Duration::from_secs(20),
        }
    }

    fn probe(name: &'static str, outcome: Outcome) -> Probe {
        Probe {
            name,
            developer_tool: name != "EnvironmentCredential",
            outcome,
            elapsed: Some(Duration::from_millis(7)),
        }
    }

    #[test]
    fn table_shows_outcomes_verdict_config_and_steps() {
        let r = report(vec![
            probe(
                "EnvironmentCredential",
                Outcome::Unavailable {
                    message: "`AZURE_CLIENT_SECRET` is not set".into(),
                },
            ),
            Probe {
                elapsed: None,
                ..probe(
                    "VisualStudioCodeCredential",
                    Outcome::Excluded {
                        because: "excluded by `AZURE_TOKEN_CREDENTIALS=AzureCliCredential`".into(),
                    },
                )
            },
            probe(
                "AzureCliCredential",
                Outcome::Token {
                    expires_on: 4_070_908_800,
                    claims: Ok(Claims {
                        tid: Some("t1".into()),
                        oid: None,
                        upn: Some("ada@contoso.com".into()),
                        exp: Some(4_070_908_800),
                    }),
                },
            ),
        ]);
        let table = doctor_table_in(&r, &utc());
        let expected = "\
PROVIDER                    OUTCOME          TIME  REASON
EnvironmentCredential       unavailable      7 ms  `AZURE_CLIENT_SECRET` is not set
VisualStudioCodeCredential  excluded            -  excluded by `AZURE_TOKEN_CREDENTIALS=AzureCliCredential`
AzureCliCredential          token            7 ms  token expires 2099-01-01 00:00:00 UTC

DefaultCredential would use: AzureCliCredential

Token claims (decoded without verifying the signature):
  AzureCliCredential: tid t1, oid (none), upn ada@contoso.com, exp 4070908800 (2099-01-01 00:00:00 UTC)
";
        assert!(table.contains(expected), "{table}");
        assert!(
            table.contains("  Azure CLI: `/usr/bin/az`, version 2.91.0\n"),
            "{table}"
        );
        assert!(
            table.contains("  VS Code: cannot be used (bad tenant)\n"),
            "{table}"
        );
        assert!(
            table.contains("\nNothing needs fixing: DefaultCredential gets tokens from AzureCliCredential. To set up the others:\n  1. EnvironmentCredential: for a service principal"),
            "{table}"
        );
    }

    #[test]
    fn table_explains_a_chain_that_stops() {
        let r = report(vec![
            probe(
                "EnvironmentCredential",
                Outcome::Failed {
                    kind: ErrorKind::AuthenticationFailed,
                    message: "AADSTS7000215: invalid client secret".into(),
                },
            ),
            probe(
                "AzureCliCredential",
                Outcome::Token {
                    expires_on: 1,
                    claims: Err(NotJwt::Shape),
                },
            ),
        ]);
        let table = doctor_table_in(&r, &utc());
        assert!(
            table.contains("failed       7 ms  authentication failed: AADSTS7000215: invalid client secret"),
            "{table}"
        );
        assert!(
            table.contains("DefaultCredential would fail: `EnvironmentCredential` failed"),
            "{table}"
        );
        assert!(
            table.contains("AzureCliCredential: the token is not a JWT"),
            "{table}"
        );
        assert!(
            table.contains("\nNext steps:\n  1. EnvironmentCredential: fix the service principal"),
            "{table}"
        );
    }

    #[test]
    fn next_steps_depend_on_provider_and_kind() {
        let scope = "api://x/.default";
        let step = |name, outcome, az_found| next_step(&probe(name, outcome), scope, az_found);
        let unavailable = || Outcome::Unavailable { message: "m".into() };
        let failed = |kind| Outcome::Failed {
            kind,
            message: "m".into(),
        };
        assert_eq!(
            step("AzureCliCredential", unavailable(), false).as_deref(),
            Some("install the Azure CLI (https://aka.ms/azure-cli), then run `az login`")
        );
        assert_eq!(
            step("AzureCliCredential", unavailable(), true).as_deref(),
            Some("run `az login`")
        );
        assert!(
            step(
                "AzureCliCredential",
                failed(ErrorKind::AuthenticationFailed),
                true
            )
            .is_some_and(|s| s.contains("`az account get-access-token --scope api://x/.default`"))
        );
        assert!(
            step("VisualStudioCodeCredential", failed(ErrorKind::Timeout), true)
                .is_some_and(|s| s.contains("`--timeout`"))
        );
        assert!(step("MyCredential", unavailable(), true).is_some_and(|s| s.contains("reason")));
        assert_eq!(
            step(
                "AzureCliCredential",
                Outcome::Token {
                    expires_on: 0,
                    claims: Err(NotJwt::Shape)
                },
                true
            ),
            None
        );
    }

    #[test]
    fn json_report_has_stable_keys_and_no_secrets() {
        let r = report(vec![
            probe(
                "EnvironmentCredential",
                Outcome::Failed {
                    kind: ErrorKind::Timeout,
                    message: "slow".into(),
                },
            ),
            probe(
                "AzureCliCredential",
                Outcome::Token {
                    expires_on: 4_070_908_800,
                    claims: Err(NotJwt::Json),
                },
            ),
        ]);
        let value: Value = serde_json::from_str(&doctor_json_in(&r, &utc())).expect("valid JSON");
        assert_eq!(value["exit_code"], 0);
        assert_eq!(value["default_credential"]["uses"], Value::Null);
        assert_eq!(value["default_credential"]["stops_at"], "EnvironmentCredential");
        assert_eq!(value["providers"][0]["kind"], "timed out");
        assert_eq!(value["providers"][0]["elapsed_ms"], 7);
        assert_eq!(value["providers"][1]["expiresOn"], "2099-01-01 00:00:00.000000");
        assert!(value["providers"][1]["claims"]["error"].is_string());
        assert_eq!(value["configuration"]["azure_cli"]["version"], "2.91.0");
        assert_eq!(value["configuration"]["vscode"]["error"], "bad tenant");
    }
}
