//! What `apiwright serve` keeps about runs beside the engine's log: its jobs (which runs its
//! workers must drive, who started and who cancelled them), the workflows registered through
//! its API, and pages of runs for its list endpoint.
//!
//! The status a client sees folds the job into the run's: `queued` while a job waits for a
//! worker, `cancelled` for a run that failed because someone cancelled it.

use rusqlite::Row;
use rusqlite::params;

use crate::Store;
use crate::error::Result;
use crate::error::StoreError;
use crate::now_ms;
use crate::sql::Context;
use crate::sql::WriteTx;
use crate::sql::col;
use crate::sql::json_col;
use crate::sql::query_all;
use crate::sql::query_first;

/// Where a server job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker drives the run.
    Running,
    /// The run finished or paused, or its drive stopped with an error.
    Done,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
        }
    }

    fn parse(text: &str) -> Option<JobState> {
        [JobState::Queued, JobState::Running, JobState::Done]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// A run as the server lists it: the run's record (without its workflow definition) and its
/// job, if the server ever held one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServerRun {
    /// Run id.
    pub id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// `queued`, `running`, `waiting_approval`, `escalated`, `completed`, `failed` or
    /// `cancelled`.
    pub status: String,
    /// Parameters and options.
    pub params: serde_json::Value,
    /// Workspace directory.
    pub workspace: String,
    /// Creation time (ms since the epoch).
    pub created_at: i64,
    /// Last change of the run or its job (ms since the epoch).
    pub updated_at: i64,
    /// Sequence number of the last event.
    pub last_seq: i64,
    /// Process executing the run, if any.
    pub owner_pid: Option<i64>,
    /// The server's job, if any.
    pub job: Option<JobRecord>,
}

/// A server job.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobRecord {
    /// Where it stands.
    pub state: JobState,
    /// Who started the run through the API.
    pub requested_by: Option<String>,
    /// Who cancelled it, if someone did.
    pub cancelled_by: Option<String>,
    /// Why.
    pub cancel_reason: Option<String>,
    /// Why the last drive stopped with an error, if it did.
    pub error: Option<String>,
    /// Last change (ms since the epoch).
    pub updated_at: i64,
}

/// Which timestamp a page of runs is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOrder {
    /// Creation time.
    Created,
    /// Last change.
    Updated,
}

/// A page of runs: filters, order and where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunQuery {
    /// Only runs with this (folded) status.
    pub status: Option<String>,
    /// Only runs of this workflow.
    pub workflow: Option<String>,
    /// Order.
    pub order: RunOrder,
    /// Newest first.
    pub descending: bool,
    /// The sort value and id of the last run of the previous page.
    pub after: Option<(i64, String)>,
    /// At most this many.
    pub limit: usize,
}

/// A workflow registered through the API.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WorkflowRecord {
    /// Its name (unique; never a built-in's).
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its definition.
    pub yaml: String,
    /// Who registered it.
    pub registered_by: String,
    /// When (ms since the epoch).
    pub registered_at: i64,
}

/// The folded status and every column a [`ServerRun`] needs, as a subquery named `v`.
const SERVER_RUNS: &str = "SELECT r.id, r.workflow_name, \
     CASE WHEN j.cancelled_by IS NOT NULL AND r.status = 'failed' THEN 'cancelled' \
          WHEN j.state = 'queued' AND r.status = 'running' THEN 'queued' \
          ELSE r.status END AS status, \
     r.params, r.workspace, r.created_at, MAX(r.updated_at, COALESCE(j.updated_at, 0)) AS updated_at, \
     r.last_seq, r.owner_pid, j.state, j.requested_by, j.cancelled_by, j.cancel_reason, j.error, \
     j.updated_at AS job_updated_at \
     FROM runs r LEFT JOIN server_jobs j ON j.run_id = r.id";

/// A run's fingerprint. The parameter is written `+?1`: a join filtered by a bare `?1` is
/// re-prepared by SQLite at every binding (its constant propagation marks the parameter),
/// which cost a third of the server's CPU on `GET /api/v1/runs/{id}`; the unary plus keeps the
/// index lookup and the prepared plan.
const FINGERPRINT: &str = "SELECT r.last_seq, MAX(r.updated_at, COALESCE(j.updated_at, 0)), \
     CASE WHEN j.cancelled_by IS NOT NULL AND r.status = 'failed' THEN 'cancelled' \
          WHEN j.state = 'queued' AND r.status = 'running' THEN 'queued' \
          ELSE r.status END \
     FROM runs r LEFT JOIN server_jobs j ON j.run_id = r.id WHERE r.id = +?1";

fn server_run_from_row(row: &Row<'_>) -> Result<ServerRun> {
    const TABLE: &str = "runs";
    let job_state: Option<String> = col(row, "server_jobs", 9)?;
    let job = match job_state {
        None => None,
        Some(state) => Some(JobRecord {
            state: JobState::parse(&state).ok_or_else(|| {
                crate::sql::corrupt("server_jobs", format!("unknown state `{state}`"))
            })?,
            requested_by: col(row, "server_jobs", 10)?,
            cancelled_by: col(row, "server_jobs", 11)?,
            cancel_reason: col(row, "server_jobs", 12)?,
            error: col(row, "server_jobs", 13)?,
            updated_at: col(row, "server_jobs", 14)?,
        }),
    };
    Ok(ServerRun {
        id: col(row, TABLE, 0)?,
        workflow_name: col(row, TABLE, 1)?,
        status: col(row, TABLE, 2)?,
        params: json_col(row, TABLE, 3)?,
        workspace: col(row, TABLE, 4)?,
        created_at: col(row, TABLE, 5)?,
        updated_at: col(row, TABLE, 6)?,
        last_seq: col(row, TABLE, 7)?,
        owner_pid: col(row, TABLE, 8)?,
        job,
    })
}

fn workflow_from_row(row: &Row<'_>) -> Result<WorkflowRecord> {
    const TABLE: &str = "workflows";
    Ok(WorkflowRecord {
        name: col(row, TABLE, 0)?,
        description: col(row, TABLE, 1)?,
        yaml: col(row, TABLE, 2)?,
        registered_by: col(row, TABLE, 3)?,
        registered_at: col(row, TABLE, 4)?,
    })
}

impl Store {
    /// Puts run `run_id` in the server's queue (again, if it had a job: a resume keeps who
    /// started the run and clears an earlier error).
    pub fn enqueue_job(&self, run_id: &str, requested_by: Option<&str>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO server_jobs (run_id, state, requested_by, updated_at) \
                 VALUES (?1, 'queued', ?2, ?3) \
                 ON CONFLICT (run_id) DO UPDATE SET state = 'queued', error = NULL, \
                 updated_at = excluded.updated_at, \
                 requested_by = COALESCE(server_jobs.requested_by, excluded.requested_by)",
            )
            .and_then(|mut stmt| stmt.execute(params![run_id, requested_by, now_ms()]))
            .map_err(|err| match &err {
                rusqlite::Error::SqliteFailure(failure, _)
                    if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                {
                    StoreError::UnknownRun(run_id.to_owned())
                }
                _ => StoreError::Sqlite {
                    context: "queueing a run".to_owned(),
                    source: err,
                },
            })?;
        Ok(())
    }

    /// Moves a job to `state`, recording `error` (cleared when `None`).
    pub fn set_job_state(&self, run_id: &str, state: JobState, error: Option<&str>) -> Result<()> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE server_jobs SET state = ?2, error = ?3, updated_at = ?4 WHERE run_id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![run_id, state.as_str(), error, now_ms()]))
            .ctx("updating a server job")?;
        if changed == 0 {
            return Err(StoreError::UnknownRun(run_id.to_owned()));
        }
        Ok(())
    }

    /// Records that `by` cancelled run `run_id` (creating its job if the server never held it).
    pub fn cancel_job(&self, run_id: &str, by: &str, reason: &str) -> Result<()> {
        let tx = WriteTx::begin(&self.conn)?;
        let context = "recording a cancellation";
        tx.conn()
            .prepare_cached(
                "INSERT INTO server_jobs (run_id, state, cancelled_by, cancel_reason, updated_at) \
                 VALUES (?1, 'done', ?2, ?3, ?4) \
                 ON CONFLICT (run_id) DO UPDATE SET cancelled_by = excluded.cancelled_by, \
                 cancel_reason = excluded.cancel_reason, updated_at = excluded.updated_at",
            )
            .and_then(|mut stmt| stmt.execute(params![run_id, by, reason, now_ms()]))
            .ctx(context)?;
        tx.commit()
    }

    /// Runs whose jobs are queued or running: the work a starting server takes up again,
    /// oldest first.
    pub fn unfinished_jobs(&self) -> Result<Vec<String>> {
        query_all(
            &self.conn,
            "SELECT j.run_id FROM server_jobs j JOIN runs r ON r.id = j.run_id \
             WHERE j.state <> 'done' ORDER BY r.created_at, r.id",
            [],
            "listing unfinished server jobs",
            |row| col(row, "server_jobs", 0),
        )
    }

    /// One run as the server shows it.
    pub fn server_run(&self, run_id: &str) -> Result<Option<ServerRun>> {
        // `+?1`: see FINGERPRINT.
        let sql = format!("{SERVER_RUNS} WHERE r.id = +?1");
        query_first(
            &self.conn,
            &sql,
            [run_id],
            "reading a run",
            server_run_from_row,
        )
    }

    /// What changes whenever run `run_id` or its job changes: its last event, last update
    /// and folded status (one indexed row; for caches of what is built from the run).
    pub fn run_fingerprint(&self, run_id: &str) -> Result<Option<(i64, i64, String)>> {
        query_first(
            &self.conn,
            FINGERPRINT,
            [run_id],
            "reading a run's fingerprint",
            |row| {
                Ok((
                    col(row, "runs", 0)?,
                    col(row, "runs", 1)?,
                    col(row, "runs", 2)?,
                ))
            },
        )
    }

    /// A page of runs (see [`RunQuery`]).
    pub fn server_runs(&self, query: &RunQuery) -> Result<Vec<ServerRun>> {
        let column = match query.order {
            RunOrder::Created => "created_at",
            RunOrder::Updated => "updated_at",
        };
        let (direction, beyond) = if query.descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        // Column names come from the two fixed choices above; values are bound.
        let sql = format!(
            "SELECT * FROM ({SERVER_RUNS}) v \
             WHERE (?1 IS NULL OR v.status = ?1) AND (?2 IS NULL OR v.workflow_name = ?2) \
             AND (?3 IS NULL OR v.{column} {beyond} ?3 OR (v.{column} = ?3 AND v.id {beyond} ?4)) \
             ORDER BY v.{column} {direction}, v.id {direction} LIMIT ?5"
        );
        let (after_value, after_id) = match &query.after {
            Some((value, id)) => (Some(*value), Some(id.as_str())),
            None => (None, None),
        };
        query_all(
            &self.conn,
            &sql,
            params![
                query.status,
                query.workflow,
                after_value,
                after_id,
                crate::sql::limit(query.limit)
            ],
            "listing runs",
            server_run_from_row,
        )
    }

    /// How many runs have each (folded) status.
    pub fn run_status_counts(&self) -> Result<Vec<(String, i64)>> {
        let sql = format!(
            "SELECT v.status, COUNT(*) FROM ({SERVER_RUNS}) v GROUP BY v.status ORDER BY v.status"
        );
        query_all(&self.conn, &sql, [], "counting runs", |row| {
            Ok((col(row, "runs", 0)?, col(row, "runs", 1)?))
        })
    }

    /// Registers a workflow; [`StoreError::Duplicate`] when the name is taken.
    pub fn register_workflow(&self, workflow: &WorkflowRecord) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO workflows (name, description, yaml, registered_by, registered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    workflow.name,
                    workflow.description,
                    workflow.yaml,
                    workflow.registered_by,
                    workflow.registered_at
                ])
            })
            .map_err(|err| {
                crate::users::unique_violation(
                    err,
                    "workflows",
                    &workflow.name,
                    "registering a workflow",
                )
            })?;
        Ok(())
    }

    /// A registered workflow.
    pub fn registered_workflow(&self, name: &str) -> Result<Option<WorkflowRecord>> {
        query_first(
            &self.conn,
            "SELECT name, description, yaml, registered_by, registered_at FROM workflows WHERE name = ?1",
            [name],
            "reading a registered workflow",
            workflow_from_row,
        )
    }

    /// Every registered workflow, by name.
    pub fn registered_workflows(&self) -> Result<Vec<WorkflowRecord>> {
        query_all(
            &self.conn,
            "SELECT name, description, yaml, registered_by, registered_at FROM workflows ORDER BY name",
            [],
            "listing registered workflows",
            workflow_from_row,
        )
    }
}

#[cfg(test)]
#[path = "server_runs_tests.rs"]
mod tests;
