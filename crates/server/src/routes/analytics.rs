//! `GET /api/v1/analytics/dashboard` (viewer): figures over runs, computed from their event
//! logs with the engine's own report (`apiwright_engine::report::build`), so the dashboard
//! and `apiwright runs show` never disagree.
//!
//! Query: `workflow=NAME` (runs of that workflow only) and `since=T` (runs created at or after
//! `T`, an RFC 3339 timestamp or milliseconds since the epoch); anything else is a 422. The
//! newest [`MAX_RUNS`] runs are considered (`runs.truncated` says when there were more).
//!
//! Response (every key always present; maps sorted by key, lists sorted by id):
//!
//! ```json
//! {
//!   "generated_at": 1700000000000,
//!   "filters": {"workflow": "shop", "since": 1699990000000},
//!   "runs": {
//!     "total": 4,
//!     "by_status": {"completed": 2, "escalated": 0, "failed": 1, "running": 1,
//!                   "waiting_approval": 0},
//!     "unreadable": 0,
//!     "truncated": false
//!   },
//!   "gates": [
//!     {"gate": "tests", "kind": "command", "evaluated": 4, "passed": 3, "failed": 1,
//!      "pass_rate": 0.75}
//!   ],
//!   "phases": [{"phase": "build", "completed_visits": 4, "p50_ms": 2000, "p95_ms": 10000}],
//!   "tdd": {
//!     "overall": {"items": 2, "verified": 1, "rate": 0.5},
//!     "by_workflow": {"shop": {"items": 2, "verified": 1, "rate": 0.5}}
//!   },
//!   "usage": {
//!     "total": {"input_tokens": 1300, "output_tokens": 150, "cost_usd": 0.53},
//!     "by_role": {"dev": {…}, "tester": {…}},
//!     "by_workflow": {"ops": {…}, "shop": {…}}
//!   }
//! }
//! ```
//!
//! - `runs.by_status` counts the stored status of every run that passes the filters; a run
//!   whose log or workflow cannot be read counts there and in `runs.unreadable`, and adds
//!   nothing else.
//! - `gates`: one row per gate id and kind over every round of every run. Passed and approved
//!   count as passed, failed and rejected as failed; gates not run (planned, never reached,
//!   waiting) are not evaluated. `pass_rate` is passed / evaluated, 4 decimals, `null` when
//!   nothing was evaluated.
//! - `phases`: per phase id, the durations (`phase_completed` − `phase_started`) of visits
//!   that completed — failed and overridden visits are left out, an override includes the
//!   time a person took — as nearest-rank percentiles in whole milliseconds.
//! - `tdd`: per the report's `tdd_adherence`, items of the latest visit of each TDD phase
//!   whose red and green stages were both verified, over those items; `rate` as above.
//! - `usage`: model tokens and cost (US dollars, 6 decimals) of every attempt, failed ones
//!   included, as the report counts them; a workflow or role without model usage is not
//!   listed (the total is then zeros).
//!
//! Reports are cached per run, keyed by the run's last event sequence number, so a finished
//! run is built once (an unreadable one is remembered as such) and a running one again only
//! after it moved on. Uncached runs are built 64 to a store call, so a dashboard over many new
//! runs does not keep the connection from other requests for long.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;

use apiwright_engine::Event;
use apiwright_engine::report;
use apiwright_engine::report::GateStatus;
use apiwright_engine::report::RunReport;
use apiwright_store::RunRecord;
use apiwright_store::RunStatus;
use apiwright_store::Store;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::ToSchema;

use super::openapi;
use super::query::ApiQuery;
use crate::auth::Authorized;
use crate::auth::Viewer;
use crate::problem::ApiError;
use crate::state::AppState;

/// The most runs (newest first) one dashboard considers.
pub(crate) const MAX_RUNS: usize = 10_000;

/// Runs whose reports one store call builds.
const BUILD_BATCH: usize = 64;

/// Every stored run status, so `by_status` always has the same keys.
const STATUSES: [RunStatus; 5] = [
    RunStatus::Running,
    RunStatus::WaitingApproval,
    RunStatus::Escalated,
    RunStatus::Completed,
    RunStatus::Failed,
];

/// Which runs the figures cover.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DashboardParams {
    /// Runs of this workflow only.
    #[param(min_length = 1)]
    workflow: Option<String>,
    /// Runs created at or after this time: an RFC 3339 timestamp (`2026-01-31T12:00:00Z`) or
    /// milliseconds since the epoch.
    #[param(
        example = "2026-01-31T12:00:00Z",
        pattern = r"^([0-9]{1,18}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))$"
    )]
    since: Option<String>,
}

/// Figures over runs, from their event logs (every key always present).
#[derive(Serialize, ToSchema)]
pub(crate) struct DashboardResponse {
    /// When the figures were computed (ms since the epoch).
    generated_at: i64,
    /// The filters applied.
    filters: DashboardFilters,
    /// How many runs, by status.
    runs: RunCounts,
    /// Pass rates per gate id and kind, sorted.
    gates: Vec<GatePassRate>,
    /// Durations of completed phase visits per phase id, sorted.
    phases: Vec<PhaseDurations>,
    /// TDD adherence.
    tdd: TddAdherence,
    /// Model tokens and cost.
    usage: UsageSummary,
}

/// The filters applied.
#[derive(Serialize, ToSchema)]
pub(crate) struct DashboardFilters {
    /// `workflow`, if given.
    workflow: Option<String>,
    /// `since`, as milliseconds since the epoch.
    since: Option<i64>,
}

/// Run counts.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunCounts {
    /// Runs considered.
    total: u64,
    /// Runs by stored status (every status always listed).
    by_status: BTreeMap<String, u64>,
    /// Runs whose events or workflow could not be decoded (counted in `by_status` only).
    unreadable: u64,
    /// More than `MAX_RUNS` runs exist; the oldest were not considered.
    truncated: bool,
}

/// One gate's pass rate.
#[derive(Serialize, ToSchema)]
pub(crate) struct GatePassRate {
    /// The gate's id.
    gate: String,
    /// The gate's kind.
    kind: String,
    /// Rounds evaluated (passed or failed).
    evaluated: u64,
    /// Rounds passed or approved.
    passed: u64,
    /// Rounds failed or rejected.
    failed: u64,
    /// passed / evaluated, 4 decimals; null when nothing was evaluated.
    pass_rate: Option<f64>,
}

/// One phase's durations.
#[derive(Serialize, ToSchema)]
pub(crate) struct PhaseDurations {
    /// The phase's id.
    phase: String,
    /// Visits that completed.
    completed_visits: u64,
    /// Median duration (nearest rank, ms).
    p50_ms: i64,
    /// 95th percentile duration (nearest rank, ms).
    p95_ms: i64,
}

/// TDD adherence, overall and per workflow.
#[derive(Serialize, ToSchema)]
pub(crate) struct TddAdherence {
    /// Over every run.
    overall: TddFigures,
    /// Per workflow (workflows without TDD items are not listed).
    by_workflow: BTreeMap<String, TddFigures>,
}

/// TDD items and how many were verified red then green.
#[derive(Serialize, Default, ToSchema)]
pub(crate) struct TddFigures {
    /// Items.
    items: u64,
    /// Items verified.
    verified: u64,
    /// verified / items, 4 decimals; null without items.
    rate: Option<f64>,
}

/// Model usage: total, per role, per workflow.
#[derive(Serialize, ToSchema)]
pub(crate) struct UsageSummary {
    /// Over every run.
    total: TokenUsage,
    /// Per agent role.
    by_role: BTreeMap<String, TokenUsage>,
    /// Per workflow.
    by_workflow: BTreeMap<String, TokenUsage>,
}

/// Tokens and cost.
#[derive(Serialize, Default, Clone, Copy, PartialEq, Debug, ToSchema)]
pub(crate) struct TokenUsage {
    /// Input tokens.
    input_tokens: u64,
    /// Output tokens.
    output_tokens: u64,
    /// Cost in US dollars, 6 decimals.
    cost_usd: f64,
}

impl TokenUsage {
    fn add(&mut self, other: &TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd += other.cost_usd;
    }

    fn rounded(mut self) -> TokenUsage {
        self.cost_usd = round_to(self.cost_usd, 1e6);
        self
    }
}

/// What the dashboard needs of one run's report (the report itself, with its evidence, is
/// too big to keep for thousands of runs).
#[derive(Debug, PartialEq)]
struct RunFigures {
    /// Evaluated or not, per gate row: (gate, kind, status).
    gates: Vec<(String, String, GateStatus)>,
    /// Durations of completed phase visits: (phase, ms).
    phase_durations: Vec<(String, i64)>,
    /// (verified, items).
    tdd: (u64, u64),
    total_usage: TokenUsage,
    usage_by_role: Vec<(String, TokenUsage)>,
}

impl RunFigures {
    fn from_report(report: &RunReport) -> RunFigures {
        let gates = report
            .phases
            .iter()
            .flat_map(|phase| &phase.gates)
            .map(|gate| (gate.gate.clone(), gate.kind.clone(), gate.status))
            .collect();
        let phase_durations = report
            .phases
            .iter()
            .filter(|phase| phase.status == "completed")
            .filter_map(|phase| {
                let ended_at = phase.ended_at?;
                Some((phase.phase.clone(), ended_at - phase.started_at))
            })
            .collect();
        let (verified, items) = report.tdd_adherence();
        let usage = |usage: &apiwright_engine::report::UsageTotals| {
            let total = TokenUsage {
                input_tokens: usage.total.input_tokens,
                output_tokens: usage.total.output_tokens,
                cost_usd: usage.total.cost_usd,
            };
            let by_role = usage
                .by_role
                .iter()
                .map(|(role, usage)| {
                    let figures = TokenUsage {
                        input_tokens: usage.input_tokens,
                        output_tokens: usage.output_tokens,
                        cost_usd: usage.cost_usd,
                    };
                    (role.clone(), figures)
                })
                .collect();
            (total, by_role)
        };
        let (total_usage, usage_by_role) = report.usage.as_ref().map(usage).unwrap_or_default();
        RunFigures {
            gates,
            phase_durations,
            tdd: (as_u64(verified), as_u64(items)),
            total_usage,
            usage_by_role,
        }
    }
}

fn as_u64(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

/// Run reports' figures by run id, with the `last_seq` they were built at.
#[derive(Default)]
pub(crate) struct RunFiguresCache {
    runs: Mutex<HashMap<String, (i64, Figures)>>,
}

impl RunFiguresCache {
    fn get(&self, run: &RunRecord) -> Option<Figures> {
        let runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        runs.get(&run.id)
            .filter(|(last_seq, _)| *last_seq == run.last_seq)
            .map(|(_, figures)| figures.clone())
    }

    fn insert(&self, run: &RunRecord, figures: Figures) {
        let mut runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        runs.insert(run.id.clone(), (run.last_seq, figures));
    }

    /// Forgets runs no longer among the newest (bounded memory when runs keep coming).
    fn retain(&self, current: &HashSet<&str>) {
        let mut runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if runs.len() > MAX_RUNS {
            runs.retain(|id, _| current.contains(id.as_str()));
        }
    }
}

/// A run's figures, or the fact that its log or workflow could not be read (remembered too,
/// so a broken run is not re-read on every request).
#[derive(Clone)]
enum Figures {
    Readable(Arc<RunFigures>),
    Unreadable,
}

/// One considered run: its stored status and workflow, and its figures.
struct RunRow {
    status: RunStatus,
    workflow: String,
    figures: Figures,
}

/// Builds a run's figures from its events; `Unreadable` (logged) when the log or the
/// workflow snapshot cannot be decoded.
fn build_figures(store: &Store, run: &RunRecord) -> Result<Figures, ApiError> {
    let workflow = match apiwright_workflow::load_str(
        &format!("run:{}", run.id),
        &run.workflow_yaml,
    ) {
        Ok(workflow) => workflow,
        Err(err) => {
            tracing::warn!(run.id = %run.id, error = %err, "dashboard: the run's workflow does not load");
            return Ok(Figures::Unreadable);
        }
    };
    let mut timed = Vec::new();
    for record in store.events(&run.id, 0)? {
        match serde_json::from_value::<Event>(record.payload) {
            Ok(event) => timed.push((record.at, event)),
            Err(err) => {
                tracing::warn!(run.id = %run.id, seq = record.seq, error = %err, "dashboard: an event does not decode");
                return Ok(Figures::Unreadable);
            }
        }
    }
    let report = report::build(&run.id, &workflow, &timed);
    Ok(Figures::Readable(Arc::new(RunFigures::from_report(
        &report,
    ))))
}

/// `since` as milliseconds: digits are milliseconds, anything else must be RFC 3339.
fn parse_since(text: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::Unprocessable(format!(
            "since: expected an RFC 3339 timestamp (2026-01-31T12:00:00Z) or milliseconds since \
             the epoch, found `{text}`"
        ))
    };
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text.parse::<i64>().map_err(|_| invalid());
    }
    text.parse::<jiff::Timestamp>()
        .map(|timestamp| timestamp.as_millisecond())
        .map_err(|_| invalid())
}

/// Rounds to `1 / scale` (`scale` 1e4: four decimals).
fn round_to(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    // Counts far below 2^52: exact as floats.
    (whole > 0).then(|| round_to(part as f64 / whole as f64, 1e4))
}

/// The nearest-rank percentile (`percent` in 1..=100) of sorted, non-empty `values`: the
/// smallest value with at least `percent`% of the values at or below it.
fn percentile(sorted: &[i64], percent: usize) -> i64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn tdd_figures(verified: u64, items: u64) -> TddFigures {
    TddFigures {
        items,
        verified,
        rate: rate(verified, items),
    }
}

/// The dashboard over `rows` (pure: figures in, response out).
fn aggregate(rows: &[RunRow], filters: DashboardFilters, truncated: bool) -> DashboardResponse {
    let mut by_status: BTreeMap<String, u64> = STATUSES
        .iter()
        .map(|status| (status.as_str().to_owned(), 0))
        .collect();
    let mut unreadable = 0;
    let mut gates: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
    let mut durations: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut tdd_overall = (0, 0);
    let mut tdd_by_workflow: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut usage_total = TokenUsage::default();
    let mut usage_by_role: BTreeMap<String, TokenUsage> = BTreeMap::new();
    let mut usage_by_workflow: BTreeMap<String, TokenUsage> = BTreeMap::new();
    for row in rows {
        *by_status.entry(row.status.as_str().to_owned()).or_default() += 1;
        let figures = match &row.figures {
            Figures::Readable(figures) => figures,
            Figures::Unreadable => {
                unreadable += 1;
                continue;
            }
        };
        for (gate, kind, status) in &figures.gates {
            let counts = gates.entry((gate.clone(), kind.clone())).or_default();
            match status {
                GateStatus::Passed | GateStatus::Approved => {
                    counts.0 += 1;
                    counts.1 += 1;
                }
                GateStatus::Failed | GateStatus::Rejected => {
                    counts.0 += 1;
                    counts.2 += 1;
                }
                GateStatus::Waiting | GateStatus::NotRun => {}
            }
        }
        for (phase, duration) in &figures.phase_durations {
            durations.entry(phase.clone()).or_default().push(*duration);
        }
        let (verified, items) = figures.tdd;
        if items > 0 {
            tdd_overall.0 += verified;
            tdd_overall.1 += items;
            let workflow = tdd_by_workflow.entry(row.workflow.clone()).or_default();
            workflow.0 += verified;
            workflow.1 += items;
        }
        if figures.total_usage != TokenUsage::default() {
            usage_total.add(&figures.total_usage);
            usage_by_workflow
                .entry(row.workflow.clone())
                .or_default()
                .add(&figures.total_usage);
            for (role, usage) in &figures.usage_by_role {
                usage_by_role.entry(role.clone()).or_default().add(usage);
            }
        }
    }
    DashboardResponse {
        generated_at: apiwright_store::now_ms(),
        filters,
        runs: RunCounts {
            total: as_u64(rows.len()),
            by_status,
            unreadable,
            truncated,
        },
        gates: gates
            .into_iter()
            .map(|((gate, kind), (evaluated, passed, failed))| GatePassRate {
                gate,
                kind,
                evaluated,
                passed,
                failed,
                pass_rate: rate(passed, evaluated),
            })
            .collect(),
        phases: durations
            .into_iter()
            .map(|(phase, mut durations)| {
                durations.sort_unstable();
                PhaseDurations {
                    phase,
                    completed_visits: as_u64(durations.len()),
                    p50_ms: percentile(&durations, 50),
                    p95_ms: percentile(&durations, 95),
                }
            })
            .collect(),
        tdd: TddAdherence {
            overall: tdd_figures(tdd_overall.0, tdd_overall.1),
            by_workflow: tdd_by_workflow
                .into_iter()
                .map(|(workflow, (verified, items))| (workflow, tdd_figures(verified, items)))
                .collect(),
        },
        usage: UsageSummary {
            total: usage_total.rounded(),
            by_role: usage_by_role
                .into_iter()
                .map(|(role, usage)| (role, usage.rounded()))
                .collect(),
            by_workflow: usage_by_workflow
                .into_iter()
                .map(|(workflow, usage)| (workflow, usage.rounded()))
                .collect(),
        },
    }
}

/// Analytics dashboard
///
/// Figures over the newest runs, computed with the engine's own report: run counts by status,
/// gate pass rates, phase durations, TDD adherence and model usage. Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/dashboard",
    operation_id = "analytics_dashboard",
    tag = "analytics",
    params(DashboardParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The figures", body = DashboardResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
    ApiQuery(params): ApiQuery<DashboardParams>,
) -> Result<Json<DashboardResponse>, ApiError> {
    let since = params.since.as_deref().map(parse_since).transpose()?;
    if params.workflow.as_deref().is_some_and(str::is_empty) {
        return Err(ApiError::Unprocessable(
            "workflow: expected a workflow name, found an empty value".to_owned(),
        ));
    }
    let workflow = params.workflow.clone();
    let (runs, truncated) = state
        .db()
        .call("listing runs for the dashboard", move |store| {
            let mut runs = store.runs(MAX_RUNS + 1)?;
            let truncated = runs.len() > MAX_RUNS;
            runs.truncate(MAX_RUNS);
            Ok((runs, truncated))
        })
        .await?;
    let cache = state.run_figures();
    cache.retain(&runs.iter().map(|run| run.id.as_str()).collect());
    let mut rows = Vec::new();
    let mut uncached = Vec::new();
    for run in runs {
        if workflow
            .as_deref()
            .is_some_and(|name| name != run.workflow_name)
            || since.is_some_and(|since| run.created_at < since)
        {
            continue;
        }
        match cache.get(&run) {
            Some(figures) => rows.push(RunRow {
                status: run.status,
                workflow: run.workflow_name,
                figures,
            }),
            None => uncached.push(run),
        }
    }
    // Reports are built a batch of runs at a time, so other requests get the connection in
    // between when many runs are new to the cache.
    while !uncached.is_empty() {
        let batch: Vec<RunRecord> = uncached.drain(..uncached.len().min(BUILD_BATCH)).collect();
        let built = state
            .db()
            .call("building run reports", move |store| {
                let mut built = Vec::with_capacity(batch.len());
                for run in batch {
                    let figures = build_figures(store, &run)?;
                    built.push((run, figures));
                }
                Ok(built)
            })
            .await?;
        for (run, figures) in built {
            cache.insert(&run, figures.clone());
            rows.push(RunRow {
                status: run.status,
                workflow: run.workflow_name,
                figures,
            });
        }
    }
    let filters = DashboardFilters {
        workflow: params.workflow,
        since,
    };
    Ok(Json(aggregate(&rows, filters, truncated)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<i64> = (1..=20).map(|n| n * 100).collect();
        assert_eq!(percentile(&values, 50), 1000);
        assert_eq!(percentile(&values, 95), 1900);
        assert_eq!(percentile(&values, 100), 2000);
        assert_eq!(percentile(&[7], 50), 7);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[1, 2, 3, 4], 50), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 95), 4);
    }

    #[test]
    fn since_takes_milliseconds_or_rfc_3339() {
        assert_eq!(parse_since("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_since("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(
            parse_since("2026-01-31T12:00:00+01:00").unwrap(),
            1_769_857_200_000
        );
        for bad in ["", "yesterday", "2026-01-31", "-5", "99999999999999999999"] {
            let err = parse_since(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("since: expected"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn rates_and_costs_are_rounded() {
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(0, 0), None);
        assert_eq!(round_to(0.1 + 0.2, 1e6), 0.3);
    }
}
