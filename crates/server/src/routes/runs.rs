//! Runs: start (`POST /api/v1/runs`, `PUT /api/v1/workflows/{name}/execute`), list with
//! filters, order and cursor pages, get (with an ETag), cancel, resume, and the decisions on
//! approval gates and escalations.
//!
//! Starting a run checks everything `apiwright run` checks before the run exists (the
//! workflow, its parameters and inputs, the agents) and answers 202 with the run `queued`;
//! a worker of the pool drives it. Writes go through an engine the host builds, on the
//! blocking pool; reads come from the store.

use std::collections::BTreeMap;

use apiwright_engine::EngineError;
use apiwright_engine::RunRequest;
use apiwright_store::RunOrder;
use apiwright_store::RunQuery;
use apiwright_store::Value;
use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse as _;
use axum::response::Response;
use serde::Deserialize;
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::ToSchema;

use super::etag;
use super::json::ApiJson;
use super::openapi;
use super::query::ApiQuery;
use crate::auth::Authorized;
use crate::auth::Operator;
use crate::auth::Principal;
use crate::auth::Viewer;
use crate::problem::ApiError;
use crate::runs::pool::Holding;
use crate::runs::pool::Refused;
use crate::runs::pool::Stop;
use crate::runs::pool::Withdrawn;
use crate::runs::view;
use crate::runs::view::RunDetail;
use crate::runs::view::RunSummary;
use crate::state::AppState;

/// The most runs one page returns.
const MAX_PAGE: usize = 200;
/// The page size when none is asked for.
const DEFAULT_PAGE: usize = 50;

/// What to run (for `POST /api/v1/runs`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartRun {
    /// A built-in workflow's name or a registered one's.
    workflow: String,
    #[serde(flatten)]
    options: RunOptions,
}

/// What to run (for `POST /api/v1/runs`): a workflow and how to run it (the fields of
/// `RunOptions`).
// The document's form of `StartRun`: a flattened `RunOptions` would become an `allOf` of two
// objects that each allow no other property, which no body satisfies.
#[derive(ToSchema)]
#[schema(as = StartRun)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct StartRunSchema {
    /// A built-in workflow's name or a registered one's.
    #[schema(example = "my-workflow")]
    workflow: String,
    /// Parameter overrides (strings, numbers or booleans).
    #[serde(default)]
    params: BTreeMap<String, ScalarParam>,
    /// Inputs by name (text).
    #[serde(default)]
    inputs: BTreeMap<String, String>,
    /// The requirements: a structured spec (YAML or JSON) or free text for a model agent.
    #[serde(default)]
    spec: Option<String>,
    /// Approve approval gates automatically.
    #[serde(default)]
    auto_approve: bool,
    /// Force one provider on every role (as `apiwright run --agents`).
    #[serde(default)]
    agents: Option<String>,
}

/// How to run a workflow (the body of `PUT /api/v1/workflows/{name}/execute`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunOptions {
    /// Parameter overrides (strings, numbers or booleans).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, ScalarParam>)]
    params: BTreeMap<String, serde_json::Value>,
    /// Inputs by name (text).
    #[serde(default)]
    inputs: BTreeMap<String, String>,
    /// The requirements: a structured spec (YAML or JSON) or free text for a model agent.
    #[serde(default)]
    spec: Option<String>,
    /// Approve approval gates automatically.
    #[serde(default)]
    auto_approve: bool,
    /// Force one provider on every role (as `apiwright run --agents`).
    #[serde(default)]
    agents: Option<String>,
}

/// A page of runs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunPage {
    /// The runs of this page, in the order asked for.
    items: Vec<RunSummary>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

/// Filters, order and page of `GET /api/v1/runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only runs with this status.
    #[param(value_type = Option<RunStatusFilter>, inline)]
    status: Option<String>,
    /// Only runs of this workflow.
    workflow: Option<String>,
    /// The order: `created_at` or `updated_at`, descending with a leading `-` (default
    /// `-created_at`).
    #[param(value_type = Option<RunSort>, inline)]
    sort: Option<String>,
    /// Runs per page, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Why a run is cancelled (the body may also be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelRun {
    /// Recorded with the cancellation (default: `no reason given`).
    #[serde(default)]
    reason: Option<String>,
}

/// A decision on what a paused run waits for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionParams {
    /// Approve or reject.
    decision: Decision,
    /// Why; required (not blank) to reject.
    #[serde(default)]
    reason: Option<String>,
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Decision {
    Approve,
    Reject,
}

/// A pending decision, in the approvals list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PendingApproval {
    /// The paused run.
    run_id: String,
    /// Its workflow.
    workflow: String,
    #[serde(flatten)]
    waiting: view::Waiting,
}

/// Every run waiting for a decision.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApprovalList {
    /// Runs waiting for approval, then escalated ones, oldest first.
    items: Vec<PendingApproval>,
}

/// A parameter override's value.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum ScalarParam {
    String(String),
    Number(f64),
    Boolean(bool),
}

/// A run status to filter by.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum RunStatusFilter {
    Queued,
    Running,
    WaitingApproval,
    Escalated,
    Completed,
    Failed,
    Cancelled,
}

/// The order of a run listing.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) enum RunSort {
    #[serde(rename = "-created_at")]
    CreatedDescending,
    #[serde(rename = "created_at")]
    CreatedAscending,
    #[serde(rename = "-updated_at")]
    UpdatedDescending,
    #[serde(rename = "updated_at")]
    UpdatedAscending,
}

const STATUSES: [&str; 7] = [
    "queued",
    "running",
    "waiting_approval",
    "escalated",
    "completed",
    "failed",
    "cancelled",
];

/// Start a run
///
/// Checks the workflow, its parameters and inputs and the agents, creates the run and queues
/// it: 202 with the run `queued` (a worker drives it; follow it with `GET
/// /api/v1/runs/{id}/events`). 503 when the run queue is full. Requires the operator role.
#[utoipa::path(
    post,
    path = "/api/v1/runs",
    operation_id = "start_run",
    tag = "runs",
    request_body = StartRunSchema,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 202, description = "The run was created and queued", body = RunDetail, headers(("Location" = String, description = "The run: `/api/v1/runs/{id}`"))),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn start(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    ApiJson(body): ApiJson<StartRun>,
) -> Result<Response, ApiError> {
    start_run(state, principal, body.workflow, body.options).await
}

/// Execute a workflow
///
/// Starts a run of the workflow `name`, as `POST /api/v1/runs` does: 202 with the run
/// `queued`. Requires the operator role.
#[utoipa::path(
    put,
    path = "/api/v1/workflows/{name}/execute",
    operation_id = "execute_workflow",
    tag = "runs",
    params(("name" = String, Path, description = "A built-in workflow's name or a registered one's")),
    request_body = RunOptions,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 202, description = "The run was created and queued", body = RunDetail, headers(("Location" = String, description = "The run: `/api/v1/runs/{id}`"))),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn execute(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RunOptions>,
) -> Result<Response, ApiError> {
    start_run(state, principal, name, body).await
}

async fn start_run(
    state: AppState,
    principal: Principal,
    workflow: String,
    options: RunOptions,
) -> Result<Response, ApiError> {
    state.pool().check_room().map_err(refused)?;
    let work_state = state.clone();
    let run_id = state
        .blocking("starting a run", move || {
            create_run(&work_state, &principal, &workflow, options)
        })
        .await?;
    state.pool().submit(&run_id, false).map_err(refused)?;
    let detail = read_detail(&state, run_id.clone()).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/runs/{run_id}"))
        .map_err(|err| ApiError::internal("naming the run", err))?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(detail),
    )
        .into_response())
}

fn refused(refused: Refused) -> ApiError {
    match refused {
        Refused::Full { max_queued } => ApiError::Unavailable(format!(
            "the run queue is full ({max_queued} runs wait for a worker); retry later"
        )),
        Refused::Stopping => ApiError::Unavailable("the server is stopping".to_owned()),
    }
}

/// Checks and creates the run, and queues its job in the store (blocking).
fn create_run(
    state: &AppState,
    principal: &Principal,
    name: &str,
    options: RunOptions,
) -> Result<String, ApiError> {
    let host = state.host();
    let engine = host.engine().map_err(|err| ApiError::Unavailable(err.0))?;
    let store = engine.store();
    let (workflow, yaml) = match apiwright_workflow::builtin::load(name) {
        Some(loaded) => (
            loaded.map_err(|err| ApiError::internal("loading a built-in workflow", err))?,
            apiwright_workflow::builtin::source(name)
                .unwrap_or_default()
                .to_owned(),
        ),
        None => {
            let record = store.registered_workflow(name)?.ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no workflow named `{name}`: expected a built-in ({}) or a registered one",
                    apiwright_workflow::builtin::NAMES.join(", ")
                ))
            })?;
            let workflow =
                apiwright_workflow::load_str(&format!("registered:{name}"), &record.yaml)
                    .map_err(|err| ApiError::internal("loading a registered workflow", err))?;
            (workflow, record.yaml)
        }
    };
    let mut params = BTreeMap::new();
    for (key, value) in options.params {
        let text = match value {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            other => {
                return Err(ApiError::Unprocessable(format!(
                    "params.{key}: expected a string, number or boolean, found {}",
                    json_kind(&other)
                )));
            }
        };
        params.insert(key, text);
    }
    let mut inputs: BTreeMap<String, Value> = options
        .inputs
        .into_iter()
        .map(|(key, text)| (key, Value::Text(text)))
        .collect();
    // Agents are checked before the run exists, so a missing key loses nothing.
    let agents = host
        .agents(&workflow, options.agents.as_deref())
        .map_err(|err| ApiError::Unprocessable(err.0))?;
    if let Some(spec) = options.spec {
        match structured_spec(&spec)? {
            Some(structured) => {
                for (parameter, value) in [
                    ("api_id", structured.api.name.clone()),
                    ("api_name", structured.title().to_string()),
                ] {
                    if workflow.parameters.contains_key(parameter) {
                        params.entry(parameter.to_owned()).or_insert(value);
                    }
                }
            }
            None => refuse_prose_for_builtin(&workflow, &agents)?,
        }
        inputs.insert("spec".to_owned(), Value::Text(spec));
    }
    let run_id = apiwright_engine::new_run_id();
    let workspace = state.workspaces_dir().join(&run_id);
    engine
        .start(
            &run_id,
            RunRequest {
                workflow,
                workflow_yaml: yaml,
                params,
                inputs,
                workspace,
                auto_approve: options.auto_approve,
                workflow_dir: None,
                agents: options.agents,
            },
        )
        .map_err(engine_error)?;
    let by = principal_label(store, principal)?;
    store.enqueue_job(&run_id, Some(&by))?;
    Ok(run_id)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A spec that looks structured (a YAML or JSON mapping with an `api` entry) must load; other
/// text is free text for a model agent.
fn structured_spec(text: &str) -> Result<Option<apiwright_spec::Spec>, ApiError> {
    let looks_structured = serde_saphyr::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| value.as_object().map(|object| object.contains_key("api")))
        .unwrap_or(false);
    if !looks_structured {
        return Ok(None);
    }
    apiwright_spec::load_str("spec", text)
        .map(Some)
        .map_err(|err| ApiError::Unprocessable(format!("spec: {err}")))
}

/// Free text needs a model: a built-in role that reads the spec would fail on prose.
fn refuse_prose_for_builtin(
    workflow: &apiwright_workflow::Workflow,
    agents: &BTreeMap<String, apiwright_agents::AnyAgent>,
) -> Result<(), ApiError> {
    let reader = apiwright_engine::builtin_spec_reader(workflow, agents);
    match reader {
        Some(role) => Err(ApiError::Unprocessable(format!(
            "spec: expected a structured spec (YAML or JSON with an `api` entry) for the built-in \
             `{role}`, found free text; free-text requirements need a model agent for that role \
             (\"agents\": \"openai\" or \"anthropic\")"
        ))),
        None => Ok(()),
    }
}

/// Who did it, as runs record it: the user's email (and the API key's id when a key was used).
pub(crate) fn principal_label(
    store: &apiwright_store::Store,
    principal: &Principal,
) -> Result<String, ApiError> {
    let email = store
        .user_by_id(&principal.user_id)?
        .map_or_else(|| principal.user_id.clone(), |user| user.email);
    Ok(match &principal.via {
        crate::auth::Via::Jwt { .. } => email,
        crate::auth::Via::ApiKey { key_id } => format!("{email} (API key {key_id})"),
    })
}

/// The engine's refusals as problems.
pub(crate) fn engine_error(err: EngineError) -> ApiError {
    match err {
        EngineError::UnknownRun(run) => ApiError::NotFound(format!("no run with id `{run}`")),
        EngineError::InvalidRequest(detail) => ApiError::Unprocessable(detail),
        EngineError::NoAgent { .. } => ApiError::Unprocessable(err.to_string()),
        EngineError::Busy { .. } | EngineError::NotWaiting(_) => {
            ApiError::Conflict(err.to_string())
        }
        other => ApiError::internal("running the engine", other),
    }
}

/// List runs
///
/// Runs with filters, in pages: pass `next_cursor` as `cursor` for the next one. Requires the
/// viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    operation_id = "list_runs",
    tag = "runs",
    params(ListParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of runs", body = RunPage),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<RunPage>, ApiError> {
    let query = run_query(&params)?;
    let limit = query.limit;
    let order = query.order;
    let runs = state
        .db()
        .call("listing runs", move |store| {
            // One more than asked tells whether another page follows.
            let mut query = query;
            query.limit += 1;
            Ok(store.server_runs(&query)?)
        })
        .await?;
    let more = runs.len() > limit;
    let runs = &runs[..runs.len().min(limit)];
    let next_cursor = runs.last().filter(|_| more).map(|last| {
        let value = match order {
            RunOrder::Created => last.created_at,
            RunOrder::Updated => last.updated_at,
        };
        encode_cursor(value, &last.id)
    });
    Ok(Json(RunPage {
        items: runs.iter().map(view::summary).collect(),
        next_cursor,
    }))
}

fn run_query(params: &ListParams) -> Result<RunQuery, ApiError> {
    if let Some(status) = &params.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::Unprocessable(format!(
            "status: expected one of {}, found `{status}`",
            STATUSES.join(", ")
        )));
    }
    let (order, descending) = match params.sort.as_deref().unwrap_or("-created_at") {
        "-created_at" => (RunOrder::Created, true),
        "created_at" => (RunOrder::Created, false),
        "-updated_at" => (RunOrder::Updated, true),
        "updated_at" => (RunOrder::Updated, false),
        other => {
            return Err(ApiError::Unprocessable(format!(
                "sort: expected created_at, -created_at, updated_at or -updated_at, found `{other}`"
            )));
        }
    };
    let limit = match &params.limit {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_PAGE).contains(limit))
            .ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "limit: expected a whole number from 1 to {MAX_PAGE}, found `{text}`"
                ))
            })?,
    };
    let after = match &params.cursor {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
            ApiError::Unprocessable(
                "cursor: expected a next_cursor returned by this endpoint, found another value"
                    .to_owned(),
            )
        })?),
    };
    Ok(RunQuery {
        status: params.status.clone(),
        workflow: params.workflow.clone(),
        order,
        descending,
        after,
        limit,
    })
}

/// A cursor is the sort value and id of the page's last run, hex-encoded (opaque to clients).
fn encode_cursor(value: i64, id: &str) -> String {
    format!("{value}:{id}")
        .bytes()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > 400 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(cursor.get(index..index + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (value, id) = text.split_once(':')?;
    Some((value.parse().ok()?, id.to_owned()))
}

async fn read_detail(state: &AppState, run_id: String) -> Result<RunDetail, ApiError> {
    state
        .db()
        .call("reading a run", move |store| {
            view::detail(store, &run_id)?
                .ok_or_else(|| ApiError::NotFound(format!("no run with id `{run_id}`")))
        })
        .await
}

/// Get a run
///
/// The run in full, with its report rebuilt from its events, and an `ETag`: 304 when
/// `If-None-Match` names it. Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}",
    operation_id = "get_run",
    tag = "runs",
    params(
        ("id" = String, Path, description = "The run's id"),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags the client has; 304 when one is current"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The run", body = RunDetail, headers(
            ("ETag" = String, description = "The strong entity tag of this representation"),
            ("Cache-Control" = String, description = "`no-cache`: revalidate with `If-None-Match`"),
        )),
        (status = 304, description = "The client's copy is current", headers(
            ("ETag" = String, description = "The strong entity tag of the current representation"),
        )),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = run_id.clone();
    let fingerprint = state
        .db()
        .point_read(
            "reading a run",
            move |store| Ok(store.run_fingerprint(&id)?),
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no run with id `{run_id}`")))?;
    let rendered = match state.run_details().get(&run_id, &fingerprint) {
        Some(rendered) => rendered,
        None => {
            let detail = read_detail(&state, run_id.clone()).await?;
            let body = serde_json::to_vec(&detail)
                .map_err(|err| ApiError::internal("rendering a run", err))?;
            let rendered = crate::runs::cache::Rendered {
                etag: etag::of(&body),
                body: body.into(),
            };
            // Rendered from a read at or after the fingerprint: if the run moved on in
            // between, the next request sees a new fingerprint and renders again.
            state
                .run_details()
                .put(&run_id, fingerprint, rendered.clone());
            rendered
        }
    };
    Ok(etag::json_response(&headers, rendered.body, &rendered.etag))
}

/// Cancel a run
///
/// 202 when the worker driving the run still has to stop it, 200 when it is cancelled
/// already; 409 when it has completed or failed. The body (`{"reason": "…"}`) is optional.
/// Requires the operator role.
#[utoipa::path(
    post,
    path = "/api/v1/runs/{id}/cancel",
    operation_id = "cancel_run",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    // Optional (an empty body is no reason): `openapi.rs` marks it not required.
    request_body(content = CancelRun, content_type = "application/json"),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The run is cancelled", body = RunDetail),
        (status = 202, description = "The cancellation is recorded; the worker is stopping the run", body = RunDetail),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    Path(run_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params: CancelRun = optional_json(&body)?;
    let reason = params
        .reason
        .map(|reason| reason.trim().to_owned())
        .filter(|reason| !reason.is_empty())
        .unwrap_or_else(|| "no reason given".to_owned());
    let work_state = state.clone();
    let id = run_id.clone();
    let accepted = state
        .blocking("cancelling a run", move || {
            cancel_run(&work_state, &principal, &id, &reason)
        })
        .await?;
    let detail = read_detail(&state, run_id).await?;
    let status = if accepted {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(detail)).into_response())
}

/// Records the cancellation; true when a worker still has to stop (202), false when the run
/// is cancelled already (200).
fn cancel_run(
    state: &AppState,
    principal: &Principal,
    run_id: &str,
    reason: &str,
) -> Result<bool, ApiError> {
    let mut engine = state
        .host()
        .engine()
        .map_err(|err| ApiError::Unavailable(err.0))?;
    let run = engine
        .store()
        .run(run_id)?
        .ok_or_else(|| ApiError::NotFound(format!("no run with id `{run_id}`")))?;
    if matches!(
        run.status,
        apiwright_store::RunStatus::Completed | apiwright_store::RunStatus::Failed
    ) {
        return Err(ApiError::Conflict(format!(
            "run `{run_id}` cannot be cancelled: it is already {}",
            run.status.as_str()
        )));
    }
    let by = principal_label(engine.store(), principal)?;
    let stop = Stop::Cancel {
        by: by.clone(),
        reason: reason.to_owned(),
    };
    let withdrawn = state.pool().withdraw(run_id, stop);
    if withdrawn == Withdrawn::Stopping {
        // The worker records the cancellation once its drive has stopped.
        return Ok(true);
    }
    if let Err(err) = engine.cancel(run_id, &by, reason) {
        if withdrawn == Withdrawn::Dequeued {
            // Not cancelled after all: it waits for a worker again.
            let _ = state.pool().submit(run_id, true);
        }
        return Err(engine_error(err));
    }
    engine.store().cancel_job(run_id, &by, reason)?;
    engine
        .store()
        .set_job_state(run_id, apiwright_store::JobState::Done, None)?;
    state.run_changed(run_id);
    Ok(false)
}

fn optional_json<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|err| ApiError::Unprocessable(format!("body: {err}")))
}

/// Resume a run
///
/// Queues an interrupted run (`queued` or `running`, driven by no live process) again: 202.
/// 409 when it is queued or running here already, waits for a decision, or has ended.
/// Requires the operator role.
#[utoipa::path(
    post,
    path = "/api/v1/runs/{id}/resume",
    operation_id = "resume_run",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 202, description = "The run is queued again", body = RunDetail),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn resume(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    state.pool().check_room().map_err(refused)?;
    if state.pool().holding(&run_id) != Holding::No {
        return Err(ApiError::Conflict(format!(
            "run `{run_id}` is already queued or running in this server"
        )));
    }
    let id = run_id.clone();
    state
        .db()
        .call("resuming a run", move |store| {
            let run = store
                .server_run(&id)?
                .ok_or_else(|| ApiError::NotFound(format!("no run with id `{id}`")))?;
            match run.status.as_str() {
                "running" | "queued" => {}
                "waiting_approval" | "escalated" => {
                    return Err(ApiError::Conflict(format!(
                        "run `{id}` waits for a decision: answer it with POST /api/v1/runs/{id}/approvals/ID"
                    )));
                }
                other => {
                    return Err(ApiError::Conflict(format!(
                        "run `{id}` cannot be resumed: it is {other}"
                    )));
                }
            }
            if let Some(owner) = apiwright_store::held_elsewhere(run.owner_pid) {
                return Err(ApiError::Conflict(format!(
                    "run `{id}` is being executed by process {owner}"
                )));
            }
            let by = principal_label(store, &principal)?;
            store.enqueue_job(&id, Some(&by))?;
            Ok(())
        })
        .await?;
    state.pool().submit(&run_id, false).map_err(refused)?;
    let detail = read_detail(&state, run_id).await?;
    Ok((StatusCode::ACCEPTED, Json(detail)).into_response())
}

/// List pending approvals
///
/// Every run waiting for a decision: an approval gate or an escalation. Requires the viewer
/// role.
#[utoipa::path(
    get,
    path = "/api/v1/approvals",
    operation_id = "list_approvals",
    tag = "runs",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The pending decisions", body = ApprovalList),
        (status = 401, response = openapi::Unauthorized),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn approvals(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
) -> Result<Json<ApprovalList>, ApiError> {
    let items = state
        .db()
        .call("listing approvals", |store| {
            let mut items = Vec::new();
            for status in ["waiting_approval", "escalated"] {
                let waiting = store.server_runs(&RunQuery {
                    status: Some(status.to_owned()),
                    workflow: None,
                    order: RunOrder::Created,
                    descending: false,
                    after: None,
                    limit: 1000,
                })?;
                for run in waiting {
                    if let Some(replayed) = view::replay(store, &run.id)?
                        && let Some(waiting) = view::waiting(&replayed.machine)
                    {
                        items.push(PendingApproval {
                            run_id: run.id.clone(),
                            workflow: run.workflow_name.clone(),
                            waiting,
                        });
                    }
                }
            }
            Ok(items)
        })
        .await?;
    Ok(Json(ApprovalList { items }))
}

/// Decide an approval or escalation
///
/// Approves or rejects what the run waits for (a reason is required to reject), then queues
/// the run to continue. 409 when the run does not wait for `gate`. Requires the operator
/// role.
#[utoipa::path(
    post,
    path = "/api/v1/runs/{id}/approvals/{gate}",
    operation_id = "decide_approval",
    tag = "runs",
    params(
        ("id" = String, Path, description = "The run's id"),
        ("gate" = String, Path, description = "The approval gate's or escalation's id (`waiting.id` of the run)"),
    ),
    request_body = DecisionParams,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The decision is recorded", body = RunDetail),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn decide(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    Path((run_id, target)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecisionParams>,
) -> Result<Response, ApiError> {
    let reason = body
        .reason
        .map(|reason| reason.trim().to_owned())
        .filter(|reason| !reason.is_empty());
    if body.decision == Decision::Reject && reason.is_none() {
        return Err(ApiError::Unprocessable(
            "reason: expected a reason for a rejection, found none".to_owned(),
        ));
    }
    let work_state = state.clone();
    let id = run_id.clone();
    state
        .blocking("recording a decision", move || {
            let mut engine = work_state
                .host()
                .engine()
                .map_err(|err| ApiError::Unavailable(err.0))?;
            if engine.store().run(&id)?.is_none() {
                return Err(ApiError::NotFound(format!("no run with id `{id}`")));
            }
            let by = principal_label(engine.store(), &principal)?;
            engine
                .decide(
                    &id,
                    &target,
                    body.decision == Decision::Approve,
                    &by,
                    reason,
                )
                .map_err(engine_error)?;
            engine.store().enqueue_job(&id, None)?;
            Ok(())
        })
        .await?;
    state.run_changed(&run_id);
    // The decision is recorded even when the queue is full: the run then waits, resumable.
    if let Err(refusal) = state.pool().submit(&run_id, true) {
        tracing::warn!(run_id = %run_id, ?refusal, "decided run not queued");
    }
    let detail = read_detail(&state, run_id).await?;
    Ok((StatusCode::OK, Json(detail)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = encode_cursor(1_700_000_000_123, "r17000abc");
        assert_eq!(
            decode_cursor(&cursor),
            Some((1_700_000_000_123, "r17000abc".to_owned()))
        );
        for garbage in ["", "zz", "abc", "3a", &"ab".repeat(300)] {
            assert_eq!(decode_cursor(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn list_parameters_are_checked_with_the_field_named() {
        let params = |status: Option<&str>, sort: Option<&str>, limit: Option<&str>| ListParams {
            status: status.map(str::to_owned),
            workflow: None,
            sort: sort.map(str::to_owned),
            limit: limit.map(str::to_owned),
            cursor: None,
        };
        let query = run_query(&params(Some("queued"), Some("updated_at"), Some("5"))).unwrap();
        assert_eq!(query.order, RunOrder::Updated);
        assert!(!query.descending);
        assert_eq!(query.limit, 5);
        for (bad, field) in [
            (params(Some("done"), None, None), "status:"),
            (params(None, Some("name"), None), "sort:"),
            (params(None, None, Some("0")), "limit:"),
            (params(None, None, Some("201")), "limit:"),
            (params(None, None, Some("ten")), "limit:"),
        ] {
            let err = run_query(&bad).unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
    }

    #[test]
    fn structured_specs_must_load_and_prose_passes() {
        assert!(
            structured_spec("Build me a bookstore API.")
                .unwrap()
                .is_none()
        );
        assert!(structured_spec("just: a mapping\n").unwrap().is_none());
        let err = structured_spec("api: {}\n").unwrap_err().to_string();
        assert!(err.starts_with("spec:"), "{err}");
    }
}
