//! The events of a run. Every state change of a run is one of these, appended to the durable
//! log in the same transaction as the state it describes; a run's state is the fold of its
//! events (see `machine`). Payloads are the serialized enum (`{"kind": "step_finished", …}`).

use apiwright_agents::Usage;
pub use apiwright_gates::GateOutcome;
use apiwright_workflow::EscalationKind;
use apiwright_workflow::TddStage;
use apiwright_workflow::template::Vars;
use serde::Deserialize;
use serde::Serialize;

/// One round of a phase: a phase visit, an iteration, and for TDD an item and a stage.
/// Steps and gates run within a round.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Round {
    /// Phase id.
    pub phase: String,
    /// How many times the phase has been entered (1 first; loops increase it).
    pub visit: u32,
    /// Iteration within the visit (1 outside iterative phases).
    pub iteration: u32,
    /// Index of the TDD item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// TDD stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<TddStage>,
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.phase, self.visit)?;
        if self.iteration > 1 {
            write!(f, "/iteration-{}", self.iteration)?;
        }
        if let Some(item) = self.item {
            write!(f, "/item-{}", item + 1)?;
        }
        if let Some(stage) = self.stage {
            write!(f, "/{}", stage_name(stage))?;
        }
        Ok(())
    }
}

/// Lowercase stage name.
pub fn stage_name(stage: TddStage) -> &'static str {
    match stage {
        TddStage::Red => "red",
        TddStage::Green => "green",
        TddStage::Refactor => "refactor",
    }
}

/// Why a loop went back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopKind {
    /// `on_fail: retry`.
    Retry,
    /// `on_fail: goto` (remediation loop).
    Goto,
}

/// What approving an escalation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Continuation {
    /// The failed phase is accepted as passed (a person overrides the gates).
    AcceptPhase,
    /// The run continues where it was (an agent asked a question and got an answer).
    Continue,
}

/// A run event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The run was created.
    RunStarted {
        /// Workflow name.
        workflow: String,
        /// Resolved parameters.
        params: Vars,
        /// Approval gates are approved automatically (`--yes`).
        auto_approve: bool,
        /// Memory keys of the inputs stored with this event.
        inputs: Vec<String>,
    },
    /// A phase was entered.
    PhaseStarted {
        /// Phase id.
        phase: String,
        /// Visit number.
        visit: u32,
    },
    /// The items of a TDD phase were read.
    ItemsResolved {
        /// Phase id.
        phase: String,
        /// The items, in order.
        items: Vec<String>,
    },
    /// A round began.
    RoundStarted {
        /// The round.
        round: Round,
        /// Why the previous round failed (handed to the agents of this one).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        feedback: Vec<String>,
    },
    /// An agent started a step.
    StepStarted {
        /// Round.
        round: Round,
        /// Step id.
        step: String,
        /// Attempt number (1-based).
        attempt: u32,
        /// Provider doing it.
        provider: String,
    },
    /// A step finished; its deliverables were stored in the same transaction.
    StepFinished {
        /// Round.
        round: Round,
        /// Step id.
        step: String,
        /// Agent role.
        agent: String,
        /// Attempt number.
        attempt: u32,
        /// Seed 003 summary.
        summary: String,
        /// Key decisions.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        decisions: Vec<String>,
        /// Memory keys written.
        deliverables: Vec<String>,
        /// Wall time of the attempt.
        duration_ms: u64,
        /// Model usage, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// A step attempt failed.
    StepFailed {
        /// Round.
        round: Round,
        /// Step id.
        step: String,
        /// Attempt number.
        attempt: u32,
        /// What went wrong.
        error: String,
        /// Whether it may be retried.
        retryable: bool,
        /// Wall time of the attempt.
        duration_ms: u64,
        /// Model usage of the failed attempt, if any (tokens are spent either way).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// An automated gate was evaluated.
    GateEvaluated {
        /// Round.
        round: Round,
        /// Gate id.
        gate: String,
        /// Gate kind (`command`, `memory`, `score`).
        gate_kind: String,
        /// Passed or failed.
        outcome: GateOutcome,
        /// One line for humans.
        summary: String,
        /// Evidence.
        evidence: serde_json::Value,
        /// Evaluation time.
        duration_ms: u64,
    },
    /// An approval gate is waiting for a person.
    ApprovalRequested {
        /// Round.
        round: Round,
        /// Gate id.
        gate: String,
        /// The question.
        prompt: String,
    },
    /// A person (or `--yes`) decided an approval gate.
    ApprovalDecided {
        /// Round.
        round: Round,
        /// Gate id.
        gate: String,
        /// Approved or rejected.
        approved: bool,
        /// Who decided.
        by: String,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A phase passed (or was accepted by a person after an escalation).
    PhaseCompleted {
        /// Phase id.
        phase: String,
        /// Visit number.
        visit: u32,
        /// A person accepted it despite failed gates.
        #[serde(default)]
        overridden: bool,
    },
    /// A phase failed; its `on_fail` decides what happens next.
    PhaseFailed {
        /// Phase id.
        phase: String,
        /// Visit number.
        visit: u32,
        /// Why.
        reason: String,
    },
    /// A retry or remediation loop went back to a phase.
    LoopedBack {
        /// Phase that failed.
        from: String,
        /// Phase that runs next.
        to: String,
        /// Loop count so far, including this one.
        count: u32,
        /// Maximum.
        max: u32,
        /// Retry or goto.
        loop_kind: LoopKind,
    },
    /// The run paused for a person to decide (seed 003's blocker protocol).
    Escalated {
        /// Id to answer with `apiwright approve RUN ID`.
        id: String,
        /// Kind of blocker.
        escalation: EscalationKind,
        /// What needs deciding.
        message: String,
        /// Options offered.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        options: Vec<String>,
        /// The agent that raised it, or `engine`.
        raised_by: String,
        /// Phase id.
        phase: String,
        /// What approving does.
        on_approve: Continuation,
    },
    /// A person answered an escalation.
    EscalationResolved {
        /// Escalation id.
        id: String,
        /// Approved (continue) or rejected (the run fails).
        approved: bool,
        /// Who decided.
        by: String,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Every phase passed.
    RunCompleted,
    /// The run failed.
    RunFailed {
        /// Why.
        reason: String,
    },
}

impl Event {
    /// The `kind` tag, as stored next to the payload.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::PhaseStarted { .. } => "phase_started",
            Event::ItemsResolved { .. } => "items_resolved",
            Event::RoundStarted { .. } => "round_started",
            Event::StepStarted { .. } => "step_started",
            Event::StepFinished { .. } => "step_finished",
            Event::StepFailed { .. } => "step_failed",
            Event::GateEvaluated { .. } => "gate_evaluated",
            Event::ApprovalRequested { .. } => "approval_requested",
            Event::ApprovalDecided { .. } => "approval_decided",
            Event::PhaseCompleted { .. } => "phase_completed",
            Event::PhaseFailed { .. } => "phase_failed",
            Event::LoopedBack { .. } => "looped_back",
            Event::Escalated { .. } => "escalated",
            Event::EscalationResolved { .. } => "escalation_resolved",
            Event::RunCompleted => "run_completed",
            Event::RunFailed { .. } => "run_failed",
        }
    }
}
