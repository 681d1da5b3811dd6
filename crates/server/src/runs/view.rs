//! Runs as the API shows them, built from the store alone (no engine): the summary the list
//! returns and the detail with the report rebuilt from the run's events.

use apiwright_engine::Event;
use apiwright_engine::machine::Machine;
use apiwright_engine::machine::RunPhase;
use apiwright_engine::report;
use apiwright_engine::report::RunReport;
use apiwright_store::ServerRun;
use apiwright_store::Store;
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::ApiError;

/// A run in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RunSummary {
    /// Run id.
    pub(crate) id: String,
    /// Workflow name.
    #[schema(example = "greenfield")]
    pub(crate) workflow: String,
    /// `queued`, `running`, `waiting_approval`, `escalated`, `completed`, `failed` or
    /// `cancelled`.
    #[schema(example = "running")]
    pub(crate) status: String,
    /// When it was created (RFC 3339).
    #[schema(example = "2026-01-31T12:00:00Z")]
    pub(crate) created_at: String,
    /// When it last changed (RFC 3339).
    #[schema(example = "2026-01-31T12:00:05Z")]
    pub(crate) updated_at: String,
    /// How many events its log holds.
    pub(crate) events: i64,
    /// Who started it through the API (none for runs started from the command line).
    pub(crate) started_by: Option<String>,
}

/// What a paused run waits for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub(crate) struct Waiting {
    /// `approval` or `escalation`.
    #[schema(value_type = String, pattern = "^(approval|escalation)$", example = "approval")]
    pub(crate) kind: &'static str,
    /// The approval gate's or the escalation's id (the path segment to decide it).
    pub(crate) id: String,
    /// The question.
    pub(crate) prompt: String,
}

/// One run in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RunDetail {
    #[serde(flatten)]
    pub(crate) summary: RunSummary,
    /// What it waits for, when paused.
    pub(crate) waiting: Option<Waiting>,
    /// Why it failed, when it did.
    pub(crate) reason: Option<String>,
    /// Why the server's last attempt to drive it stopped with an error, if it did.
    pub(crate) error: Option<String>,
    /// Who cancelled it, if someone did.
    pub(crate) cancelled_by: Option<String>,
    /// Resolved parameters and options.
    #[schema(value_type = Object)]
    pub(crate) params: serde_json::Value,
    /// Phases, steps, gates with their evidence, TDD items and model usage (the report of
    /// `apiwright runs show`).
    #[schema(value_type = Object)]
    pub(crate) report: RunReport,
}

/// RFC 3339 (UTC, milliseconds) for a store timestamp.
pub(crate) fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|time| time.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

pub(crate) fn summary(run: &ServerRun) -> RunSummary {
    RunSummary {
        id: run.id.clone(),
        workflow: run.workflow_name.clone(),
        status: run.status.clone(),
        created_at: rfc3339(run.created_at),
        updated_at: rfc3339(run.updated_at),
        events: run.last_seq,
        started_by: run.job.as_ref().and_then(|job| job.requested_by.clone()),
    }
}

/// A run's workflow, decoded events (with their times) and replayed state.
pub(crate) struct Replayed {
    pub(crate) workflow: std::sync::Arc<apiwright_workflow::Workflow>,
    pub(crate) events: Vec<(i64, Event)>,
    pub(crate) machine: Machine,
}

/// Replays run `run_id` from the store; `None` if there is no such run.
pub(crate) fn replay(store: &Store, run_id: &str) -> Result<Option<Replayed>, ApiError> {
    let Some(run) = store.run(run_id)? else {
        return Ok(None);
    };
    let corrupt = |detail: String| ApiError::internal("replaying a run", detail);
    let workflow = apiwright_workflow::load_str(&format!("run:{run_id}"), &run.workflow_yaml)
        .map_err(|err| corrupt(err.to_string()))?;
    let workflow = std::sync::Arc::new(workflow);
    let mut events = Vec::new();
    for record in store.events(run_id, 0)? {
        let event = serde_json::from_value::<Event>(record.payload)
            .map_err(|err| corrupt(format!("event #{} ({}): {err}", record.seq, record.kind)))?;
        events.push((record.at, event));
    }
    let plain: Vec<Event> = events.iter().map(|(_, event)| event.clone()).collect();
    let machine = Machine::replay(std::sync::Arc::clone(&workflow), run_id, &plain)
        .map_err(|err| corrupt(err.to_string()))?;
    Ok(Some(Replayed {
        workflow,
        events,
        machine,
    }))
}

/// What a replayed run waits for, if anything.
pub(crate) fn waiting(machine: &Machine) -> Option<Waiting> {
    match machine.status() {
        RunPhase::WaitingApproval { gate, prompt, .. } => Some(Waiting {
            kind: "approval",
            id: gate.clone(),
            prompt: prompt.clone(),
        }),
        RunPhase::Escalated { id, message, .. } => Some(Waiting {
            kind: "escalation",
            id: id.clone(),
            prompt: message.clone(),
        }),
        RunPhase::Running | RunPhase::Completed | RunPhase::Failed { .. } => None,
    }
}

/// Run `run_id` in full; `None` if there is no such run.
pub(crate) fn detail(store: &Store, run_id: &str) -> Result<Option<RunDetail>, ApiError> {
    let Some(run) = store.server_run(run_id)? else {
        return Ok(None);
    };
    let Some(replayed) = replay(store, run_id)? else {
        return Ok(None);
    };
    let reason = match replayed.machine.status() {
        RunPhase::Failed { reason } => Some(reason.clone()),
        _ => None,
    };
    Ok(Some(RunDetail {
        summary: summary(&run),
        waiting: waiting(&replayed.machine),
        reason,
        error: run.job.as_ref().and_then(|job| job.error.clone()),
        cancelled_by: run.job.as_ref().and_then(|job| job.cancelled_by.clone()),
        params: run.params.clone(),
        report: report::build(run_id, &replayed.workflow, &replayed.events),
    }))
}
