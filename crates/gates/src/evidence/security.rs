//! The `security` gate: `apiwright_probe::security` against the running service (with its
//! real configuration) and the workspace's secrets scan. Findings at or above `fail_on` fail
//! the gate, and so does a probe that could not reach a conclusion.

use std::time::Duration;

use apiwright_probe::security;
use apiwright_probe::security::SecurityOptions;
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
    let fail_on = check.fail_on;
    with_service(
        &check.service,
        &check.openapi,
        limit,
        context,
        |target, _| async move {
            let report =
                security::run(&target.client, &target.api, &target.session, &options).await;
            let evidence = serde_json::to_value(&report)
                .unwrap_or_else(|error| json!({ "error": error.to_string() }));
            verdict(&evidence, fail_on)
        },
    )
    .await
}

/// Judges a serialized report: findings by severity (as the workflow names them), and probes
/// that ran, were skipped (with why) or were inconclusive.
fn verdict(evidence: &Value, fail_on: Severity) -> Verdict {
    let findings = evidence
        .get("findings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let severity_of = |finding: &Value| {
        finding
            .get("severity")
            .cloned()
            .and_then(|severity| serde_json::from_value::<Severity>(severity).ok())
    };
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut blocking = Vec::new();
    for finding in &findings {
        let severity = severity_of(finding);
        let name = severity.map_or("unknown".to_string(), |severity| {
            format!("{severity:?}").to_lowercase()
        });
        *counts.entry(name).or_default() += 1;
        // A finding whose severity cannot be read is treated as blocking: unknown is not safe.
        if severity.is_none_or(|severity| severity >= fail_on) {
            blocking.push(
                finding
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("finding")
                    .to_string(),
            );
        }
    }
    let probes = evidence
        .get("probes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let status_of = |probe: &Value| {
        probe
            .pointer("/status/status")
            .or_else(|| probe.get("status"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string()
    };
    let ran = probes
        .iter()
        .filter(|probe| status_of(probe) == "ran")
        .count();
    let inconclusive: Vec<String> = probes
        .iter()
        .filter(|probe| status_of(probe) == "inconclusive")
        .map(|probe| {
            probe
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("probe")
                .to_string()
        })
        .collect();
    let passed = blocking.is_empty() && inconclusive.is_empty() && ran > 0;
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
    let outcome = if passed {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let mut evidence = evidence.clone();
    if let Value::Object(object) = &mut evidence {
        object.insert("fail_on".into(), json!(fail_on));
        object.insert("counts".into(), json!(counts));
    }
    (outcome, summary, evidence)
}
