//! What an agent is given for a step and what it gives back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use apiwright_workflow::AgentRole;
use apiwright_workflow::EscalationKind;
use apiwright_workflow::TddStage;

/// A memory entry handed to the agent as context.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContextEntry {
    /// Full memory key.
    pub key: String,
    /// The value as text (JSON compactly serialized).
    pub value: String,
}

/// What an earlier agent of the run handed over (seed 003's handoff context).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Handoff {
    /// Agent role id.
    pub agent: String,
    /// Phase id and step id, `phase/step`.
    pub step: String,
    /// The agent's summary of its work.
    pub summary: String,
    /// Key decisions it recorded.
    pub decisions: Vec<String>,
}

/// The outcome of a gate earlier in the run, as recorded (for agents that judge evidence,
/// such as a production validator).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateRecord {
    /// Phase id.
    pub phase: String,
    /// Round (`phase#visit/...`).
    pub round: String,
    /// Gate id.
    pub gate: String,
    /// Gate kind.
    pub kind: String,
    /// `passed`, `failed`, `not_run`, `approved` or `rejected`.
    pub outcome: String,
    /// One line.
    pub summary: String,
    /// Evidence as recorded.
    pub evidence: serde_json::Value,
}

/// One deliverable the step must produce.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WriteTarget {
    /// Deliverable name as written in the workflow (placeholders filled).
    pub name: String,
    /// Memory key it will be stored under.
    pub key: String,
}

/// Everything an agent needs for one step.
#[derive(Debug, Clone)]
pub struct StepRequest {
    /// Run id.
    pub run_id: String,
    /// Workflow name.
    pub workflow: String,
    /// Phase id.
    pub phase_id: String,
    /// Phase number (`{phase}`).
    pub phase_number: u32,
    /// Phase title.
    pub phase_title: String,
    /// Step id.
    pub step_id: String,
    /// The role doing the step.
    pub role: AgentRole,
    /// The task text, placeholders filled.
    pub task: String,
    /// The run's workflow parameters after defaults and `--param` overrides
    /// (e.g. `tech_stack`, `feature`), for agents that act on them.
    pub params: std::collections::BTreeMap<String, String>,
    /// Whether other steps of the phase may run at the same time in the same workspace (a
    /// parallel phase with room for more than one agent): files may change under the step.
    pub concurrent: bool,
    /// Iteration number (1 outside iterative phases).
    pub iteration: u32,
    /// TDD item, if any.
    pub item: Option<String>,
    /// TDD stage, if any.
    pub stage: Option<TddStage>,
    /// Memory the step reads that exists.
    pub reads: Vec<ContextEntry>,
    /// Reads declared by the step that matched nothing.
    pub missing_reads: Vec<String>,
    /// Deliverables of sibling steps visible under the phase's topology.
    pub siblings: Vec<ContextEntry>,
    /// Summaries of the agents that worked before in this run.
    pub handoffs: Vec<Handoff>,
    /// Why the previous round failed (gate evidence, rejection reasons), for loops.
    pub feedback: Vec<String>,
    /// Every gate outcome recorded in the run so far, oldest first (shared: it carries
    /// evidence and is handed to every step).
    pub gates: std::sync::Arc<[GateRecord]>,
    /// Deliverables to produce.
    pub writes: Vec<WriteTarget>,
    /// The run's workspace directory (the agent's working directory).
    pub workspace: PathBuf,
    /// The state database, so a script agent can call `apiwright memory …`.
    pub db_path: Option<PathBuf>,
    /// Directory of the workflow file, so script agents can ship next to it.
    pub workflow_dir: Option<PathBuf>,
    /// The rendered prompt.
    pub prompt: String,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Environment every agent process of the run gets (e.g. a shared `CARGO_TARGET_DIR`).
    pub env: Vec<(String, String)>,
    /// Attempt number, 1-based (a resumed or retried step has a higher one).
    pub attempt: u32,
    /// Memory reads, usage meter, budget and deliverable checks lent by the engine.
    pub services: crate::services::StepServices,
}

/// An escalation an agent asks for (seed 003's blocker protocol).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EscalationRequest {
    /// Kind of blocker.
    pub kind: EscalationKind,
    /// What needs deciding.
    pub message: String,
    /// Options offered to the person deciding.
    #[serde(default)]
    pub options: Vec<String>,
}

/// Model usage of a step, where a model was used.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

/// What an agent produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepOutput {
    /// Deliverable name → value (JSON, or a JSON string for text).
    pub deliverables: BTreeMap<String, serde_json::Value>,
    /// Seed 003 summary of the work.
    pub summary: String,
    /// Key decisions, handed to later agents.
    pub decisions: Vec<String>,
    /// A blocker that pauses the run.
    pub escalation: Option<EscalationRequest>,
    /// Model usage, if any.
    pub usage: Option<Usage>,
    /// Extra memory entries the agent stored besides its deliverables (full key → value),
    /// committed with the step; only keys under the step's own namespace are accepted.
    pub memory: BTreeMap<String, serde_json::Value>,
}

/// Why an agent failed, classified by who must react.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// A transient failure (timeout, a crash, exit code 75): the step may be attempted again.
    #[error("{0}")]
    Retryable(String),
    /// The agent's output broke the contract (missing deliverable, bad envelope); not retried
    /// automatically, fed back to the agent where a provider supports it.
    #[error("{0}")]
    RespondToAgent(String),
    /// The agent cannot do the step (not installed, exits with an error).
    #[error("{0}")]
    Fatal(String),
}

impl AgentError {
    /// Whether the engine may retry the step.
    pub fn is_retryable(&self) -> bool {
        match self {
            AgentError::Retryable(_) => true,
            AgentError::RespondToAgent(_) | AgentError::Fatal(_) => false,
        }
    }
}
