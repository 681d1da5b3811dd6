//! `apiwright check contract|security|load`: an evidence gate against a service the user runs,
//! with the same checks and verdicts as in a workflow, printed as tables (or `--json`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use apiwright_gates::Attached;
use apiwright_gates::GateContext;
use apiwright_gates::GateOutcome;
use apiwright_gates::GateReport;
use apiwright_probe::session::AuthOptions;
use apiwright_probe::session::Login;
use apiwright_store::Store;
use apiwright_workflow::ContractCheck;
use apiwright_workflow::Gate;
use apiwright_workflow::LoadCheck;
use apiwright_workflow::SecurityCheck;
use apiwright_workflow::ServiceSpec;
use apiwright_workflow::Severity;
use apiwright_workflow::SlaTargets;
use serde_json::Value;

use super::Exit;
use crate::app::CheckCommand;
use crate::app::CheckTarget;
use crate::output;

pub fn run(command: CheckCommand) -> anyhow::Result<Exit> {
    let (gate, target, pid) = gate_for(command)?;
    let attached = Attached {
        auth: auth_options(&target),
        pid,
    };
    let store = Store::open_in_memory().context("opening an in-memory state store")?;
    let workspace = std::env::current_dir().context("reading the current directory")?;
    let vars = apiwright_workflow::template::Vars::new();
    let context = GateContext {
        attached: Some(&attached),
        workspace: &workspace,
        store: &store,
        vars: &vars,
        default_timeout: Duration::from_secs(target.timeout),
        env: &[],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime
        .block_on(apiwright_gates::evaluate(&gate, &context))
        .with_context(|| format!("running the {} check", gate.id))?;
    if target.json {
        output::print_json(&report)?;
    } else {
        print_report(&gate.id, &report);
    }
    Ok(match report.outcome {
        GateOutcome::Passed => Exit::Success,
        _ => Exit::CheckFailed,
    })
}

fn gate_for(command: CheckCommand) -> anyhow::Result<(Gate, CheckTarget, Option<u32>)> {
    let service = |target: &CheckTarget| ServiceSpec {
        url: Some(target.url.clone()),
        build: None,
        run: None,
        port_env: None,
        env: BTreeMap::new(),
        admin: None,
        // Any HTTP answer shows a running service the user started; no path is assumed.
        ready: None,
        startup_timeout_secs: Some(10),
        build_timeout_secs: None,
    };
    let mut gate = Gate::default();
    let (target, pid) = match command {
        CheckCommand::Contract { target, skip } => {
            gate.id = "contract".into();
            gate.contract = Some(ContractCheck {
                service: service(&target),
                openapi: target.openapi.clone(),
                skip,
                timeout_secs: Some(target.timeout),
            });
            (target, None)
        }
        CheckCommand::Security {
            target,
            fail_on,
            workspace,
            rate_limit_burst,
        } => {
            let fail_on: Severity = serde_json::from_value(Value::String(fail_on.clone()))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--fail-on: expected one of info, low, medium, high, critical, found `{fail_on}`"
                    )
                })?;
            gate.id = "security".into();
            if let Some(dir) = &workspace {
                anyhow::ensure!(
                    dir.is_dir(),
                    "--workspace: expected a directory to scan for secrets, found `{}`",
                    dir.display()
                );
            }
            gate.security = Some(SecurityCheck {
                service: service(&target),
                openapi: target.openapi.clone(),
                fail_on,
                scan_secrets: workspace.is_some(),
                rate_limit_burst,
                timeout_secs: Some(target.timeout),
            });
            (target, None)
        }
        CheckCommand::Load {
            target,
            rps,
            p95_ms,
            error_rate_percent,
            memory_mb,
            pid,
            duration,
            stress,
            spike,
            spike_factor,
            endurance,
            connections,
        } => {
            anyhow::ensure!(
                rps > 0.0 && rps.is_finite(),
                "--rps: expected a positive rate, found {rps}"
            );
            anyhow::ensure!(
                duration > 0,
                "--duration: expected at least 1 second, found 0"
            );
            anyhow::ensure!(
                spike_factor > 1.0,
                "--spike-factor: expected a factor above 1, found {spike_factor}"
            );
            gate.id = "load".into();
            gate.load = Some(LoadCheck {
                service: service(&target),
                openapi: target.openapi.clone(),
                slas: SlaTargets {
                    p95_ms: p95_ms.map(|value| value.to_string()),
                    rps: Some(rps.to_string()),
                    error_rate_percent: error_rate_percent.map(|value| value.to_string()),
                    memory_mb: memory_mb.map(|value| value.to_string()),
                },
                slas_from: None,
                sustained_secs: Some(duration),
                stress_secs: Some(stress),
                spike_factor: Some(spike_factor),
                spike_secs: Some(spike),
                endurance_secs: Some(endurance),
                connections: Some(connections),
                timeout_secs: Some(target.timeout),
            });
            (target, pid)
        }
    };
    validate_target(&target)?;
    Ok((gate, target, pid))
}

/// Refuses a target the check could only fail on for reasons of the user's typing, before
/// any traffic: a URL that is not plain `http://` (the checks are built without TLS) and a
/// document file that does not exist.
fn validate_target(target: &CheckTarget) -> anyhow::Result<()> {
    let url = target.url.trim();
    let host = url.strip_prefix("http://").unwrap_or_default();
    anyhow::ensure!(
        !host.is_empty() && !host.starts_with('/'),
        "--url: expected a URL starting with http:// (the checks are built without TLS), found `{url}`"
    );
    // A path starting with `/` that is not a file is asked of the service (as in a gate).
    let openapi = std::path::Path::new(&target.openapi);
    anyhow::ensure!(
        openapi.is_file() || (target.openapi.starts_with('/') && !openapi.exists()),
        "--openapi: `{}` is not a file; give the document's file, or its path on the service \
         starting with `/` (e.g. /openapi.json)",
        target.openapi
    );
    Ok(())
}

fn auth_options(target: &CheckTarget) -> AuthOptions {
    AuthOptions {
        admin: match (&target.admin_email, &target.admin_password) {
            (Some(email), Some(password)) => Some(Login {
                email: email.clone(),
                password: password.clone(),
            }),
            _ => None,
        },
        admin_token: target.admin_token.clone(),
        user_tokens: target.tokens.clone(),
        ..AuthOptions::default()
    }
}

fn print_report(kind: &str, report: &GateReport) {
    let verdict = match report.outcome {
        GateOutcome::Passed => "PASSED",
        GateOutcome::Failed => "FAILED",
        GateOutcome::NotRun => "NOT RUN",
    };
    println!("{kind} check {verdict}: {}", report.summary);
    println!("({})", output::duration(report.duration_ms));
    let evidence = &report.evidence;
    match kind {
        "contract" => contract_tables(evidence),
        "security" => security_tables(evidence),
        "load" => load_tables(evidence),
        _ => {}
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count().min(80));
            }
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(index, cell)| {
                let cell: String = cell.chars().take(80).collect();
                format!(
                    "{cell:<width$}",
                    width = widths.get(index).copied().unwrap_or(0)
                )
            })
            .collect();
        println!("  {}", padded.join("  ").trim_end());
    };
    println!();
    line(headers.iter().map(|header| (*header).to_string()).collect());
    line(widths.iter().map(|width| "-".repeat(*width)).collect());
    for row in rows {
        line(row.clone());
    }
}

fn contract_tables(evidence: &Value) {
    let operations = evidence.get("operations").and_then(Value::as_array);
    let rows: Vec<Vec<String>> = operations
        .into_iter()
        .flatten()
        .map(|operation| {
            vec![
                format!(
                    "{} {}",
                    text(operation.get("method")),
                    text(operation.get("path"))
                ),
                text(operation.get("requests")),
                text(operation.get("violations")),
                text(operation.get("skipped")),
            ]
        })
        .collect();
    table(&["operation", "requests", "violations", "skipped"], &rows);
    let violations = evidence.get("violations").and_then(Value::as_array);
    let rows: Vec<Vec<String>> = violations
        .into_iter()
        .flatten()
        .map(|violation| {
            vec![
                text(violation.get("operation")),
                text(violation.get("kind")),
                text(violation.get("expected")),
                text(violation.get("found")),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(&["operation", "violation", "expected", "found"], &rows);
        println!("\n  (the exact requests and responses are in --json)");
    }
}

fn security_tables(evidence: &Value) {
    let findings = evidence.get("findings").and_then(Value::as_array);
    let rows: Vec<Vec<String>> = findings
        .into_iter()
        .flatten()
        .map(|finding| {
            vec![
                text(finding.get("severity")),
                text(finding.get("owasp")),
                text(finding.get("title")),
                text(finding.get("operation")),
                text(finding.get("fix_hint")),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("\n  no findings");
    } else {
        table(&["severity", "owasp", "finding", "operation", "fix"], &rows);
    }
    let probes = evidence.get("probes").and_then(Value::as_array);
    let rows: Vec<Vec<String>> = probes
        .into_iter()
        .flatten()
        .map(|probe| {
            let status = probe.get("status");
            let (state, reason) = match status {
                Some(Value::Object(object)) => {
                    (text(object.get("status")), text(object.get("reason")))
                }
                other => (text(other), String::new()),
            };
            vec![
                text(probe.get("id")),
                state,
                text(probe.get("requests")),
                reason,
            ]
        })
        .collect();
    table(&["probe", "status", "requests", "why"], &rows);
}

fn load_tables(evidence: &Value) {
    let scenarios = evidence.get("scenarios").and_then(Value::as_object);
    // In the order they ran (the JSON object is sorted by name).
    let order = ["sustained", "stress", "spike", "endurance"];
    let mut named: Vec<(&String, &Value)> = scenarios.into_iter().flatten().collect();
    named.sort_by_key(|(name, _)| order.iter().position(|known| known == name));
    let rows: Vec<Vec<String>> = named
        .into_iter()
        .map(|(name, scenario)| {
            let number = |pointer: &str| {
                scenario
                    .pointer(pointer)
                    .and_then(Value::as_f64)
                    .map_or("-".to_string(), |value| format!("{value:.1}"))
            };
            vec![
                name.clone(),
                text(scenario.get("requests")),
                number("/throughput_rps"),
                number("/latency_ms/p50"),
                number("/latency_ms/p95"),
                number("/latency_ms/p99"),
                number("/latency_ms/max"),
                number("/error_rate_percent"),
                number("/rss_mb/max"),
            ]
        })
        .collect();
    table(
        &[
            "scenario",
            "requests",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors %",
            "max RSS MiB",
        ],
        &rows,
    );
    let violations = evidence.get("violations").and_then(Value::as_array);
    for violation in violations.into_iter().flatten() {
        println!(
            "  ✗ {}: expected {}, found {}",
            text(violation.get("metric")),
            text(violation.get("expected")),
            text(violation.get("found"))
        );
    }
}
