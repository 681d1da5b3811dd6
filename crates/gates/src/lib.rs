//! Gate evaluation: the checks that stand between phases, each returning an outcome with the
//! evidence it is based on. `command` runs a program in the run's workspace, `tests` runs a
//! test suite and reads its pass/fail counts, `coverage` measures line coverage, `openapi`
//! checks an OpenAPI document and compares its operations with the routes the service serves,
//! `contract`, `security` and `load` start the service and drive real traffic at it
//! (`evidence/`, with `service.rs` owning the process), `memory` checks deliverables exist, `score` reads a number from a deliverable and compares
//! it with bounds.
//! Approval gates are decided by a person; the engine owns them.
//!
//! A failing gate is a result ([`GateOutcome::Failed`]), not an error: errors are reserved for
//! gates that could not be evaluated at all. Adding a gate kind means adding a module here and
//! one arm in [`evaluate`]. This crate must not decide what a failure means for the run.

mod command;
mod coverage;
mod evidence;
mod memory;
mod openapi;
mod score;
mod service;
mod shell;
mod spec_gate;
mod tests_gate;

use std::path::Path;
use std::time::Duration;

use apiwright_store::Store;
use apiwright_workflow::Gate;
use apiwright_workflow::GateCheck;
use apiwright_workflow::template::Vars;

pub use command::DEFAULT_TIMEOUT;
pub use memory::content_problems;
pub use spec_gate::load_spec_at;
pub use tests_gate::TestCounts;

/// Whether a gate passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    /// The check held.
    Passed,
    /// The check did not hold.
    Failed,
    /// The check could not be performed by this version (a planned gate): neither passed nor
    /// failed, and a blocker for GO.
    NotRun,
}

/// The outcome of one gate with its evidence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateReport {
    /// Passed or failed.
    pub outcome: GateOutcome,
    /// One line for humans, for example `exit 0 in 1.2 s`.
    pub summary: String,
    /// Kind-specific evidence (command line, exit code, output tail, keys found, value read…).
    pub evidence: serde_json::Value,
    /// How long the evaluation took.
    pub duration_ms: u64,
}

/// What a gate is evaluated against.
#[derive(Debug)]
pub struct GateContext<'a> {
    /// The run's workspace (working directory of command gates).
    pub workspace: &'a Path,
    /// The state store (memory for memory and score gates).
    pub store: &'a Store,
    /// Placeholder values of the current run position.
    pub vars: &'a Vars,
    /// Limit for command gates that set none.
    pub default_timeout: Duration,
    /// Extra environment for command gates (`APIWRIGHT_RUN_ID`, `APIWRIGHT_WORKFLOW_DIR`).
    pub env: &'a [(String, String)],
    /// For evidence gates on a service the caller runs (`service.url`): credentials and the
    /// process to sample. `None` in workflow runs, where the gate starts the service.
    pub attached: Option<&'a Attached>,
}

/// What the caller knows about a service it runs itself (`apiwright check --url`).
#[derive(Debug, Clone, Default)]
pub struct Attached {
    /// How to sign in: admin credentials or tokens, user tokens.
    pub auth: apiwright_probe::session::AuthOptions,
    /// The service's process, for memory sampling (Linux `/proc`).
    pub pid: Option<u32>,
}

/// A gate that could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A placeholder in the gate has no value (the validator should have caught it).
    #[error(transparent)]
    Template(#[from] apiwright_workflow::template::UnknownPlaceholder),
    /// Reading memory failed (retryable).
    #[error(transparent)]
    Store(#[from] apiwright_store::StoreError),
    /// The gate is decided by a person, not evaluated.
    #[error("gate `{0}` is an approval gate: the engine asks a person")]
    NeedsPerson(String),
    /// The gate sets no check or several.
    #[error(
        "gate `{0}` must set exactly one of command, tests, coverage, openapi, contract, security, load, deploy, monitor, memory, score, spec, approval, planned"
    )]
    Malformed(String),
}

/// Evaluates an automated gate.
pub async fn evaluate(gate: &Gate, context: &GateContext<'_>) -> Result<GateReport, GateError> {
    let started = std::time::Instant::now();
    let (outcome, summary, evidence) = match gate.check() {
        Some(GateCheck::Command(check)) => command::evaluate(check, context).await?,
        Some(GateCheck::Tests(check)) => tests_gate::evaluate(check, context).await?,
        Some(GateCheck::Coverage(check)) => coverage::evaluate(check, context).await?,
        Some(GateCheck::OpenApi(check)) => openapi::evaluate(check, context).await?,
        Some(GateCheck::Contract(check)) => evidence::contract::evaluate(check, context).await?,
        Some(GateCheck::Security(check)) => evidence::security::evaluate(check, context).await?,
        Some(GateCheck::Load(check)) => evidence::load::evaluate(check, context).await?,
        Some(GateCheck::Deploy(check)) => evidence::deploy::evaluate(check, context).await?,
        Some(GateCheck::Monitor(check)) => evidence::deploy::monitor(check, context).await?,
        Some(GateCheck::Memory(check)) => memory::evaluate(check, context)?,
        Some(GateCheck::Score(check)) => score::evaluate(check, context)?,
        Some(GateCheck::Spec(check)) => spec_gate::evaluate(check, context)?,
        Some(GateCheck::Approval(_)) => return Err(GateError::NeedsPerson(gate.id.clone())),
        Some(GateCheck::Planned(check)) => (
            GateOutcome::NotRun,
            format!(
                "not run: {} checks are not part of this version of apiwright",
                check.kind
            ),
            serde_json::json!({ "planned": check.kind, "description": check.description }),
        ),
        None => return Err(GateError::Malformed(gate.id.clone())),
    };
    Ok(GateReport {
        outcome,
        summary,
        evidence,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
