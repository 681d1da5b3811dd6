//! Seed 001's confidence line, `Confidence: X.XX (ceiling: TYPE Y.YY) - rationale`, computed
//! from gate outcomes. It lives here, next to [`GateRecord`], because two clients need the same
//! rule: the CLI's `REPORT.md` (from a run report) and the built-in orchestrator's delivery
//! report (from the gate records of its step request). Only claims verified by a gate that ran
//! earn the `observation` ceiling; anything failed or not run caps it at `inference`.

use std::collections::BTreeMap;

use crate::GateRecord;

/// What one gate's final evaluation says about its claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
    /// Passed or approved: the claim was checked.
    Verified,
    /// Failed or rejected.
    Failed,
    /// Not evaluated (a planned check, a gate still waiting, a round that stopped before it).
    NotRun,
}

impl GateVerdict {
    /// The verdict of a recorded outcome (`passed`, `approved`, `failed`, `rejected`,
    /// `not_run`); anything else was not run.
    pub fn of_outcome(outcome: &str) -> GateVerdict {
        match outcome {
            "passed" | "approved" => GateVerdict::Verified,
            "failed" | "rejected" => GateVerdict::Failed,
            _ => GateVerdict::NotRun,
        }
    }
}

/// A declared confidence and its ceiling.
#[derive(Debug, Clone, PartialEq)]
pub struct Confidence {
    /// The confidence, never above the ceiling (two decimals).
    pub value: f64,
    /// `observation` when every counted gate ran and passed, else `inference`.
    pub ceiling_kind: &'static str,
    /// 0.95 for observation, 0.70 for inference.
    pub ceiling: f64,
    /// How many gate checks were verified, failed and not run.
    pub rationale: String,
}

impl Confidence {
    /// The confidence of a set of final gate verdicts (gate id, verdict): the ceiling is
    /// `observation 0.95` only when there is at least one gate and every one was verified;
    /// the value is the ceiling scaled by the share of verified gates.
    pub fn from_verdicts<'a>(
        verdicts: impl IntoIterator<Item = (&'a str, GateVerdict)>,
    ) -> Confidence {
        let verdicts: Vec<(&str, GateVerdict)> = verdicts.into_iter().collect();
        let total = verdicts.len();
        let verified = verdicts
            .iter()
            .filter(|(_, verdict)| *verdict == GateVerdict::Verified)
            .count();
        let failed = verdicts
            .iter()
            .filter(|(_, verdict)| *verdict == GateVerdict::Failed)
            .count();
        let not_run: Vec<&str> = verdicts
            .iter()
            .filter(|(_, verdict)| *verdict == GateVerdict::NotRun)
            .map(|(gate, _)| *gate)
            .collect();
        let (ceiling_kind, ceiling) = if total > 0 && not_run.is_empty() && failed == 0 {
            ("observation", 0.95)
        } else {
            ("inference", 0.70)
        };
        let ratio = if total == 0 {
            0.0
        } else {
            verified as f64 / total as f64
        };
        let value = (ceiling * ratio * 100.0).round() / 100.0;
        let mut unique_not_run = not_run.clone();
        unique_not_run.sort_unstable();
        unique_not_run.dedup();
        let rationale = format!(
            "{verified} of {total} gate checks verified by running them; {failed} failed; {} not run{}",
            not_run.len(),
            if unique_not_run.is_empty() {
                String::new()
            } else {
                format!(" ({})", unique_not_run.join(", "))
            }
        );
        Confidence {
            value,
            ceiling_kind,
            ceiling,
            rationale,
        }
    }

    /// `Confidence: X.XX (ceiling: TYPE Y.YY) - rationale`.
    pub fn line(&self) -> String {
        format!(
            "Confidence: {:.2} (ceiling: {} {:.2}) - {}",
            self.value, self.ceiling_kind, self.ceiling, self.rationale
        )
    }
}

/// The visit number of a recorded round (`tdd#2/item-1/red` → 2; 1 when unreadable).
pub fn visit_of(round: &str) -> u32 {
    round
        .split('#')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|visit| visit.parse().ok())
        .unwrap_or(1)
}

/// The records that decide a run's outcome: for each phase its latest visit; within it the
/// last evaluation of each gate per position (a later iteration supersedes an earlier one, TDD
/// items and stages are kept apart). Order: first evaluation of each position and gate.
pub fn final_records(gates: &[GateRecord]) -> Vec<&GateRecord> {
    let mut latest: BTreeMap<&str, u32> = BTreeMap::new();
    for record in gates {
        let visit = visit_of(&record.round);
        let entry = latest.entry(record.phase.as_str()).or_insert(visit);
        *entry = (*entry).max(visit);
    }
    let mut last: BTreeMap<(String, &str), &GateRecord> = BTreeMap::new();
    let mut order = Vec::new();
    for record in gates
        .iter()
        .filter(|record| latest.get(record.phase.as_str()) == Some(&visit_of(&record.round)))
    {
        let position: String = record
            .round
            .split('/')
            .filter(|part| !part.starts_with("iteration-"))
            .collect::<Vec<_>>()
            .join("/");
        let key = (position, record.gate.as_str());
        if !last.contains_key(&key) {
            order.push(key.clone());
        }
        last.insert(key, record);
    }
    order
        .into_iter()
        .filter_map(|key| last.remove(&key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(phase: &str, round: &str, gate: &str, outcome: &str) -> GateRecord {
        GateRecord {
            phase: phase.into(),
            round: round.into(),
            gate: gate.into(),
            kind: "command".into(),
            outcome: outcome.into(),
            summary: String::new(),
            evidence: serde_json::Value::Null,
        }
    }

    #[test]
    fn only_an_all_verified_run_earns_the_observation_ceiling() {
        let all = Confidence::from_verdicts([
            ("build", GateVerdict::Verified),
            ("tests", GateVerdict::Verified),
        ]);
        assert_eq!(
            all.line(),
            "Confidence: 0.95 (ceiling: observation 0.95) - 2 of 2 gate checks verified by running them; 0 failed; 0 not run"
        );
        let partial = Confidence::from_verdicts([
            ("build", GateVerdict::Verified),
            ("load", GateVerdict::NotRun),
            ("lint", GateVerdict::Failed),
            ("tests", GateVerdict::Verified),
        ]);
        assert_eq!(
            partial.line(),
            "Confidence: 0.35 (ceiling: inference 0.70) - 2 of 4 gate checks verified by running them; 1 failed; 1 not run (load)"
        );
        assert_eq!(Confidence::from_verdicts([]).value, 0.0);
        assert_eq!(Confidence::from_verdicts([]).ceiling_kind, "inference");
    }

    #[test]
    fn final_records_keep_the_latest_visit_and_the_last_iteration() {
        let gates = vec![
            record("build", "build#1", "tests", "failed"),
            record("build", "build#2", "tests", "passed"),
            record("loop", "loop#1", "load", "failed"),
            record("loop", "loop#1/iteration-2", "load", "not_run"),
            record("tdd", "tdd#1/item-1/red", "red", "passed"),
            record("tdd", "tdd#1/item-2/red", "red", "failed"),
        ];
        let kept: Vec<(&str, &str, &str)> = final_records(&gates)
            .into_iter()
            .map(|r| (r.round.as_str(), r.gate.as_str(), r.outcome.as_str()))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("build#2", "tests", "passed"),
                ("loop#1/iteration-2", "load", "not_run"),
                ("tdd#1/item-1/red", "red", "passed"),
                ("tdd#1/item-2/red", "red", "failed"),
            ]
        );
        assert_eq!(GateVerdict::of_outcome("approved"), GateVerdict::Verified);
        assert_eq!(GateVerdict::of_outcome("rejected"), GateVerdict::Failed);
        assert_eq!(GateVerdict::of_outcome("waiting"), GateVerdict::NotRun);
    }
}
