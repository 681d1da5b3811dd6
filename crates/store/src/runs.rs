//! Run records and their append-only event log.

use crate::Store;
use crate::error::Result;
use crate::memory::MemoryWrite;

/// Lifecycle state of a run, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Being executed (or interrupted while executing: resumable).
    Running,
    /// Paused at an approval gate.
    WaitingApproval,
    /// Paused by an escalation.
    Escalated,
    /// Finished with every phase passed.
    Completed,
    /// Finished unsuccessfully.
    Failed,
}

impl RunStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::WaitingApproval => "waiting_approval",
            RunStatus::Escalated => "escalated",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }
}

/// A run to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Unique id (time-ordered).
    pub id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// The workflow definition (YAML) as it was when the run started; resume uses this copy.
    pub workflow_yaml: String,
    /// Resolved parameters and run options (JSON object).
    pub params: serde_json::Value,
    /// Absolute path of the run's workspace directory.
    pub workspace: String,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunRecord {
    /// Run id.
    pub id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// Workflow definition snapshot.
    pub workflow_yaml: String,
    /// Parameters and options.
    pub params: serde_json::Value,
    /// Workspace directory.
    pub workspace: String,
    /// Current status.
    pub status: RunStatus,
    /// Creation time (ms since the epoch).
    pub created_at: i64,
    /// Last commit time (ms since the epoch).
    pub updated_at: i64,
    /// Sequence number of the last event (0 if none).
    pub last_seq: i64,
    /// Process currently executing the run, if any.
    pub owner_pid: Option<i64>,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Event kind, for example `step_finished`.
    pub kind: String,
    /// Event payload (opaque to the store).
    pub payload: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventRecord {
    /// Run id.
    pub run_id: String,
    /// 1-based, gap-free sequence number within the run.
    pub seq: i64,
    /// Event kind.
    pub kind: String,
    /// Event payload.
    pub payload: serde_json::Value,
    /// When it was appended (ms since the epoch).
    pub at: i64,
}

/// Everything one engine transition writes, applied atomically by [`Store::commit`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Commit {
    /// Events to append, in order.
    pub events: Vec<NewEvent>,
    /// Memory writes (each with its history row).
    pub memory: Vec<MemoryWrite>,
    /// New run status, if it changes.
    pub status: Option<RunStatus>,
}

/// Result of trying to take ownership of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This process now owns the run.
    Acquired,
    /// Another live process owns it.
    HeldBy(i64),
}

impl Store {
    /// Creates a run with status `running` and appends `first` events, in one transaction.
    pub fn create_run(&self, run: &NewRun, first: &[NewEvent]) -> Result<()> {
        unimplemented!("{run:?}{first:?}")
    }

    /// Appends events, applies memory writes and sets the status in one transaction;
    /// returns the sequence number of the last event.
    pub fn commit(&self, run_id: &str, commit: &Commit) -> Result<i64> {
        unimplemented!("{run_id}{commit:?}")
    }

    /// One run.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        unimplemented!("{run_id}")
    }

    /// Runs, newest first, at most `limit`.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        unimplemented!("{limit}")
    }

    /// Events of a run with `seq > after_seq`, in order.
    pub fn events(&self, run_id: &str, after_seq: i64) -> Result<Vec<EventRecord>> {
        unimplemented!("{run_id}{after_seq}")
    }

    /// Takes ownership of a run for process `pid` unless another live process holds it
    /// (a holder whose `/proc/PID` no longer exists is considered dead).
    pub fn claim_run(&self, run_id: &str, pid: u32) -> Result<Claim> {
        unimplemented!("{run_id}{pid}")
    }

    /// Gives up ownership (only if `pid` holds it).
    pub fn release_run(&self, run_id: &str, pid: u32) -> Result<()> {
        unimplemented!("{run_id}{pid}")
    }
}
