//! The workflow data model: what a YAML workflow file deserializes into.
//!
//! These types are the documented file format (see `docs/workflows.md`) and the source of the
//! generated JSON Schema, so every field carries a doc comment that ends up in the schema.
//! Validation beyond shape (references, loops, reads) lives in `validate`.

use std::collections::BTreeMap;

use schemars::JsonSchema;

use crate::deploy::DeployCheck;
use crate::deploy::MonitorCheck;
use crate::evidence::ContractCheck;
use crate::evidence::LoadCheck;
use crate::evidence::SecurityCheck;
use serde::Deserialize;
use serde::Serialize;

/// A standard operating procedure: phases of work done by agents, with gates between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Unique name, used on the command line (`apiwright run NAME`).
    pub name: String,
    /// What the workflow is for, one paragraph.
    pub description: String,
    /// Where the procedure comes from (for example `seed 000`), for traceability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Parameters with defaults; overridden with `--param name=value`.
    /// Referenced as `{name}` in tasks, keys and gate commands.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Parameter>,
    /// Template of every memory key a step writes, for example
    /// `api-development/{api_id}/phase-{phase}/{agent}/{deliverable}`.
    /// Must contain `{agent}` and `{deliverable}`.
    pub memory_pattern: String,
    /// Named inputs given at the start of a run (for example `--spec FILE` fills `spec`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    /// The agent roles that steps may name.
    pub agents: Vec<AgentRole>,
    /// Phases, run in order (remediation loops may jump back).
    pub phases: Vec<Phase>,
}

/// A workflow parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Value used when the run does not override it.
    pub default: String,
    /// What the parameter means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// If not empty, the only values allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// A named run input stored in memory before the first phase starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Input name; `spec` is filled by `--spec FILE`, others by `--input name=FILE`.
    pub name: String,
    /// Memory key (a template) the input is stored under.
    pub key: String,
    /// What the input holds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// A run without a required input is refused before it starts.
    #[serde(default)]
    pub required: bool,
}

/// An agent role: who does a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRole {
    /// Role id that steps refer to, for example `backend-developer`.
    pub id: String,
    /// What the role is responsible for.
    pub description: String,
    /// Focus areas, rendered into the prompt's role extension.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub focus: Vec<String>,
    /// Default command for the `command` provider: a shell command line run in the workspace
    /// with the rendered prompt on stdin. Lets a workflow ship its own script agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// One phase of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Phase id, unique in the workflow; `on_fail.goto` refers to it.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Number used for `{phase}` in memory keys; defaults to the 1-based position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Longer description of the phase's purpose.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How the steps run.
    #[serde(default)]
    pub mode: Mode,
    /// The steps of the phase.
    pub steps: Vec<Step>,
    /// Gates checked after the steps; all must pass for the phase to pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<Gate>,
    /// What happens when a step fails or a gate does not pass.
    #[serde(default)]
    pub on_fail: OnFail,
}

/// Execution mode of a phase.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Steps run one after another, in order.
    #[default]
    Sequential,
    /// Steps run concurrently.
    Parallel(ParallelMode),
    /// The steps repeat until every gate passes, at most `max_iterations` times.
    Iterative(IterativeMode),
    /// Test-driven: for every item, red steps, then green steps, then refactor steps,
    /// each stage followed by its gates.
    Tdd(TddMode),
}

/// Settings of a parallel phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParallelMode {
    /// Most steps running at once; defaults to all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_agents: Option<u32>,
    /// How the parallel agents share context.
    #[serde(default)]
    pub topology: Topology,
}

/// How agents of a parallel phase see each other's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// The first step is the lead: it runs alone first, then the others run in parallel with
    /// the lead's deliverables in their context.
    #[default]
    Hierarchical,
    /// Peers: each step sees the deliverables of the siblings that finished before it started.
    Mesh,
    /// Independent workers around the hub: no step sees a sibling's output; the phase gates
    /// (the hub) see them all.
    Star,
}

/// Settings of an iterative phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IterativeMode {
    /// Upper bound of iterations; required, a loop without a maximum is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iterations: Option<u32>,
}

/// Settings of a TDD phase: the items (for example endpoints) to cycle over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TddMode {
    /// A fixed list of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<String>>,
    /// A memory key (template) holding a JSON array of items: strings, or objects with an
    /// `id` or `name` field. Read when the phase starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_from: Option<String>,
}

/// The stage of a TDD cycle a step or gate belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TddStage {
    /// Write failing tests.
    Red,
    /// Make them pass.
    Green,
    /// Improve the code; tests must still pass.
    Refactor,
}

/// One unit of agent work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Step id, unique in the phase; defaults to the agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The agent role doing the work.
    pub agent: String,
    /// What to do; `{placeholders}` are filled from parameters and the run position.
    pub task: String,
    /// Memory keys or patterns (`*` one segment, `**` any depth) the step reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    /// Names of the deliverables the step writes; each becomes a key through `memory_pattern`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<String>,
    /// TDD stage (only in `tdd` phases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<TddStage>,
    /// Wall-clock limit for the agent, in seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Extra attempts after a retryable agent failure (timeout, crash); default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

impl Step {
    /// The step id: the explicit one, or the agent id.
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.agent)
    }
}

/// A check that must pass. Exactly one of `command`, `tests`, `coverage`, `openapi`, `contract`,
/// `security`, `load`, `deploy`, `monitor`, `memory`,
/// `score`, `approval`, `planned` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Gate id, unique in the phase; `apiwright approve RUN GATE` names it.
    pub id: String,
    /// The criterion in the words of the SOP.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub criterion: String,
    /// TDD stage after which the gate is checked (only in `tdd` phases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<TddStage>,
    /// Run a command in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandCheck>,
    /// Run tests and read their results from the runner's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestsCheck>,
    /// Measure line coverage of a cargo project's tests (LLVM source-based coverage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageCheck>,
    /// Require a valid OpenAPI 3.1 document whose operations are exactly the served routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<OpenApiCheck>,
    /// Start the service and check it against its OpenAPI document with real requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractCheck>,
    /// Start the service and probe it for the OWASP API Security Top 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityCheck>,
    /// Start the service and measure it under load against service-level objectives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadCheck>,
    /// Release the service: a staging instance with smoke tests, or a production blue/green
    /// rollout with canary steps and automatic rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployCheck>,
    /// Evaluate alert thresholds on the live deployment's traffic for a window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorCheck>,
    /// Require memory keys or patterns to exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryCheck>,
    /// Require a numeric deliverable within bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<ScoreCheck>,
    /// Require a stored requirements spec that loads exactly like a user's `--spec` file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecCheck>,
    /// Require a human decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalCheck>,
    /// A check this version of apiwright cannot perform yet: always reported as not run, and a
    /// blocker for a GO decision — never as passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<PlannedCheck>,
    /// Memory key (a template) that receives the gate's report — outcome, summary and
    /// evidence — in the same transaction as the gate's result: a deliverable produced by the
    /// check itself, e.g. the security audit report. No step may write the same key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

/// The kind of check a gate performs, borrowed from the gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GateCheck<'a> {
    /// See [`CommandCheck`].
    Command(&'a CommandCheck),
    /// See [`TestsCheck`].
    Tests(&'a TestsCheck),
    /// See [`CoverageCheck`].
    Coverage(&'a CoverageCheck),
    /// See [`OpenApiCheck`].
    OpenApi(&'a OpenApiCheck),
    /// See [`ContractCheck`].
    Contract(&'a ContractCheck),
    /// See [`SecurityCheck`].
    Security(&'a SecurityCheck),
    /// See [`LoadCheck`].
    Load(&'a LoadCheck),
    /// See [`DeployCheck`].
    Deploy(&'a DeployCheck),
    /// See [`MonitorCheck`].
    Monitor(&'a MonitorCheck),
    /// See [`MemoryCheck`].
    Memory(&'a MemoryCheck),
    /// See [`ScoreCheck`].
    Score(&'a ScoreCheck),
    /// See [`SpecCheck`].
    Spec(&'a SpecCheck),
    /// See [`ApprovalCheck`].
    Approval(&'a ApprovalCheck),
    /// See [`PlannedCheck`].
    Planned(&'a PlannedCheck),
}

impl Gate {
    /// The gate's single check; `None` when the gate sets none or several (the validator
    /// refuses such gates, so a loaded workflow always has exactly one).
    pub fn check(&self) -> Option<GateCheck<'_>> {
        let mut checks = [
            self.command.as_ref().map(GateCheck::Command),
            self.tests.as_ref().map(GateCheck::Tests),
            self.coverage.as_ref().map(GateCheck::Coverage),
            self.openapi.as_ref().map(GateCheck::OpenApi),
            self.contract.as_ref().map(GateCheck::Contract),
            self.security.as_ref().map(GateCheck::Security),
            self.load.as_ref().map(GateCheck::Load),
            self.deploy.as_ref().map(GateCheck::Deploy),
            self.monitor.as_ref().map(GateCheck::Monitor),
            self.memory.as_ref().map(GateCheck::Memory),
            self.score.as_ref().map(GateCheck::Score),
            self.spec.as_ref().map(GateCheck::Spec),
            self.approval.as_ref().map(GateCheck::Approval),
            self.planned.as_ref().map(GateCheck::Planned),
        ]
        .into_iter()
        .flatten();
        let first = checks.next();
        match checks.next() {
            Some(_) => None,
            None => first,
        }
    }

    /// Name of the gate's kind, for display.
    pub fn kind_name(&self) -> &'static str {
        match self.check() {
            Some(GateCheck::Command(_)) => "command",
            Some(GateCheck::Tests(_)) => "tests",
            Some(GateCheck::Coverage(_)) => "coverage",
            Some(GateCheck::OpenApi(_)) => "openapi",
            Some(GateCheck::Contract(_)) => "contract",
            Some(GateCheck::Security(_)) => "security",
            Some(GateCheck::Load(_)) => "load",
            Some(GateCheck::Deploy(_)) => "deploy",
            Some(GateCheck::Monitor(_)) => "monitor",
            Some(GateCheck::Memory(_)) => "memory",
            Some(GateCheck::Score(_)) => "score",
            Some(GateCheck::Spec(_)) => "spec",
            Some(GateCheck::Approval(_)) => "approval",
            Some(GateCheck::Planned(_)) => "planned",
            None => "invalid",
        }
    }
}

/// Run a shell command in the run's workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandCheck {
    /// Shell command line (run with `sh -c`); `{placeholders}` are filled first.
    pub run: String,
    /// Time limit in seconds (default 600); past it the command is killed and the gate fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Which exit the gate requires: `success` (exit 0, the default) or `failure`
    /// (non-zero, for example tests that must fail in the red stage).
    #[serde(default)]
    pub expect: Expect,
}

/// Run a test suite and judge it by the results the runner prints (libtest's
/// `test result: …` lines, or nextest's summary), not by its exit code alone: a build error is
/// never mistaken for failing tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestsCheck {
    /// Shell command running the tests, e.g. `cargo test --test {item_slug}`.
    pub run: String,
    /// Time limit in seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// `pass` (default): tests ran, none failed, at least `min_tests` passed.
    /// `fail` (the TDD red check): tests compiled and ran, and at least one failed.
    #[serde(default)]
    pub expect: TestsExpect,
    /// Fewest passing tests a `pass` requires (default 1: an empty suite proves nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tests: Option<u32>,
}

/// Run a cargo project's tests instrumented with `-C instrument-coverage` and require a share
/// of its lines to be executed. Needs `llvm-profdata` and `llvm-cov` (Debian's `llvm-19`, or
/// rustup's `llvm-tools`); without them the gate fails saying so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageCheck {
    /// Lowest line coverage in percent; a template (e.g. `{coverage_target}`) or a number.
    pub min_lines: String,
    /// Regular expressions of source files left out (dependencies and the standard library
    /// always are), e.g. `src/main\\.rs$`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Time limit in seconds (default 600); an instrumented build recompiles dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// Check an OpenAPI 3.1 document and compare its operations with the routes the service
/// serves: every documented operation must be served and every served route documented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenApiCheck {
    /// Path of the document in the workspace (JSON, or YAML for `.yaml`/`.yml`); a template.
    pub document: String,
    /// Where the served routes come from: exactly one of `axum` and `command`.
    pub routes: RoutesSource,
    /// Served paths that need not be documented (for example `/metrics`); templates, compared
    /// by shape (`/files/{name}` and `/files/:id` are the same path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Time limit in seconds for `routes.command` (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// Where an `openapi` gate reads the served routes from. Exactly one field is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesSource {
    /// A directory of Rust sources (a template, e.g. `src`) scanned for axum
    /// `.route("/path", get(..).post(..))` registrations and `.nest("/prefix", ..)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub axum: Option<String>,
    /// A shell command (a template) run in the workspace that prints one `METHOD /path` per
    /// line (blank lines and lines starting with `#` are skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// What a tests gate requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestsExpect {
    /// Every test passes.
    #[default]
    Pass,
    /// The tests run and at least one fails.
    Fail,
}

/// The exit a command gate requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Exit status 0.
    #[default]
    Success,
    /// A non-zero exit status (not a timeout and not a failure to start).
    Failure,
}

/// Require memory keys or patterns to exist, and deliverables to hold what the criterion asks
/// for. A gate that only requires its own phase's deliverables to exist could never fail (the
/// engine already fails a step that does not write them), so the validator asks such a gate
/// to check their `content`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryCheck {
    /// Keys or patterns (templates); a pattern must match at least one key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Fields the JSON value of a key must have, present and non-empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<ContentCheck>,
}

/// Fields one deliverable must hold: each dotted path (`auth.roles`, `endpoints.0.path`) must
/// lead to a value that is not null, not an empty string, array or object. A pattern key
/// requires at least one match, and every match is checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentCheck {
    /// Memory key or pattern (template) holding a JSON object.
    pub key: String,
    /// Dotted paths into the object; numbers index arrays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Dotted paths whose value must equal the given JSON value, e.g. `confirmed: true` or
    /// `decision: GO`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub equals: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Require a numeric value in memory to be within bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreCheck {
    /// Memory key (template) holding a JSON number or a JSON object.
    pub key: String,
    /// Dotted path to the number inside the object, for example `backend_implementation.backend_score`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Lowest passing value (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest passing value (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Require a requirements spec stored in memory (for example one a product-manager agent
/// wrote from free-text requirements) to load and validate exactly like a user's `--spec`
/// file (`docs/spec.md`); the evidence lists every diagnostic with its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecCheck {
    /// Memory key (template) holding the spec: YAML/JSON text, or a JSON object.
    pub key: String,
    /// Dotted path to the spec inside a JSON object, for example `spec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Evidence the SOP asks for that this version cannot produce yet (for example load or
/// security testing): the gate is recorded as not run and blocks GO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedCheck {
    /// What kind of evidence, e.g. `load`, `security`, `contract`, `deploy`, `coverage`.
    pub kind: String,
    /// What the check will verify.
    pub description: String,
}

/// Pause the run until a person approves or rejects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalCheck {
    /// The question put to the approver.
    pub prompt: String,
}

/// What happens when a phase's step fails or one of its gates does not pass.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    /// The run fails.
    #[default]
    Abort,
    /// Run the phase again, at most `max` more times.
    Retry(RetryPolicy),
    /// Remediation loop: go back to an earlier phase (and run every phase from there again),
    /// at most `max` times.
    Goto(GotoPolicy),
    /// Pause the run with an escalation record for a person to decide.
    Escalate(EscalatePolicy),
}

/// Retry the failed phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Most retries; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// What happens once the retries are used up (default: escalate as technical debt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Exhausted>,
}

/// Loop back to an earlier phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GotoPolicy {
    /// Id of an earlier (or the same) phase.
    pub phase: String,
    /// Most loops back; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// What happens once the loops are used up (default: escalate as technical debt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Exhausted>,
}

/// Escalate to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalatePolicy {
    /// Kind of escalation (seed 003's protocol).
    pub kind: EscalationKind,
}

/// What to do when a retry or goto budget is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Exhausted {
    /// Fail the run.
    Abort,
    /// Pause the run with an escalation of this kind.
    Escalate(EscalationKind),
}

/// The escalation kinds of seed 003's blocker protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationKind {
    /// A security vulnerability: stop immediately.
    SecurityAlert,
    /// A data integrity risk: stop immediately.
    DataRisk,
    /// The implementation conflicts with the design.
    ArchitectureConflict,
    /// A requirement is ambiguous.
    ClarificationNeeded,
    /// A workaround would add debt, or a loop ran out of attempts.
    TechnicalDebt,
}

impl EscalationKind {
    /// Every kind, in the order of seed 003.
    pub const ALL: [EscalationKind; 5] = [
        EscalationKind::SecurityAlert,
        EscalationKind::DataRisk,
        EscalationKind::ArchitectureConflict,
        EscalationKind::ClarificationNeeded,
        EscalationKind::TechnicalDebt,
    ];

    /// The snake_case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationKind::SecurityAlert => "security_alert",
            EscalationKind::DataRisk => "data_risk",
            EscalationKind::ArchitectureConflict => "architecture_conflict",
            EscalationKind::ClarificationNeeded => "clarification_needed",
            EscalationKind::TechnicalDebt => "technical_debt",
        }
    }
}

impl Phase {
    /// The number used for `{phase}`: explicit, or the 1-based position `index + 1`.
    pub fn number_at(&self, index: usize) -> u32 {
        self.number
            .unwrap_or_else(|| u32::try_from(index + 1).unwrap_or(u32::MAX))
    }
}

impl Workflow {
    /// Index of the phase with this id.
    pub fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|phase| phase.id == id)
    }

    /// The role with this id.
    pub fn agent(&self, id: &str) -> Option<&AgentRole> {
        self.agents.iter().find(|agent| agent.id == id)
    }
}
