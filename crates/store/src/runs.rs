//! Run records and their append-only event log.

use std::path::Path;

use rusqlite::Row;
use rusqlite::params;

use crate::Store;
use crate::error::Result;
use crate::error::StoreError;
use crate::memory::MemoryWrite;
use crate::memory::put_in;
use crate::now_ms;
use crate::sql::Context;
use crate::sql::WriteTx;
use crate::sql::col;
use crate::sql::corrupt;
use crate::sql::json_col;
use crate::sql::query_all;
use crate::sql::query_first;

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

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<RunStatus> {
        [
            RunStatus::Running,
            RunStatus::WaitingApproval,
            RunStatus::Escalated,
            RunStatus::Completed,
            RunStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
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
    /// Prompts of step attempts that start in this commit.
    pub prompts: Vec<crate::StepPrompt>,
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

/// Columns of `runs` read by [`run_from_row`].
const RUN_COLUMNS: &str = "r.id, r.workflow_name, d.workflow_yaml, r.params, r.workspace, r.status, \
     r.created_at, r.updated_at, r.last_seq, r.owner_pid \
     FROM runs r JOIN run_definitions d ON d.run_id = r.id";

/// One run by id; `+?1` keeps SQLite from re-preparing the join at every call (see
/// `server_runs::FINGERPRINT`).
pub(crate) fn run_by_id_sql() -> String {
    format!("SELECT {RUN_COLUMNS} WHERE r.id = +?1")
}

fn run_from_row(row: &Row<'_>) -> Result<RunRecord> {
    const TABLE: &str = "runs";
    let status: String = col(row, TABLE, 5)?;
    Ok(RunRecord {
        id: col(row, TABLE, 0)?,
        workflow_name: col(row, TABLE, 1)?,
        workflow_yaml: col(row, TABLE, 2)?,
        params: json_col(row, TABLE, 3)?,
        workspace: col(row, TABLE, 4)?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| corrupt(TABLE, format!("unknown status `{status}`")))?,
        created_at: col(row, TABLE, 6)?,
        updated_at: col(row, TABLE, 7)?,
        last_seq: col(row, TABLE, 8)?,
        owner_pid: col(row, TABLE, 9)?,
    })
}

fn event_from_row(row: &Row<'_>) -> Result<EventRecord> {
    const TABLE: &str = "events";
    Ok(EventRecord {
        run_id: col(row, TABLE, 0)?,
        seq: col(row, TABLE, 1)?,
        kind: col(row, TABLE, 2)?,
        payload: json_col(row, TABLE, 3)?,
        at: col(row, TABLE, 4)?,
    })
}

/// Appends `events` after `last_seq` inside an open transaction; returns the new last seq.
fn append_events(
    tx: &WriteTx<'_>,
    run_id: &str,
    last_seq: i64,
    events: &[NewEvent],
    now: i64,
) -> Result<i64> {
    let mut seq = last_seq;
    if events.is_empty() {
        return Ok(seq);
    }
    let mut stmt = tx
        .conn()
        .prepare_cached(
            "INSERT INTO events (run_id, seq, kind, payload, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .ctx("appending events")?;
    for event in events {
        seq += 1;
        // `Display` of a JSON value is its compact serialization (infallible).
        let payload = event.payload.to_string();
        stmt.execute(params![run_id, seq, event.kind, payload, now])
            .ctx("appending events")?;
    }
    Ok(seq)
}

/// Whether process `pid` exists. Without `/proc` (not Linux) there is no cheap way to tell,
/// so every holder is assumed alive: a run is never executed twice at once.
fn pid_alive(pid: i64) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// The live process other than this one that holds a run whose `owner_pid` is `owner`, if any
/// (the check [`Store::claim_run`] makes, for callers that must not act on a run driven
/// elsewhere).
pub fn held_elsewhere(owner: Option<i64>) -> Option<i64> {
    owner
        .filter(|owner| u32::try_from(*owner).ok() != Some(std::process::id()) && pid_alive(*owner))
}

impl Store {
    /// Creates a run with status `running` and appends `first` events, in one transaction.
    pub fn create_run(&self, run: &NewRun, first: &[NewEvent]) -> Result<()> {
        let now = now_ms();
        let params_json = run.params.to_string();
        let tx = WriteTx::begin(&self.conn)?;
        tx.conn()
            .prepare_cached(
                "INSERT INTO runs (id, workflow_name, params, workspace, status, \
                 created_at, updated_at, last_seq, owner_pid) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, NULL)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    run.id,
                    run.workflow_name,
                    params_json,
                    run.workspace,
                    RunStatus::Running.as_str(),
                    now
                ])
            })
            .ctx(&format!("creating run {}", run.id))?;
        tx.conn()
            .prepare_cached("INSERT INTO run_definitions (run_id, workflow_yaml) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![run.id, run.workflow_yaml]))
            .ctx(&format!("creating run {}", run.id))?;
        let last_seq = append_events(&tx, &run.id, 0, first, now)?;
        if last_seq != 0 {
            tx.conn()
                .prepare_cached("UPDATE runs SET last_seq = ?2 WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute(params![run.id, last_seq]))
                .ctx(&format!("creating run {}", run.id))?;
        }
        tx.commit()
    }

    /// Appends events, applies memory writes and sets the status in one transaction;
    /// returns the sequence number of the last event.
    pub fn commit(&self, run_id: &str, commit: &Commit) -> Result<i64> {
        let now = now_ms();
        let tx = WriteTx::begin(&self.conn)?;
        let last_seq: i64 = query_first(
            tx.conn(),
            "SELECT last_seq FROM runs WHERE id = ?1",
            [run_id],
            "committing a run step",
            |row| col(row, "runs", 0),
        )?
        .ok_or_else(|| StoreError::UnknownRun(run_id.to_owned()))?;
        let seq = append_events(&tx, run_id, last_seq, &commit.events, now)?;
        // A failing write (a bad key, say) drops `tx`: the events above are rolled back too.
        for write in &commit.memory {
            put_in(&tx, write, now)?;
        }
        for prompt in &commit.prompts {
            crate::prompts::insert(tx.conn(), prompt, now)?;
        }
        tx.conn()
            .prepare_cached(
                "UPDATE runs SET status = coalesce(?2, status), updated_at = ?3, last_seq = ?4 WHERE id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![run_id, commit.status.map(RunStatus::as_str), now, seq]))
            .ctx("committing a run step")?;
        tx.commit()?;
        Ok(seq)
    }

    /// One run.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        query_first(
            &self.conn,
            &run_by_id_sql(),
            [run_id],
            "reading a run",
            run_from_row,
        )
    }

    /// Runs, newest first, at most `limit`.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        let sql = format!("SELECT {RUN_COLUMNS} ORDER BY r.created_at DESC, r.id DESC LIMIT ?1");
        query_all(
            &self.conn,
            &sql,
            [crate::sql::limit(limit)],
            "listing runs",
            run_from_row,
        )
    }

    /// Events of a run with `seq > after_seq`, in order.
    pub fn events(&self, run_id: &str, after_seq: i64) -> Result<Vec<EventRecord>> {
        query_all(
            &self.conn,
            "SELECT run_id, seq, kind, payload, at FROM events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq",
            params![run_id, after_seq],
            "reading events",
            event_from_row,
        )
    }

    /// Takes ownership of a run for process `pid` unless another live process holds it
    /// (a holder whose `/proc/PID` no longer exists is considered dead).
    pub fn claim_run(&self, run_id: &str, pid: u32) -> Result<Claim> {
        let context = "claiming a run";
        let tx = WriteTx::begin(&self.conn)?;
        let owner: Option<i64> = query_first(
            tx.conn(),
            "SELECT owner_pid FROM runs WHERE id = ?1",
            [run_id],
            context,
            |row| col(row, "runs", 0),
        )?
        .ok_or_else(|| StoreError::UnknownRun(run_id.to_owned()))?;
        let pid = i64::from(pid);
        match owner {
            Some(owner) if owner != pid && pid_alive(owner) => return Ok(Claim::HeldBy(owner)),
            Some(owner) if owner == pid => return Ok(Claim::Acquired),
            _ => {}
        }
        tx.conn()
            .prepare_cached("UPDATE runs SET owner_pid = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![run_id, pid]))
            .ctx(context)?;
        tx.commit()?;
        Ok(Claim::Acquired)
    }

    /// Gives up ownership (only if `pid` holds it).
    pub fn release_run(&self, run_id: &str, pid: u32) -> Result<()> {
        let context = "releasing a run";
        let tx = WriteTx::begin(&self.conn)?;
        let changed = tx
            .conn()
            .prepare_cached("UPDATE runs SET owner_pid = NULL WHERE id = ?1 AND owner_pid = ?2")
            .and_then(|mut stmt| stmt.execute(params![run_id, i64::from(pid)]))
            .ctx(context)?;
        if changed == 0 {
            let exists = tx
                .conn()
                .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")
                .and_then(|mut stmt| stmt.exists([run_id]))
                .ctx(context)?;
            if !exists {
                return Err(StoreError::UnknownRun(run_id.to_owned()));
            }
        }
        tx.commit()
    }
}

#[cfg(test)]
#[path = "runs_tests.rs"]
mod tests;
