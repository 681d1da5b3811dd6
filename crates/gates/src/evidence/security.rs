//! The `security` gate: `apiwright_probe::security` against the running service (with its
//! real configuration) and the workspace's secrets scan. Findings at or above `fail_on` fail
//! the gate, and so does a probe that could not reach a conclusion.

use std::time::Duration;

use apiwright_probe::security;
use apiwright_probe::security::ProbeStatus;
use apiwright_probe::security::SecurityOptions;
use apiwright_probe::security::SecurityReport;
use apiwright_probe::security::Severity as ProbeSeverity;
use apiwright_workflow::SecurityCheck;
use apiwright_workflow::Severity;
use serde_json::Value;
use serde_json::json;

use super::DEFAULT_CHECK_TIMEOUT;
use super::Verdict;
use super::with_service;
use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

pub(crate) async fn evaluate(
    check: &SecurityCheck,
    context: &GateContext<'_>,
) -> Result<Verdict, GateError> {
    let limit = check
        .timeout_secs
        .map_or(DEFAULT_CHECK_TIMEOUT, Duration::from_secs);
    let mut options = SecurityOptions {
        workspace: check.scan_secrets.then(|| context.workspace.to_path_buf()),
        ..SecurityOptions::default()
    };
    if let Some(burst) = check.rate_limit_burst {
        options.rate_limit_burst = burst;
    }
    let fail_on = probe_severity(check.fail_on);
    with_service(
        &check.service,
        &check.openapi,
        limit,
        context,
        |target, _| async move {
            let report =
                security::run(&target.client, &target.api, &target.session, &options).await;
            verdict(&report, fail_on)
        },
    )
    .await
}

/// The workflow's severity as the probes name it (the workflow crate owns the file format and
/// cannot depend on the probes; the two enums are kept in step by this one match).
fn probe_severity(severity: Severity) -> ProbeSeverity {
    match severity {
        Severity::Info => ProbeSeverity::Info,
        Severity::Low => ProbeSeverity::Low,
        Severity::Medium => ProbeSeverity::Medium,
        Severity::High => ProbeSeverity::High,
        Severity::Critical => ProbeSeverity::Critical,
    }
}

/// Findings at or above `fail_on` fail the gate, and so does a probe that could not conclude;
/// a run in which no probe ran verifies nothing and fails too.
fn verdict(report: &SecurityReport, fail_on: ProbeSeverity) -> Verdict {
    let blocking: Vec<&str> = report
        .blocking(fail_on)
        .iter()
        .map(|finding| finding.title.as_str())
        .collect();
    let inconclusive: Vec<String> = report
        .not_run()
        .into_iter()
        .filter(|probe| matches!(probe.status, ProbeStatus::Inconclusive { .. }))
        .map(|probe| json!(probe.id).as_str().unwrap_or("probe").to_string())
        .collect();
    let ran = report.probes.len() - report.not_run().len();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for finding in &report.findings {
        *counts
            .entry(
                json!(finding.severity)
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string(),
            )
            .or_default() += 1;
    }
    let counts_text = if counts.is_empty() {
        "no findings".to_string()
    } else {
        counts
            .iter()
            .map(|(severity, count)| format!("{count} {severity}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut summary = format!("{ran} probes ran: {counts_text}");
    if !blocking.is_empty() {
        summary.push_str(&format!(
            "; {} at or above {fail_on:?} (blocking): {}",
            blocking.len(),
            blocking.join("; ")
        ));
    }
    if !inconclusive.is_empty() {
        summary.push_str(&format!("; inconclusive: {}", inconclusive.join(", ")));
    }
    if ran == 0 {
        summary.push_str("; no probe ran, so nothing is verified");
    }
    let outcome = if blocking.is_empty() && inconclusive.is_empty() && ran > 0 {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let mut evidence =
        serde_json::to_value(report).unwrap_or_else(|error| json!({ "error": error.to_string() }));
    if let Value::Object(object) = &mut evidence {
        object.insert("fail_on".into(), json!(fail_on));
        object.insert("counts".into(), json!(counts));
    }
    (outcome, summary, evidence)
}
