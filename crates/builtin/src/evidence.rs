//! Judging from recorded gate evidence only (`StepRequest::gates`), for the roles that
//! validate: seed 002's final validation and seed 001's adversarial validator. Only the
//! final evaluation of each gate counts (`apiwright_agents::confidence::final_records`); a gate
//! that did not run is reported as not run, never as passed.

use apiwright_agents::GateRecord;
use apiwright_agents::confidence::GateVerdict;
use apiwright_agents::confidence::final_records;
use serde_json::Value;
use serde_json::json;

fn row(record: &GateRecord) -> Value {
    json!({
        "phase": record.phase,
        "round": record.round,
        "gate": record.gate,
        "kind": record.kind,
        "outcome": record.outcome,
        "summary": record.summary,
    })
}

/// Every final gate with its outcome, and the gates by verdict:
/// `{gates, passed, failed, not_run, counts: {passed, failed, not_run, total}, all_verified, basis}`.
pub(crate) fn gate_table(gates: &[GateRecord]) -> Value {
    let records = final_records(gates);
    let named = |verdict: GateVerdict| -> Vec<String> {
        records
            .iter()
            .filter(|record| GateVerdict::of_outcome(&record.outcome) == verdict)
            .map(|record| format!("{}/{}", record.phase, record.gate))
            .collect()
    };
    let passed = named(GateVerdict::Verified);
    let failed = named(GateVerdict::Failed);
    let not_run = named(GateVerdict::NotRun);
    json!({
        "gates": records.iter().map(|record| row(record)).collect::<Vec<_>>(),
        "counts": {"passed": passed.len(), "failed": failed.len(), "not_run": not_run.len(), "total": records.len()},
        "all_verified": !records.is_empty() && failed.is_empty() && not_run.is_empty(),
        "passed": passed,
        "failed": failed,
        "not_run": not_run,
        "basis": "recorded gate evidence of the run (latest visit of every phase); nothing else",
    })
}

/// Whether a gate checks `kind`: a planned gate of that kind, or a gate whose id is exactly
/// one of `ids` (never a prefix: `contract-versioned` is not a contract test).
fn checks(record: &GateRecord, kind: &str, ids: &[&str]) -> bool {
    record.evidence["planned"].as_str() == Some(kind) || ids.contains(&record.gate.as_str())
}

/// The status of one kind of check from the final gates that check it:
/// `{status: passed | failed | not_run, gates, reason}`. `passed` needs at least one such gate
/// and all of them passed; no gate at all is `not_run`.
pub(crate) fn check_status(gates: &[GateRecord], kind: &str, ids: &[&str]) -> Value {
    let records: Vec<&GateRecord> = final_records(gates)
        .into_iter()
        .filter(|record| checks(record, kind, ids))
        .collect();
    let verdicts: Vec<GateVerdict> = records
        .iter()
        .map(|record| GateVerdict::of_outcome(&record.outcome))
        .collect();
    let (status, reason) = if verdicts.contains(&GateVerdict::Failed) {
        ("failed", format!("a {kind} gate ran and failed"))
    } else if !verdicts.is_empty() && verdicts.iter().all(|v| *v == GateVerdict::Verified) {
        ("passed", format!("every {kind} gate ran and passed"))
    } else if verdicts.is_empty() {
        (
            "not_run",
            format!("no {kind} gate has been evaluated in this run; no result is claimed"),
        )
    } else {
        (
            "not_run",
            format!(
                "{kind} checks are not part of this version of apiwright (planned gates); no result is claimed"
            ),
        )
    };
    json!({
        "status": status,
        "reason": reason,
        "gates": records.iter().map(|record| row(record)).collect::<Vec<_>>(),
        "findings": Value::Null,
    })
}
