//! A run's report, rebuilt from its event log: phases (one entry per visit), steps with
//! attempts and durations, gates with their outcome and evidence, approvals, escalations and
//! loops. Gates that never ran in a round are listed as `not_run`, never as passed.

use std::collections::BTreeMap;

use apiwright_agents::Usage;
use apiwright_gates::GateOutcome;
use apiwright_workflow::GateCheck;
use apiwright_workflow::Mode;
use apiwright_workflow::Workflow;
use serde::Serialize;

use crate::event::Event;
use crate::event::Round;

/// Outcome of a gate in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    /// Evaluated and held.
    Passed,
    /// Evaluated and did not hold.
    Failed,
    /// Approved by a person.
    Approved,
    /// Rejected by a person.
    Rejected,
    /// Waiting for a person.
    Waiting,
    /// Never evaluated (the round stopped before it, or the run is still going).
    NotRun,
}

/// A gate in a round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateRow {
    /// Round.
    pub round: String,
    /// Gate id.
    pub gate: String,
    /// Kind.
    pub kind: String,
    /// Criterion text.
    pub criterion: String,
    /// Outcome.
    pub status: GateStatus,
    /// One line.
    pub summary: String,
    /// Evidence (command, exit code, output tail, keys, value, who decided…).
    pub evidence: serde_json::Value,
    /// Evaluation time.
    pub duration_ms: u64,
}

/// A step in a round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRow {
    /// Round.
    pub round: String,
    /// Step id.
    pub step: String,
    /// Agent role.
    pub agent: String,
    /// `finished`, `failed`, `running` (or interrupted), `retrying`.
    pub status: String,
    /// Attempts started.
    pub attempts: u32,
    /// Duration of the last attempt.
    pub duration_ms: u64,
    /// Summary or error.
    pub summary: String,
    /// Memory keys written.
    pub deliverables: Vec<String>,
    /// Provider of the last attempt.
    pub provider: String,
    /// Model usage of all attempts (tokens and cost), when a model was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// Model usage of a run: in total, per role and per provider (every attempt counts, also
/// failed ones: the tokens were spent).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct UsageTotals {
    /// The whole run.
    pub total: Usage,
    /// Per agent role.
    pub by_role: BTreeMap<String, Usage>,
    /// Model turns are not events; attempts that reported usage.
    pub attempts: u32,
}

impl UsageTotals {
    fn add(&mut self, role: &str, usage: &Usage) {
        add(&mut self.total, usage);
        add(self.by_role.entry(role.to_string()).or_default(), usage);
        self.attempts += 1;
    }
}

fn add(total: &mut Usage, usage: &Usage) {
    total.input_tokens += usage.input_tokens;
    total.output_tokens += usage.output_tokens;
    total.cost_usd += usage.cost_usd;
}

/// One visit of a phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseRow {
    /// Phase id.
    pub phase: String,
    /// Title.
    pub title: String,
    /// Mode name.
    pub mode: String,
    /// Visit number.
    pub visit: u32,
    /// `running`, `completed`, `overridden`, `failed`.
    pub status: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Start (ms since the epoch).
    pub started_at: i64,
    /// End, if ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
    /// TDD items.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Rounds (iterations, TDD item stages).
    pub rounds: u32,
    /// Steps.
    pub steps: Vec<StepRow>,
    /// Gates.
    pub gates: Vec<GateRow>,
}

/// An escalation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationRow {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Message.
    pub message: String,
    /// Raised by.
    pub raised_by: String,
    /// `open`, `approved`, `rejected`.
    pub status: String,
    /// Who decided and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

/// A loop back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopRow {
    /// From phase.
    pub from: String,
    /// To phase.
    pub to: String,
    /// Count of max.
    pub count: u32,
    /// Max.
    pub max: u32,
    /// `retry` or `goto`.
    pub kind: String,
}

/// One TDD item of one phase visit: its stage gates, counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TddRow {
    /// Phase id.
    pub phase: String,
    /// Visit.
    pub visit: u32,
    /// The item.
    pub item: String,
    /// Red-stage gates evaluated / passed.
    pub red: (u32, u32),
    /// Green-stage gates evaluated / passed.
    pub green: (u32, u32),
    /// Refactor-stage gates evaluated / passed or not run (planned checks).
    pub refactor: (u32, u32),
}

impl TddRow {
    /// The item's tests were seen failing before its implementation.
    pub fn red_verified(&self) -> bool {
        self.red.0 > 0 && self.red.0 == self.red.1
    }

    /// The item's tests were seen passing after its implementation.
    pub fn green_verified(&self) -> bool {
        self.green.0 > 0 && self.green.0 == self.green.1
    }

    /// Everything checked after the refactor held.
    pub fn refactor_verified(&self) -> bool {
        self.refactor.0 > 0 && self.refactor.0 == self.refactor.1
    }
}

/// Everything `apiwright runs show` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Run id.
    pub run_id: String,
    /// Workflow name.
    pub workflow: String,
    /// Parameters.
    pub params: BTreeMap<String, String>,
    /// Final or current status.
    pub status: String,
    /// What the run waits for, if paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Start (ms since the epoch).
    pub started_at: i64,
    /// Last event (ms since the epoch).
    pub updated_at: i64,
    /// Phase visits, in order.
    pub phases: Vec<PhaseRow>,
    /// Escalations.
    pub escalations: Vec<EscalationRow>,
    /// Loops.
    pub loops: Vec<LoopRow>,
    /// Steps finished / attempts started.
    pub steps_finished: u32,
    /// Attempts started in total (more than steps when steps were retried or resumed).
    pub step_attempts: u32,
    /// TDD items and their verification, one row per item and phase visit.
    pub tdd: Vec<TddRow>,
    /// Model usage (absent when no model was used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageTotals>,
}

impl RunReport {
    /// Items of the latest visit of each TDD phase verified red then green, and their count.
    pub fn tdd_adherence(&self) -> (usize, usize) {
        let latest: std::collections::BTreeMap<&str, u32> =
            self.tdd.iter().fold(Default::default(), |mut latest, row| {
                let visit = latest.entry(row.phase.as_str()).or_insert(row.visit);
                *visit = (*visit).max(row.visit);
                latest
            });
        let rows: Vec<&TddRow> = self
            .tdd
            .iter()
            .filter(|row| latest.get(row.phase.as_str()) == Some(&row.visit))
            .collect();
        let verified = rows
            .iter()
            .filter(|row| row.red_verified() && row.green_verified())
            .count();
        (verified, rows.len())
    }
}

fn mode_name(mode: &Mode) -> String {
    match mode {
        Mode::Sequential => "sequential".into(),
        Mode::Parallel(parallel) => format!(
            "parallel(max {}, {:?})",
            parallel
                .max_agents
                .map_or_else(|| "all".to_string(), |max| max.to_string()),
            parallel.topology
        )
        .to_lowercase(),
        Mode::Iterative(iterative) => {
            format!("iterative(max {})", iterative.max_iterations.unwrap_or(1))
        }
        Mode::Tdd(_) => "tdd".into(),
    }
}

/// Builds the report of a run from its events (`(at, event)` pairs in log order).
pub fn build(run_id: &str, workflow: &Workflow, events: &[(i64, Event)]) -> RunReport {
    let mut report = RunReport {
        run_id: run_id.to_string(),
        workflow: workflow.name.clone(),
        params: BTreeMap::new(),
        status: "running".into(),
        waiting_for: None,
        failure: None,
        started_at: events.first().map_or(0, |(at, _)| *at),
        updated_at: events.last().map_or(0, |(at, _)| *at),
        phases: Vec::new(),
        escalations: Vec::new(),
        loops: Vec::new(),
        steps_finished: 0,
        step_attempts: 0,
        tdd: Vec::new(),
        usage: None,
    };
    for (at, event) in events {
        apply(&mut report, workflow, *at, event);
    }
    report
}

/// Counts one stage gate into its item's TDD row (refactor also tolerates gates not run,
/// such as planned coverage).
fn record_tdd_gate(report: &mut RunReport, round: &Round, outcome: GateOutcome) {
    let (Some(item_index), Some(stage)) = (round.item, round.stage) else {
        return;
    };
    let item = report
        .phases
        .iter()
        .rev()
        .find(|row| row.phase == round.phase)
        .and_then(|row| row.items.get(item_index).cloned())
        .unwrap_or_else(|| format!("item-{}", item_index + 1));
    let position = report
        .tdd
        .iter()
        .position(|row| row.phase == round.phase && row.visit == round.visit && row.item == item);
    let index = match position {
        Some(index) => index,
        None => {
            report.tdd.push(TddRow {
                phase: round.phase.clone(),
                visit: round.visit,
                item,
                red: (0, 0),
                green: (0, 0),
                refactor: (0, 0),
            });
            report.tdd.len() - 1
        }
    };
    let row = &mut report.tdd[index];
    let counter = match stage {
        apiwright_workflow::TddStage::Red => &mut row.red,
        apiwright_workflow::TddStage::Green => &mut row.green,
        apiwright_workflow::TddStage::Refactor => &mut row.refactor,
    };
    counter.0 += 1;
    let holds = match stage {
        apiwright_workflow::TddStage::Refactor => outcome != GateOutcome::Failed,
        apiwright_workflow::TddStage::Red | apiwright_workflow::TddStage::Green => {
            outcome == GateOutcome::Passed
        }
    };
    if holds {
        counter.1 += 1;
    }
}

fn current_phase<'a>(report: &'a mut RunReport, phase: &str) -> Option<&'a mut PhaseRow> {
    report
        .phases
        .iter_mut()
        .rev()
        .find(|row| row.phase == phase)
}

fn step_row<'a>(phase: &'a mut PhaseRow, round: &Round, step: &str) -> Option<&'a mut StepRow> {
    let round = round.to_string();
    phase
        .steps
        .iter_mut()
        .rev()
        .find(|row| row.round == round && row.step == step)
}

fn gate_row<'a>(phase: &'a mut PhaseRow, round: &Round, gate: &str) -> Option<&'a mut GateRow> {
    let round = round.to_string();
    phase
        .gates
        .iter_mut()
        .rev()
        .find(|row| row.round == round && row.gate == gate)
}

fn apply(report: &mut RunReport, workflow: &Workflow, at: i64, event: &Event) {
    match event {
        Event::RunStarted { params, .. } => report.params = params.clone(),
        Event::PhaseStarted { phase, visit } => {
            let definition = workflow
                .phase_index(phase)
                .map(|index| &workflow.phases[index]);
            report.phases.push(PhaseRow {
                phase: phase.clone(),
                title: definition.map(|d| d.title.clone()).unwrap_or_default(),
                mode: definition.map(|d| mode_name(&d.mode)).unwrap_or_default(),
                visit: *visit,
                status: "running".into(),
                failure: None,
                started_at: at,
                ended_at: None,
                items: Vec::new(),
                rounds: 0,
                steps: Vec::new(),
                gates: Vec::new(),
            });
        }
        Event::ItemsResolved { phase, items } => {
            if let Some(row) = current_phase(report, phase) {
                row.items = items.clone();
            }
        }
        Event::RoundStarted { round, .. } => {
            let definition = workflow
                .phase_index(&round.phase)
                .map(|index| &workflow.phases[index]);
            if let (Some(row), Some(definition)) = (current_phase(report, &round.phase), definition)
            {
                row.rounds += 1;
                for gate in definition
                    .gates
                    .iter()
                    .filter(|gate| round.stage.is_none() || gate.stage == round.stage)
                {
                    row.gates.push(GateRow {
                        round: round.to_string(),
                        gate: gate.id.clone(),
                        kind: gate.kind_name().to_string(),
                        criterion: gate.criterion.clone(),
                        status: GateStatus::NotRun,
                        summary: match gate.check() {
                            Some(GateCheck::Approval(_)) => "not asked".into(),
                            _ => "not evaluated".into(),
                        },
                        evidence: serde_json::Value::Null,
                        duration_ms: 0,
                    });
                }
            }
        }
        Event::StepStarted {
            round,
            step,
            attempt,
            provider,
        } => {
            report.step_attempts += 1;
            let agent = workflow
                .phase_index(&round.phase)
                .and_then(|index| {
                    workflow.phases[index]
                        .steps
                        .iter()
                        .find(|candidate| candidate.id() == step)
                })
                .map(|step| step.agent.clone())
                .unwrap_or_default();
            if let Some(row) = current_phase(report, &round.phase) {
                match step_row(row, round, step) {
                    Some(existing) => {
                        existing.status = "running".into();
                        existing.attempts = *attempt;
                        existing.provider = provider.clone();
                    }
                    None => row.steps.push(StepRow {
                        round: round.to_string(),
                        step: step.clone(),
                        agent,
                        status: "running".into(),
                        attempts: *attempt,
                        duration_ms: 0,
                        summary: String::new(),
                        deliverables: Vec::new(),
                        provider: provider.clone(),
                        usage: None,
                    }),
                }
            }
        }
        Event::StepFinished {
            round,
            step,
            summary,
            deliverables,
            duration_ms,
            usage,
            agent,
            ..
        } => {
            report.steps_finished += 1;
            if let Some(usage) = usage {
                report.usage.get_or_insert_default().add(agent, usage);
            }
            if let Some(row) = current_phase(report, &round.phase)
                && let Some(step) = step_row(row, round, step)
            {
                step.status = "finished".into();
                step.summary = summary.clone();
                step.deliverables = deliverables.clone();
                step.duration_ms = *duration_ms;
                if let Some(usage) = usage {
                    add(step.usage.get_or_insert_default(), usage);
                }
            }
        }
        Event::StepFailed {
            round,
            step,
            error,
            retryable,
            duration_ms,
            usage,
            ..
        } => {
            let role = current_phase(report, &round.phase)
                .and_then(|row| step_row(row, round, step))
                .map(|row| row.agent.clone())
                .unwrap_or_default();
            if let Some(usage) = usage {
                report.usage.get_or_insert_default().add(&role, usage);
            }
            if let Some(row) = current_phase(report, &round.phase)
                && let Some(step) = step_row(row, round, step)
            {
                if let Some(usage) = usage {
                    add(step.usage.get_or_insert_default(), usage);
                }
                step.status = if *retryable {
                    "failed (retryable)"
                } else {
                    "failed"
                }
                .into();
                step.summary = error.clone();
                step.duration_ms = *duration_ms;
            }
        }
        Event::GateEvaluated {
            round,
            gate,
            outcome,
            summary,
            evidence,
            duration_ms,
            ..
        } => {
            if let Some(row) = current_phase(report, &round.phase)
                && let Some(gate) = gate_row(row, round, gate)
            {
                gate.status = match outcome {
                    GateOutcome::Passed => GateStatus::Passed,
                    GateOutcome::Failed => GateStatus::Failed,
                    GateOutcome::NotRun => GateStatus::NotRun,
                };
                gate.summary = summary.clone();
                gate.evidence = evidence.clone();
                gate.duration_ms = *duration_ms;
            }
            record_tdd_gate(report, round, *outcome);
        }
        Event::ApprovalRequested {
            round,
            gate,
            prompt,
        } => {
            report.waiting_for = Some(format!("approval `{gate}`: {prompt}"));
            if let Some(row) = current_phase(report, &round.phase)
                && let Some(gate) = gate_row(row, round, gate)
            {
                gate.status = GateStatus::Waiting;
                gate.summary = format!("waiting: {prompt}");
            }
        }
        Event::ApprovalDecided {
            round,
            gate,
            approved,
            by,
            reason,
        } => {
            report.waiting_for = None;
            if let Some(row) = current_phase(report, &round.phase)
                && let Some(gate) = gate_row(row, round, gate)
            {
                gate.status = if *approved {
                    GateStatus::Approved
                } else {
                    GateStatus::Rejected
                };
                gate.summary = format!(
                    "{} by {by}{}",
                    if *approved { "approved" } else { "rejected" },
                    reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
                gate.evidence = serde_json::json!({
                    "approved": approved, "by": by, "reason": reason, "at": at,
                });
            }
        }
        Event::PhaseCompleted {
            phase, overridden, ..
        } => {
            if let Some(row) = current_phase(report, phase) {
                row.status = if *overridden {
                    "overridden"
                } else {
                    "completed"
                }
                .into();
                row.ended_at = Some(at);
            }
        }
        Event::PhaseFailed { phase, reason, .. } => {
            if let Some(row) = current_phase(report, phase) {
                row.status = "failed".into();
                row.failure = Some(reason.clone());
                row.ended_at = Some(at);
            }
        }
        Event::LoopedBack {
            from,
            to,
            count,
            max,
            loop_kind,
        } => report.loops.push(LoopRow {
            from: from.clone(),
            to: to.clone(),
            count: *count,
            max: *max,
            kind: format!("{loop_kind:?}").to_lowercase(),
        }),
        Event::Escalated {
            id,
            escalation,
            message,
            raised_by,
            ..
        } => {
            report.waiting_for = Some(format!("escalation `{id}` ({})", escalation.as_str()));
            report.escalations.push(EscalationRow {
                id: id.clone(),
                kind: escalation.as_str().to_string(),
                message: message.clone(),
                raised_by: raised_by.clone(),
                status: "open".into(),
                decision: None,
            });
        }
        Event::EscalationResolved {
            id,
            approved,
            by,
            reason,
        } => {
            report.waiting_for = None;
            if let Some(row) = report.escalations.iter_mut().find(|row| &row.id == id) {
                row.status = if *approved { "approved" } else { "rejected" }.into();
                row.decision = Some(format!(
                    "by {by}{}",
                    reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ));
            }
        }
        Event::RunCompleted => report.status = "completed".into(),
        Event::RunFailed { reason } => {
            report.status = "failed".into();
            report.failure = Some(reason.clone());
        }
    }
    if report.status == "running" && report.waiting_for.is_some() {
        // Keep the stored vocabulary: a paused run is waiting, not running.
        report.status = if report
            .waiting_for
            .as_deref()
            .is_some_and(|w| w.starts_with("approval"))
        {
            "waiting_approval".into()
        } else {
            "escalated".into()
        };
    } else if report.waiting_for.is_none()
        && (report.status == "waiting_approval" || report.status == "escalated")
    {
        report.status = "running".into();
    }
}
