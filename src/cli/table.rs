//! `doctor`'s human-readable report: a table of providers, the chain's verdict, the
//! configuration and next steps. Pure: a [`Report`] in, text out.

use std::fmt::Write as _;

use credchain::managed_identity::{Description as ManagedIdentityDescription, ProbeReport};
use credchain::workload_identity::{Source as WiSource, WorkloadIdentityInfo};
use jiff::tz::TimeZone;

use super::advice::next_step;
use super::claims::Claims;
use super::report::{Configuration, Outcome, Probe, Report, Selection, Verdict, verdict};
use super::terminal::clean;
use super::timefmt::{human_time, millis, seconds};

/// The reason column: the provider's message, with the kind of failure first.
fn reason(probe: &Probe, tz: &TimeZone) -> String {
    match &probe.outcome {
        Outcome::Token { expires_on, .. } => format!("token expires {}", human_time(*expires_on, tz)),
        Outcome::Unavailable { message } => clean(message),
        Outcome::Failed { kind, message, .. } => format!("{kind}: {}", clean(message)),
        Outcome::Excluded { because } => clean(because),
    }
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

/// The names, escaped (a variable's name can hold control characters too), or `none`.
fn names_or_none<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|name| clean(name.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
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
    let _ = writeln!(
        out,
        "  workload identity: {}",
        workload_identity_text(&config.workload_identity)
    );
    let _ = writeln!(
        out,
        "  managed identity: {}",
        config
            .managed_identity
            .as_ref()
            .map_or_else(|| "not part of the chain".to_owned(), managed_identity_text)
    );
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

/// Which workload identity settings are set (names and sources, no values) and whether the
/// token file exists.
fn workload_identity_text(info: &WorkloadIdentityInfo) -> String {
    let missing = info.missing();
    let required = [&info.tenant_id, &info.client_id, &info.token_file];
    let found: Vec<String> = required
        .iter()
        .filter(|s| s.is_usable())
        .map(|s| match s.source {
            WiSource::Option => format!("{} (option)", s.variable),
            _ => s.variable.to_owned(),
        })
        .collect();
    let mut text = if missing.is_empty() {
        format!("configured from {}", found.join(", "))
    } else if found.is_empty() {
        format!("not configured (set {})", missing.join(", "))
    } else {
        format!(
            "incomplete: {} set, {} missing or unusable",
            found.join(", "),
            missing.join(", ")
        )
    };
    match info.token_file_found {
        Some(true) => text.push_str("; token file found"),
        Some(false) => text.push_str("; token file NOT found"),
        None => {}
    }
    for setting in required.iter().chain([&&info.authority_host]) {
        if let Some(problem) = &setting.problem {
            let _ = write!(text, "; {}: {}", setting.variable, clean(problem));
        }
    }
    text
}

/// The managed identity source, where it came from, the identity and the probe.
fn managed_identity_text(description: &ManagedIdentityDescription) -> String {
    let mut text = match description.source {
        Some(kind) if description.variables.is_empty() => format!("{kind} (no variables set)"),
        Some(kind) => format!("{kind} (from {})", description.variables.join(", ")),
        None => "no source".to_owned(),
    };
    if let Some(endpoint) = &description.endpoint {
        let _ = write!(text, " at `{}`", clean(endpoint));
    }
    match &description.user_assigned {
        Some(id) => {
            let _ = write!(text, ", user-assigned {} {}", id.option_name(), clean(id.value()));
        }
        None => text.push_str(", system-assigned"),
    }
    let _ = write!(text, "; probe: {}", probe_text(&description.probe));
    if let Some(problem) = &description.problem {
        let _ = write!(text, "; problem: {}", clean(problem));
    }
    text
}

fn probe_text(probe: &ProbeReport) -> String {
    match probe {
        ProbeReport::Answered { status, elapsed } => {
            format!("IMDS answered (HTTP {status}) in {}", millis(*elapsed))
        }
        // The reason is in the provider's row already.
        ProbeReport::NoAnswer { elapsed, .. } => format!("no answer in {}", millis(*elapsed)),
        ProbeReport::NotYet => "not run".to_owned(),
        // `Off` and any later variant.
        _ => "none (used alone, or not IMDS)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::claims::NotJwt;
    use super::super::report::fixtures::{probe, report};
    use super::*;
    use credchain::ErrorKind;

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
    fn table_shows_outcomes_verdict_config_and_steps() {
        let r = report(vec![
            probe(
                "EnvironmentCredential",
                false,
                Outcome::Unavailable {
                    message: "`AZURE_CLIENT_SECRET` is not set".into(),
                },
            ),
            Probe {
                elapsed: None,
                ..probe(
                    "VisualStudioCodeCredential",
                    true,
                    Outcome::Excluded {
                        because: "excluded by `AZURE_TOKEN_CREDENTIALS=AzureCliCredential`".into(),
                    },
                )
            },
            probe(
                "AzureCliCredential",
                true,
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
        let table = doctor_table_in(&r, &TimeZone::UTC);
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
                false,
                Outcome::Failed {
                    kind: ErrorKind::AuthenticationFailed,
                    message: "AADSTS7000215: invalid client secret".into(),
                    stops_chain: true,
                },
            ),
            probe(
                "AzureCliCredential",
                true,
                Outcome::Token {
                    expires_on: 1,
                    claims: Err(NotJwt::Shape),
                },
            ),
        ]);
        let table = doctor_table_in(&r, &TimeZone::UTC);
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
    fn provider_text_is_escaped() {
        let r = report(vec![probe(
            "VisualStudioCodeCredential",
            true,
            Outcome::Unavailable {
                message: "signed in as `a\u{1b}[2Jb\u{7}`".into(),
            },
        )]);
        let table = doctor_table_in(&r, &TimeZone::UTC);
        assert!(table.contains("signed in as `a\\u{1b}[2Jb\\u{7}`"), "{table}");
        assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "{table}");
        let mut odd_name = report(vec![]);
        odd_name.config.azure_variables = vec!["AZURE_\u{1b}[2J".into(), "AZURE_X".into()];
        let table = doctor_table_in(&odd_name, &TimeZone::UTC);
        assert!(
            table.contains("AZURE_* variables set: AZURE_\\u{1b}[2J, AZURE_X\n"),
            "{table}"
        );
        assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "{table}");
    }

    #[test]
    fn managed_and_workload_identity_lines_name_variables_not_secrets() {
        use credchain::{Env, ManagedIdentityCredential, WorkloadIdentityCredential};
        use credchain_core::ProviderContext;
        let context = ProviderContext::new().with_env(Env::from_pairs([
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token"),
            ("IDENTITY_HEADER", "header-secret-value"),
            ("AZURE_TENANT_ID", "contoso"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token"),
        ]));
        let mut r = report(vec![]);
        r.config.managed_identity = Some(
            ManagedIdentityCredential::builder()
                .context(context.clone())
                .client_id("app-id")
                .build()
                .describe(),
        );
        r.config.workload_identity = WorkloadIdentityCredential::builder()
            .context(context)
            .build_for_chain()
            .describe();
        let table = doctor_table_in(&r, &TimeZone::UTC);
        assert!(
            table.contains(
                "  managed identity: App Service (from IDENTITY_ENDPOINT, IDENTITY_HEADER) at \
                 `http://127.0.0.1:9/msi/token`, user-assigned client_id app-id; probe: none (used alone, or not IMDS)\n"
            ),
            "{table}"
        );
        assert!(
            table.contains(
                "  workload identity: incomplete: AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE set, AZURE_CLIENT_ID \
                 missing or unusable; token file NOT found\n"
            ),
            "{table}"
        );
        assert!(!table.contains("header-secret-value"), "{table}");
        r.config.managed_identity = None;
        let table = doctor_table_in(&r, &TimeZone::UTC);
        assert!(
            table.contains("  managed identity: not part of the chain\n"),
            "{table}"
        );
    }

    #[test]
    fn probe_outcomes_read_as_sentences() {
        use std::time::Duration;
        let answered = ProbeReport::Answered {
            status: 400,
            elapsed: Duration::from_millis(3),
        };
        assert_eq!(probe_text(&answered), "IMDS answered (HTTP 400) in 3 ms");
        let none = ProbeReport::NoAnswer {
            reason: "refused".into(),
            elapsed: Duration::from_millis(1000),
        };
        assert_eq!(probe_text(&none), "no answer in 1000 ms");
        assert_eq!(probe_text(&ProbeReport::NotYet), "not run");
        assert_eq!(probe_text(&ProbeReport::Off), "none (used alone, or not IMDS)");
    }
}
