//! The run state machine: a pure fold of [`Event`]s into the state of a run, and the
//! decision of what must happen next. No IO happens here; the driver performs the work a
//! [`Decision`] asks for and records its result as events.
//!
//! Every decision that does not need the outside world (which phase comes next, whether a
//! loop goes back, whether the run escalates) is itself returned as events, so a resumed run
//! replays the log to exactly the state it was in and makes the same next decision.

use std::collections::BTreeMap;
use std::sync::Arc;

use apiwright_agents::Handoff;
use apiwright_gates::GateOutcome;
use apiwright_workflow::EscalationKind;
use apiwright_workflow::Exhausted;
use apiwright_workflow::GateCheck;
use apiwright_workflow::Mode;
use apiwright_workflow::OnFail;
use apiwright_workflow::Phase;
use apiwright_workflow::TddStage;
use apiwright_workflow::Topology;
use apiwright_workflow::Workflow;
use apiwright_workflow::template::Vars;

use crate::event::Continuation;
use crate::event::Event;
use crate::event::LoopKind;
use crate::event::Round;

/// An event that does not fit the state it is applied to (a corrupt or foreign log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event #{index} `{kind}` does not fit the run state: {problem}")]
pub struct ReplayError {
    /// Position of the event in the log (1-based).
    pub index: usize,
    /// Event kind.
    pub kind: String,
    /// What did not fit.
    pub problem: String,
}

/// Where the run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunPhase {
    /// Executing (or resumable).
    Running,
    /// Waiting for a person to decide an approval gate.
    WaitingApproval {
        /// The round.
        round: Round,
        /// Gate id.
        gate: String,
        /// The question.
        prompt: String,
    },
    /// Waiting for a person to answer an escalation.
    Escalated {
        /// Escalation id.
        id: String,
        /// Kind.
        kind: EscalationKind,
        /// What needs deciding.
        message: String,
    },
    /// Every phase passed.
    Completed,
    /// The run failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A step the driver should start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTask {
    /// Round.
    pub round: Round,
    /// Index of the step in its phase.
    pub step_index: usize,
    /// Attempt number to record.
    pub attempt: u32,
    /// Steps of the same round whose deliverables this step may see (topology).
    pub visible_siblings: Vec<String>,
}

/// What must happen next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Record these events (pure transitions).
    Emit(Vec<Event>),
    /// Read the items of a TDD phase from memory at this key (a template to render).
    ResolveItems {
        /// Phase id.
        phase: String,
        /// Key template.
        key: String,
    },
    /// Start these steps.
    RunSteps(Vec<StepTask>),
    /// Wait for a running step to finish.
    Await,
    /// Evaluate this automated gate.
    EvaluateGate {
        /// Round.
        round: Round,
        /// Index of the gate in its phase.
        gate_index: usize,
    },
    /// Nothing can happen until a person decides.
    Pause,
    /// The run is over.
    Finished,
}

#[derive(Debug, Clone, PartialEq)]
enum SlotState {
    Pending { attempts: u32 },
    Running { attempt: u32 },
    Done { deliverables: Vec<String> },
    Failed { error: String },
}

#[derive(Debug, Clone, PartialEq)]
struct StepSlot {
    index: usize,
    id: String,
    state: SlotState,
}

#[derive(Debug, Clone, PartialEq)]
enum GateState {
    Pending,
    Passed,
    NotRun,
    Failed(String),
    Requested,
    Approved,
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq)]
struct GateSlot {
    index: usize,
    id: String,
    approval: bool,
    state: GateState,
}

#[derive(Debug, Clone, PartialEq)]
struct RoundState {
    round: Round,
    feedback: Vec<String>,
    steps: Vec<StepSlot>,
    gates: Vec<GateSlot>,
}

#[derive(Debug, Clone, PartialEq)]
enum PhaseOutcome {
    InProgress,
    Completed,
    Failed(String),
    /// An escalation was approved: the phase is accepted (overridden) once recorded.
    Accepted,
}

#[derive(Debug, Clone, PartialEq)]
struct PhaseState {
    index: usize,
    visit: u32,
    items: Option<Vec<String>>,
    round: Option<RoundState>,
    outcome: PhaseOutcome,
}

#[derive(Debug, Clone, PartialEq)]
enum Cursor {
    /// Before the first phase, or after a loop: this phase starts next.
    Before(usize),
    In(PhaseState),
    /// After the last phase.
    End,
}

/// The state of one run.
#[derive(Debug, Clone)]
pub struct Machine {
    run_id: String,
    workflow: Arc<Workflow>,
    params: Vars,
    auto_approve: bool,
    status: RunPhase,
    cursor: Cursor,
    visits: Vec<u32>,
    loops: BTreeMap<String, u32>,
    escalations: u32,
    handoffs: Vec<Handoff>,
    /// Shared with step requests; copied only when a gate is recorded after a request took it.
    gate_log: Arc<[apiwright_agents::GateRecord]>,
    /// Set when an escalation was rejected: the run fails next.
    rejected: Option<String>,
}

impl Machine {
    /// A new run's state, as of its `run_started` event.
    pub fn new(workflow: Arc<Workflow>, run_id: &str, params: Vars, auto_approve: bool) -> Machine {
        let phases = workflow.phases.len();
        Machine {
            run_id: run_id.to_string(),
            workflow,
            params,
            auto_approve,
            status: RunPhase::Running,
            cursor: Cursor::Before(0),
            visits: vec![0; phases],
            loops: BTreeMap::new(),
            escalations: 0,
            handoffs: Vec::new(),
            gate_log: Arc::from(Vec::new()),
            rejected: None,
        }
    }

    /// Rebuilds a run's state from its log (the first event must be `run_started`), then
    /// marks steps that were running when the previous process stopped as pending again.
    pub fn replay(
        workflow: Arc<Workflow>,
        run_id: &str,
        events: &[Event],
    ) -> Result<Machine, ReplayError> {
        let Some(Event::RunStarted {
            params,
            auto_approve,
            ..
        }) = events.first()
        else {
            return Err(ReplayError {
                index: 1,
                kind: events.first().map_or("none", Event::kind).to_string(),
                problem: "expected run_started first".into(),
            });
        };
        let mut machine = Machine::new(workflow, run_id, params.clone(), *auto_approve);
        for (offset, event) in events.iter().enumerate().skip(1) {
            machine.apply(event).map_err(|problem| ReplayError {
                index: offset + 1,
                kind: event.kind().to_string(),
                problem,
            })?;
        }
        machine.recover_interrupted();
        Ok(machine)
    }

    /// The workflow being run.
    pub fn workflow(&self) -> &Arc<Workflow> {
        &self.workflow
    }

    /// Resolved parameters.
    pub fn params(&self) -> &Vars {
        &self.params
    }

    /// Where the run is.
    pub fn status(&self) -> &RunPhase {
        &self.status
    }

    /// Summaries of every finished step, oldest first.
    pub fn handoffs(&self) -> &[Handoff] {
        &self.handoffs
    }

    /// Every gate outcome recorded so far, oldest first.
    pub fn gate_log(&self) -> &Arc<[apiwright_agents::GateRecord]> {
        &self.gate_log
    }

    fn record_gate(&mut self, record: apiwright_agents::GateRecord) {
        let mut log = self.gate_log.to_vec();
        log.push(record);
        self.gate_log = Arc::from(log);
    }

    /// Feedback of the current round (why the previous one failed).
    pub fn feedback(&self) -> &[String] {
        match &self.cursor {
            Cursor::In(PhaseState {
                round: Some(round), ..
            }) => &round.feedback,
            _ => &[],
        }
    }

    /// The TDD items of the current phase.
    pub fn items(&self) -> Option<&[String]> {
        match &self.cursor {
            Cursor::In(phase) => phase.items.as_deref(),
            _ => None,
        }
    }

    /// Memory keys written by a finished step of the current round.
    pub fn deliverables_of(&self, step_id: &str) -> &[String] {
        if let Cursor::In(PhaseState {
            round: Some(round), ..
        }) = &self.cursor
        {
            for slot in &round.steps {
                if slot.id == step_id
                    && let SlotState::Done { deliverables } = &slot.state
                {
                    return deliverables;
                }
            }
        }
        &[]
    }

    /// Steps that were running when the previous process stopped become pending again.
    fn recover_interrupted(&mut self) {
        if let Cursor::In(PhaseState {
            round: Some(round), ..
        }) = &mut self.cursor
        {
            for slot in &mut round.steps {
                if let SlotState::Running { attempt } = slot.state {
                    slot.state = SlotState::Pending { attempts: attempt };
                }
            }
        }
    }

    fn phase_def(&self, index: usize) -> &Phase {
        &self.workflow.phases[index]
    }

    fn current_phase_mut(&mut self, id: &str) -> Result<&mut PhaseState, String> {
        match &mut self.cursor {
            Cursor::In(phase) if self.workflow.phases[phase.index].id == id => Ok(phase),
            _ => Err(format!("phase `{id}` is not the current phase")),
        }
    }

    fn round_mut(&mut self, round: &Round) -> Result<&mut RoundState, String> {
        match &mut self.cursor {
            Cursor::In(PhaseState {
                round: Some(state), ..
            }) if state.round == *round => Ok(state),
            _ => Err(format!("round {round} is not the current round")),
        }
    }

    /// Applies one event. Errors mean the event does not fit the state.
    pub fn apply(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::RunStarted { .. } => return Err("run_started can only be first".into()),
            Event::PhaseStarted { phase, visit } => {
                let index = self
                    .workflow
                    .phase_index(phase)
                    .ok_or_else(|| format!("unknown phase `{phase}`"))?;
                self.visits[index] = *visit;
                let items = match &self.workflow.phases[index].mode {
                    Mode::Tdd(tdd) => tdd.items.clone().filter(|_| tdd.items_from.is_none()),
                    Mode::Sequential | Mode::Parallel(_) | Mode::Iterative(_) => None,
                };
                self.cursor = Cursor::In(PhaseState {
                    index,
                    visit: *visit,
                    items,
                    round: None,
                    outcome: PhaseOutcome::InProgress,
                });
            }
            Event::ItemsResolved { phase, items } => {
                self.current_phase_mut(phase)?.items = Some(items.clone());
            }
            Event::RoundStarted { round, feedback } => {
                let phase_state = self.current_phase_mut(&round.phase)?;
                let index = phase_state.index;
                let definition = &self.workflow.phases[index];
                let steps = definition
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(_, step)| round.stage.is_none() || step.stage == round.stage)
                    .map(|(index, step)| StepSlot {
                        index,
                        id: step.id().to_string(),
                        state: SlotState::Pending { attempts: 0 },
                    })
                    .collect();
                let gates = definition
                    .gates
                    .iter()
                    .enumerate()
                    .filter(|(_, gate)| round.stage.is_none() || gate.stage == round.stage)
                    .map(|(index, gate)| GateSlot {
                        index,
                        id: gate.id.clone(),
                        approval: matches!(gate.check(), Some(GateCheck::Approval(_))),
                        state: GateState::Pending,
                    })
                    .collect();
                let state = RoundState {
                    round: round.clone(),
                    feedback: feedback.clone(),
                    steps,
                    gates,
                };
                if let Cursor::In(phase_state) = &mut self.cursor {
                    phase_state.round = Some(state);
                }
            }
            Event::StepStarted {
                round,
                step,
                attempt,
                ..
            } => {
                let slot = step_slot(self.round_mut(round)?, step)?;
                slot.state = SlotState::Running { attempt: *attempt };
            }
            Event::StepFinished {
                round,
                step,
                agent,
                summary,
                decisions,
                deliverables,
                ..
            } => {
                let slot = step_slot(self.round_mut(round)?, step)?;
                slot.state = SlotState::Done {
                    deliverables: deliverables.clone(),
                };
                self.handoffs.push(Handoff {
                    agent: agent.clone(),
                    step: format!("{}/{step}", round.phase),
                    summary: summary.clone(),
                    decisions: decisions.clone(),
                });
            }
            Event::StepFailed {
                round,
                step,
                attempt,
                error,
                retryable,
                ..
            } => {
                let phase_index = self
                    .workflow
                    .phase_index(&round.phase)
                    .ok_or_else(|| format!("unknown phase `{}`", round.phase))?;
                let workflow = Arc::clone(&self.workflow);
                let slot = step_slot(self.round_mut(round)?, step)?;
                let retries = workflow.phases[phase_index].steps[slot.index]
                    .retries
                    .unwrap_or(0);
                slot.state = if *retryable && *attempt <= retries {
                    SlotState::Pending { attempts: *attempt }
                } else {
                    SlotState::Failed {
                        error: error.clone(),
                    }
                };
            }
            Event::GateEvaluated {
                round,
                gate,
                gate_kind,
                outcome,
                summary,
                evidence,
                ..
            } => {
                self.record_gate(apiwright_agents::GateRecord {
                    phase: round.phase.clone(),
                    round: round.to_string(),
                    gate: gate.clone(),
                    kind: gate_kind.clone(),
                    outcome: match outcome {
                        GateOutcome::Passed => "passed",
                        GateOutcome::Failed => "failed",
                        GateOutcome::NotRun => "not_run",
                    }
                    .to_string(),
                    summary: summary.clone(),
                    evidence: evidence.clone(),
                });
                let slot = gate_slot(self.round_mut(round)?, gate)?;
                slot.state = match outcome {
                    GateOutcome::Passed => GateState::Passed,
                    GateOutcome::Failed => GateState::Failed(summary.clone()),
                    // Not run is recorded (and blocks GO downstream) but does not fail the
                    // round: the phase's other evidence still counts.
                    GateOutcome::NotRun => GateState::NotRun,
                };
            }
            Event::ApprovalRequested {
                round,
                gate,
                prompt,
            } => {
                let slot = gate_slot(self.round_mut(round)?, gate)?;
                slot.state = GateState::Requested;
                self.status = RunPhase::WaitingApproval {
                    round: round.clone(),
                    gate: gate.clone(),
                    prompt: prompt.clone(),
                };
            }
            Event::ApprovalDecided {
                round,
                gate,
                approved,
                by,
                reason,
            } => {
                self.record_gate(apiwright_agents::GateRecord {
                    phase: round.phase.clone(),
                    round: round.to_string(),
                    gate: gate.clone(),
                    kind: "approval".into(),
                    outcome: if *approved { "approved" } else { "rejected" }.into(),
                    summary: format!("by {by}"),
                    evidence: serde_json::json!({ "by": by, "reason": reason }),
                });
                let slot = gate_slot(self.round_mut(round)?, gate)?;
                slot.state = if *approved {
                    GateState::Approved
                } else {
                    GateState::Rejected(format!(
                        "approval `{gate}` rejected by {by}{}",
                        reason
                            .as_deref()
                            .map(|reason| format!(": {reason}"))
                            .unwrap_or_default()
                    ))
                };
                self.status = RunPhase::Running;
            }
            Event::PhaseCompleted { phase, .. } => {
                self.current_phase_mut(phase)?.outcome = PhaseOutcome::Completed;
            }
            Event::PhaseFailed { phase, reason, .. } => {
                self.current_phase_mut(phase)?.outcome = PhaseOutcome::Failed(reason.clone());
            }
            Event::LoopedBack {
                from, to, count, ..
            } => {
                let target = self
                    .workflow
                    .phase_index(to)
                    .ok_or_else(|| format!("unknown phase `{to}`"))?;
                self.loops.insert(from.clone(), *count);
                self.cursor = Cursor::Before(target);
            }
            Event::Escalated {
                id,
                escalation,
                message,
                ..
            } => {
                self.escalations += 1;
                self.status = RunPhase::Escalated {
                    id: id.clone(),
                    kind: *escalation,
                    message: message.clone(),
                };
            }
            Event::EscalationResolved {
                id,
                approved,
                by,
                reason,
            } => {
                match &self.status {
                    RunPhase::Escalated { id: open, .. } if open == id => {}
                    _ => return Err(format!("escalation `{id}` is not open")),
                }
                self.status = RunPhase::Running;
                if *approved {
                    // An engine escalation follows a failed phase: approving accepts it.
                    if let Cursor::In(phase) = &mut self.cursor
                        && matches!(phase.outcome, PhaseOutcome::Failed(_))
                    {
                        phase.outcome = PhaseOutcome::Accepted;
                    }
                } else {
                    self.rejected = Some(format!(
                        "escalation `{id}` rejected by {by}{}",
                        reason
                            .as_deref()
                            .map(|reason| format!(": {reason}"))
                            .unwrap_or_default()
                    ));
                }
            }
            Event::RunCompleted => {
                self.cursor = Cursor::End;
                self.status = RunPhase::Completed;
            }
            Event::RunFailed { reason } => {
                self.status = RunPhase::Failed {
                    reason: reason.clone(),
                };
            }
        }
        Ok(())
    }

    /// What must happen next.
    pub fn next(&self) -> Decision {
        match &self.status {
            RunPhase::Completed | RunPhase::Failed { .. } => return Decision::Finished,
            RunPhase::Escalated { .. } => return Decision::Pause,
            RunPhase::WaitingApproval { round, gate, .. } => {
                if self.auto_approve {
                    return Decision::Emit(vec![Event::ApprovalDecided {
                        round: round.clone(),
                        gate: gate.clone(),
                        approved: true,
                        by: "--yes".into(),
                        reason: None,
                    }]);
                }
                return Decision::Pause;
            }
            RunPhase::Running => {}
        }
        if let Some(reason) = &self.rejected {
            return Decision::Emit(vec![Event::RunFailed {
                reason: reason.clone(),
            }]);
        }
        let phase = match &self.cursor {
            Cursor::End => return Decision::Finished,
            Cursor::Before(index) => {
                return Decision::Emit(vec![Event::PhaseStarted {
                    phase: self.phase_def(*index).id.clone(),
                    visit: self.visits[*index] + 1,
                }]);
            }
            Cursor::In(phase) => phase,
        };
        let definition = self.phase_def(phase.index);
        match &phase.outcome {
            PhaseOutcome::Completed => {
                let next = phase.index + 1;
                return Decision::Emit(vec![if next < self.workflow.phases.len() {
                    Event::PhaseStarted {
                        phase: self.phase_def(next).id.clone(),
                        visit: self.visits[next] + 1,
                    }
                } else {
                    Event::RunCompleted
                }]);
            }
            PhaseOutcome::Accepted => {
                return Decision::Emit(vec![Event::PhaseCompleted {
                    phase: definition.id.clone(),
                    visit: phase.visit,
                    overridden: true,
                }]);
            }
            PhaseOutcome::Failed(reason) => return Decision::Emit(self.on_fail(phase, reason)),
            PhaseOutcome::InProgress => {}
        }
        if let Mode::Tdd(tdd) = &definition.mode
            && phase.items.is_none()
        {
            return match &tdd.items_from {
                Some(key) => Decision::ResolveItems {
                    phase: definition.id.clone(),
                    key: key.clone(),
                },
                None => Decision::Emit(vec![Event::ItemsResolved {
                    phase: definition.id.clone(),
                    items: tdd.items.clone().unwrap_or_default(),
                }]),
            };
        }
        let Some(round) = &phase.round else {
            return Decision::Emit(self.first_round(phase));
        };
        self.next_in_round(phase, round)
    }

    fn first_round(&self, phase: &PhaseState) -> Vec<Event> {
        let definition = self.phase_def(phase.index);
        let (item, stage) = match &definition.mode {
            Mode::Tdd(_) => {
                if phase.items.as_ref().is_none_or(Vec::is_empty) {
                    return vec![Event::PhaseFailed {
                        phase: definition.id.clone(),
                        visit: phase.visit,
                        reason: "expected at least one TDD item, found none".into(),
                    }];
                }
                (Some(0), Some(TddStage::Red))
            }
            Mode::Sequential | Mode::Parallel(_) | Mode::Iterative(_) => (None, None),
        };
        vec![Event::RoundStarted {
            round: Round {
                phase: definition.id.clone(),
                visit: phase.visit,
                iteration: 1,
                item,
                stage,
            },
            feedback: Vec::new(),
        }]
    }

    fn next_in_round(&self, phase: &PhaseState, round: &RoundState) -> Decision {
        let definition = self.phase_def(phase.index);
        let running = round
            .steps
            .iter()
            .filter(|slot| matches!(slot.state, SlotState::Running { .. }))
            .count();
        let failed: Vec<String> = round
            .steps
            .iter()
            .filter_map(|slot| match &slot.state {
                SlotState::Failed { error } => Some(format!("step `{}` failed: {error}", slot.id)),
                _ => None,
            })
            .collect();
        if !failed.is_empty() {
            // Let the steps already running finish (their work is kept), start no more.
            if running > 0 {
                return Decision::Await;
            }
            return Decision::Emit(self.round_failed(phase, round, failed));
        }
        let ready = self.ready_steps(definition, round, running);
        if !ready.is_empty() {
            return Decision::RunSteps(ready);
        }
        if running > 0 {
            return Decision::Await;
        }
        if round
            .steps
            .iter()
            .any(|slot| !matches!(slot.state, SlotState::Done { .. }))
        {
            // Pending steps that are not ready while nothing runs cannot happen with the
            // readiness rules below; wait rather than skip work.
            return Decision::Await;
        }
        // Automated gates first, all of them, so the evidence is complete.
        if let Some(slot) = round
            .gates
            .iter()
            .find(|slot| !slot.approval && slot.state == GateState::Pending)
        {
            return Decision::EvaluateGate {
                round: round.round.clone(),
                gate_index: slot.index,
            };
        }
        let failures: Vec<String> = round
            .gates
            .iter()
            .filter_map(|slot| match &slot.state {
                GateState::Failed(summary) => Some(format!("gate `{}` failed: {summary}", slot.id)),
                _ => None,
            })
            .collect();
        if !failures.is_empty() {
            return Decision::Emit(self.round_failed(phase, round, failures));
        }
        for slot in round.gates.iter().filter(|slot| slot.approval) {
            match &slot.state {
                GateState::Approved | GateState::Passed | GateState::NotRun => continue,
                GateState::Rejected(reason) | GateState::Failed(reason) => {
                    return Decision::Emit(self.round_failed(phase, round, vec![reason.clone()]));
                }
                GateState::Requested => return Decision::Pause,
                GateState::Pending => {
                    let template = match definition.gates[slot.index].check() {
                        Some(GateCheck::Approval(check)) => &check.prompt,
                        _ => &definition.gates[slot.index].criterion,
                    };
                    let vars = crate::vars::round_vars(
                        &self.workflow,
                        &crate::vars::run_vars(&self.params, &self.run_id),
                        &round.round,
                        phase.items.as_deref(),
                    );
                    let prompt = apiwright_workflow::template::render_lenient(template, &vars, "?");
                    return Decision::Emit(vec![Event::ApprovalRequested {
                        round: round.round.clone(),
                        gate: slot.id.clone(),
                        prompt,
                    }]);
                }
            }
        }
        Decision::Emit(self.round_passed(phase, round))
    }

    fn ready_steps(&self, definition: &Phase, round: &RoundState, running: usize) -> Vec<StepTask> {
        let task = |slot: &StepSlot, visible_siblings: Vec<String>| StepTask {
            round: round.round.clone(),
            step_index: slot.index,
            attempt: match slot.state {
                SlotState::Pending { attempts } => attempts + 1,
                _ => 1,
            },
            visible_siblings,
        };
        let pending = |slot: &&StepSlot| matches!(slot.state, SlotState::Pending { .. });
        match &definition.mode {
            Mode::Parallel(parallel) => {
                let limit = parallel.max_agents.map_or(round.steps.len(), |max| {
                    usize::try_from(max).unwrap_or(usize::MAX)
                });
                let free = limit.saturating_sub(running);
                let done: Vec<String> = round
                    .steps
                    .iter()
                    .filter(|slot| matches!(slot.state, SlotState::Done { .. }))
                    .map(|slot| slot.id.clone())
                    .collect();
                let candidates: Vec<&StepSlot> = match parallel.topology {
                    Topology::Hierarchical => {
                        let lead = round.steps.first();
                        match lead {
                            Some(lead) if !matches!(lead.state, SlotState::Done { .. }) => {
                                if running == 0 && matches!(lead.state, SlotState::Pending { .. }) {
                                    vec![lead]
                                } else {
                                    vec![]
                                }
                            }
                            _ => round.steps.iter().skip(1).filter(pending).collect(),
                        }
                    }
                    Topology::Mesh | Topology::Star => round.steps.iter().filter(pending).collect(),
                };
                candidates
                    .into_iter()
                    .take(free)
                    .map(|slot| {
                        let visible = match parallel.topology {
                            Topology::Hierarchical => round
                                .steps
                                .first()
                                .filter(|lead| lead.id != slot.id)
                                .map(|lead| vec![lead.id.clone()])
                                .unwrap_or_default(),
                            Topology::Mesh => done.clone(),
                            Topology::Star => Vec::new(),
                        };
                        task(slot, visible)
                    })
                    .collect()
            }
            Mode::Sequential | Mode::Iterative(_) | Mode::Tdd(_) => {
                if running > 0 {
                    return Vec::new();
                }
                round
                    .steps
                    .iter()
                    .find(|slot| !matches!(slot.state, SlotState::Done { .. }))
                    .filter(pending)
                    .map(|slot| vec![task(slot, Vec::new())])
                    .unwrap_or_default()
            }
        }
    }

    fn round_passed(&self, phase: &PhaseState, round: &RoundState) -> Vec<Event> {
        let definition = self.phase_def(phase.index);
        let completed = || {
            vec![Event::PhaseCompleted {
                phase: definition.id.clone(),
                visit: phase.visit,
                overridden: false,
            }]
        };
        match &definition.mode {
            Mode::Tdd(_) => {
                let items = phase.items.as_ref().map_or(0, Vec::len);
                let next = match round.round.stage {
                    Some(TddStage::Red) => Some((round.round.item, TddStage::Green)),
                    Some(TddStage::Green) => Some((round.round.item, TddStage::Refactor)),
                    Some(TddStage::Refactor) | None => {
                        let next_item = round.round.item.map_or(0, |item| item + 1);
                        (next_item < items).then_some((Some(next_item), TddStage::Red))
                    }
                };
                match next {
                    Some((item, stage)) => vec![Event::RoundStarted {
                        round: Round {
                            item,
                            stage: Some(stage),
                            ..round.round.clone()
                        },
                        feedback: Vec::new(),
                    }],
                    None => completed(),
                }
            }
            Mode::Sequential | Mode::Parallel(_) | Mode::Iterative(_) => completed(),
        }
    }

    fn round_failed(
        &self,
        phase: &PhaseState,
        round: &RoundState,
        reasons: Vec<String>,
    ) -> Vec<Event> {
        let definition = self.phase_def(phase.index);
        if let Mode::Iterative(iterative) = &definition.mode {
            let max = iterative.max_iterations.unwrap_or(1);
            if round.round.iteration < max {
                return vec![Event::RoundStarted {
                    round: Round {
                        iteration: round.round.iteration + 1,
                        ..round.round.clone()
                    },
                    feedback: reasons,
                }];
            }
            let mut reasons = reasons;
            reasons.insert(0, format!("{max} iterations used, gates still failing"));
            return vec![Event::PhaseFailed {
                phase: definition.id.clone(),
                visit: phase.visit,
                reason: reasons.join("; "),
            }];
        }
        vec![Event::PhaseFailed {
            phase: definition.id.clone(),
            visit: phase.visit,
            reason: reasons.join("; "),
        }]
    }

    fn on_fail(&self, phase: &PhaseState, reason: &str) -> Vec<Event> {
        let definition = self.phase_def(phase.index);
        let count = self.loops.get(&definition.id).copied().unwrap_or(0);
        let (target, max, then, loop_kind) = match &definition.on_fail {
            OnFail::Abort => {
                return vec![Event::RunFailed {
                    reason: format!("phase `{}` failed: {reason}", definition.id),
                }];
            }
            OnFail::Escalate(policy) => {
                return vec![self.escalation(
                    definition,
                    policy.kind,
                    format!("phase `{}` failed: {reason}", definition.id),
                )];
            }
            OnFail::Retry(policy) => (
                definition.id.clone(),
                policy.max.unwrap_or(0),
                policy.then,
                LoopKind::Retry,
            ),
            OnFail::Goto(policy) => (
                policy.phase.clone(),
                policy.max.unwrap_or(0),
                policy.then,
                LoopKind::Goto,
            ),
        };
        if count < max {
            return vec![Event::LoopedBack {
                from: definition.id.clone(),
                to: target,
                count: count + 1,
                max,
                loop_kind,
            }];
        }
        let message = format!(
            "phase `{}` failed after {max} loop(s) back to `{target}`: {reason}",
            definition.id
        );
        match then.unwrap_or(Exhausted::Escalate(EscalationKind::TechnicalDebt)) {
            Exhausted::Abort => vec![Event::RunFailed { reason: message }],
            Exhausted::Escalate(kind) => vec![self.escalation(definition, kind, message)],
        }
    }

    fn escalation(&self, definition: &Phase, kind: EscalationKind, message: String) -> Event {
        Event::Escalated {
            id: self.next_escalation_id(),
            escalation: kind,
            message,
            options: vec![
                "approve: accept the phase as it is and continue".into(),
                "reject: fail the run".into(),
            ],
            raised_by: "engine".into(),
            phase: definition.id.clone(),
            on_approve: Continuation::AcceptPhase,
        }
    }

    /// The id the next escalation gets (`escalation-N`).
    pub fn next_escalation_id(&self) -> String {
        format!("escalation-{}", self.escalations + 1)
    }

    /// The current phase's definition and visit, if a phase is in progress.
    pub fn current_phase(&self) -> Option<(&Phase, u32)> {
        match &self.cursor {
            Cursor::In(phase) => Some((self.phase_def(phase.index), phase.visit)),
            Cursor::Before(_) | Cursor::End => None,
        }
    }
}

fn step_slot<'a>(round: &'a mut RoundState, step: &str) -> Result<&'a mut StepSlot, String> {
    round
        .steps
        .iter_mut()
        .find(|slot| slot.id == step)
        .ok_or_else(|| format!("step `{step}` is not part of round {}", round.round))
}

fn gate_slot<'a>(round: &'a mut RoundState, gate: &str) -> Result<&'a mut GateSlot, String> {
    round
        .gates
        .iter_mut()
        .find(|slot| slot.id == gate)
        .ok_or_else(|| format!("gate `{gate}` is not part of round {}", round.round))
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
