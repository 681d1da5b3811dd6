//! `REPORT.md`: a run's report for people, written into the workspace when a run stops, in
//! seed 001's output format — intent, constraints and contract summary; validation evidence;
//! risks; and `Confidence: X.XX (ceiling: TYPE Y.YY) - rationale`, where only claims verified
//! by a gate that ran earn the observation ceiling.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use apiwright_engine::report::GateStatus;
use apiwright_engine::report::RunReport;

/// Deliverables of the run the report quotes, when they exist.
#[derive(Debug, Default)]
pub struct Extras {
    pub requirements: Option<serde_json::Value>,
    pub go_no_go: Option<serde_json::Value>,
}

/// The gates that decide the outcome: for each phase, its latest visit; within it, the last
/// evaluation of each gate per TDD item (a later iteration supersedes an earlier one).
pub fn final_gates(report: &RunReport) -> Vec<(&str, &apiwright_engine::report::GateRow)> {
    let latest: BTreeMap<&str, u32> =
        report
            .phases
            .iter()
            .fold(BTreeMap::new(), |mut map, phase| {
                let visit = map.entry(phase.phase.as_str()).or_insert(phase.visit);
                *visit = (*visit).max(phase.visit);
                map
            });
    let mut last: BTreeMap<(String, String), (&str, &apiwright_engine::report::GateRow)> =
        BTreeMap::new();
    let mut order = Vec::new();
    for phase in report
        .phases
        .iter()
        .filter(|phase| latest.get(phase.phase.as_str()) == Some(&phase.visit))
    {
        for gate in &phase.gates {
            let position: String = gate
                .round
                .split('/')
                .filter(|part| !part.starts_with("iteration-"))
                .collect::<Vec<_>>()
                .join("/");
            let key = (position, gate.gate.clone());
            if !last.contains_key(&key) {
                order.push(key.clone());
            }
            last.insert(key, (phase.phase.as_str(), gate));
        }
    }
    order
        .into_iter()
        .filter_map(|key| last.remove(&key))
        .collect()
}

/// The confidence line (seed 001): the rule is `apiwright_agents::confidence`, shared with the
/// built-in orchestrator's delivery report; here it is applied to the run's final gates.
pub fn confidence(report: &RunReport) -> (f64, &'static str, f64, String) {
    use apiwright_agents::confidence::Confidence;
    use apiwright_agents::confidence::GateVerdict;
    let confidence = Confidence::from_verdicts(final_gates(report).into_iter().map(|(_, gate)| {
        let verdict = match gate.status {
            GateStatus::Passed | GateStatus::Approved => GateVerdict::Verified,
            GateStatus::Failed | GateStatus::Rejected => GateVerdict::Failed,
            GateStatus::NotRun | GateStatus::Waiting => GateVerdict::NotRun,
        };
        (gate.gate.as_str(), verdict)
    }));
    (
        confidence.value,
        confidence.ceiling_kind,
        confidence.ceiling,
        confidence.rationale,
    )
}

pub fn render(report: &RunReport, extras: &Extras) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Run report: {} ({})\n",
        report.workflow, report.run_id
    );
    let _ = writeln!(out, "Status: **{}**", report.status);
    if let Some(failure) = &report.failure {
        let _ = writeln!(out, "\nReason: {failure}");
    }
    if let Some(waiting) = &report.waiting_for {
        let _ = writeln!(out, "\nWaiting for: {waiting}");
    }

    let _ = writeln!(out, "\n## Intent, constraints and contract summary\n");
    match &extras.requirements {
        Some(requirements) => {
            let api = &requirements["api"];
            let _ = writeln!(
                out,
                "- Intent: {} — {}",
                api["title"].as_str().or(api["name"].as_str()).unwrap_or(""),
                api["description"].as_str().unwrap_or("")
            );
            let metrics = &requirements["success_metrics"];
            let _ = writeln!(
                out,
                "- HARD: p95 < {} ms, > {} req/s, error rate < {} %, memory < {} MB; authentication {}",
                metrics["p95_ms"],
                metrics["throughput_rps"],
                metrics["error_rate_percent"],
                metrics["memory_mb"],
                requirements["auth"]["method"].as_str().unwrap_or("")
            );
            let _ = writeln!(out, "- SOFT: rate limits {}", requirements["rate_limits"]);
            let _ = writeln!(
                out,
                "- INFERRED: {}",
                requirements["versioning"].as_str().unwrap_or("")
            );
            let endpoints = requirements["endpoints"].as_array().map_or(0, Vec::len);
            let _ = writeln!(
                out,
                "- Contract: {endpoints} endpoints, OpenAPI 3.1 in `openapi.json`, errors as problem+json"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "- Workflow `{}` with parameters {:?}",
                report.workflow, report.params
            );
        }
    }

    let _ = writeln!(
        out,
        "\n## Phases\n\n| phase | visit | mode | status |\n|---|--:|---|---|"
    );
    for phase in &report.phases {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            phase.phase, phase.visit, phase.mode, phase.status
        );
    }

    let _ = writeln!(
        out,
        "\n## Validation evidence\n\n| phase | round | gate | kind | result | evidence |\n|---|---|---|---|---|---|"
    );
    for phase in &report.phases {
        for gate in &phase.gates {
            let result = match gate.status {
                GateStatus::Passed => "passed",
                GateStatus::Failed => "**failed**",
                GateStatus::Approved => "approved",
                GateStatus::Rejected => "**rejected**",
                GateStatus::Waiting => "waiting",
                GateStatus::NotRun => "not run",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {result} | {} |",
                phase.phase,
                gate.round,
                gate.gate,
                gate.kind,
                gate.summary.replace('|', "\\|")
            );
        }
    }

    if let Some(usage) = &report.usage {
        let _ = writeln!(
            out,
            "\n## Model usage\n\n{} in total.\n\n| role | input tokens | output tokens | cost (USD) |\n|---|---|---|---|",
            crate::output::usage_line(&usage.total)
        );
        for (role, used) in &usage.by_role {
            let _ = writeln!(
                out,
                "| {role} | {} | {} | {:.4} |",
                used.input_tokens, used.output_tokens, used.cost_usd
            );
        }
        let _ = writeln!(
            out,
            "\n| phase | round | step | input tokens | output tokens | cost (USD) |\n|---|---|---|---|---|---|"
        );
        for phase in &report.phases {
            for step in &phase.steps {
                if let Some(used) = &step.usage {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {:.4} |",
                        phase.phase,
                        step.round,
                        step.step,
                        used.input_tokens,
                        used.output_tokens,
                        used.cost_usd
                    );
                }
            }
        }
    }

    if !report.tdd.is_empty() {
        let (verified, total) = report.tdd_adherence();
        let _ = writeln!(
            out,
            "\n## TDD adherence\n\n{verified} of {total} items were seen failing before their implementation and passing after it.\n\n| item | red | green | refactor |\n|---|---|---|---|"
        );
        for row in &report.tdd {
            let mark = |ok: bool| if ok { "verified" } else { "**not verified**" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                row.item,
                mark(row.red_verified()),
                mark(row.green_verified()),
                mark(row.refactor_verified())
            );
        }
    }

    let coverage: Vec<_> = report
        .phases
        .iter()
        .flat_map(|p| &p.gates)
        .filter(|g| g.gate == "coverage")
        .collect();
    if let Some(gate) = coverage.last() {
        let _ = writeln!(out, "\n## Coverage\n\n{}", gate.summary);
    }

    if let Some(verdict) = &extras.go_no_go {
        let _ = writeln!(
            out,
            "\n## Go / no-go\n\nDecision **{}**, readiness {} (from {} recorded gates).",
            verdict["decision"].as_str().unwrap_or("?"),
            verdict["readiness_score"],
            verdict["gates_counted"]
        );
    }

    let _ = writeln!(out, "\n## Risks\n");
    let mut risks = 0;
    for (phase, gate) in final_gates(report) {
        if matches!(
            gate.status,
            GateStatus::Failed | GateStatus::Rejected | GateStatus::NotRun
        ) {
            risks += 1;
            let _ = writeln!(out, "- {phase} / {}: {}", gate.gate, gate.summary);
        }
    }
    for escalation in &report.escalations {
        risks += 1;
        let _ = writeln!(
            out,
            "- escalation {} ({}): {} [{}]",
            escalation.id, escalation.kind, escalation.message, escalation.status
        );
    }
    if risks == 0 {
        let _ = writeln!(out, "- None recorded.");
    }

    let (value, kind, ceiling, rationale) = confidence(report);
    let _ = writeln!(
        out,
        "\nConfidence: {value:.2} (ceiling: {kind} {ceiling:.2}) - {rationale}"
    );
    out
}
