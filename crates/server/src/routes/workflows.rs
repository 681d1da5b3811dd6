//! Workflows: the built-in ones and those registered through the API — list, get (with an
//! ETag), register from YAML, validate without registering.

use axum::Json;
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
use utoipa::ToSchema;

use super::openapi;

use super::etag;
use super::json::ApiJson;
use crate::auth::Authorized;
use crate::auth::Operator;
use crate::auth::Viewer;
use crate::problem::ApiError;
use crate::state::AppState;

/// A workflow, without its phases.
#[derive(Serialize, ToSchema)]
pub(crate) struct WorkflowSummary {
    /// The workflow's name.
    #[schema(example = "greenfield")]
    name: String,
    /// What the workflow does.
    description: String,
    /// How many phases it has.
    phases: usize,
    /// Whether it ships with apiwright.
    builtin: bool,
}

/// The workflows.
#[derive(Serialize, ToSchema)]
pub(crate) struct WorkflowListResponse {
    /// The workflows, built-in ones first.
    items: Vec<WorkflowSummary>,
}

/// One workflow in full: its definition parsed (`definition`) and as written (`yaml`).
#[derive(Serialize, ToSchema)]
pub(crate) struct WorkflowDetail {
    /// The workflow's name.
    #[schema(example = "greenfield")]
    name: String,
    /// What the workflow does.
    description: String,
    /// Whether it ships with apiwright.
    builtin: bool,
    /// Who registered it (none for built-ins).
    registered_by: Option<String>,
    /// When (RFC 3339; none for built-ins).
    registered_at: Option<String>,
    /// The definition as written.
    yaml: String,
    /// The definition as parsed: roles, phases, steps and gates.
    #[schema(value_type = Object)]
    definition: apiwright_workflow::Workflow,
}

/// A workflow definition, as YAML text.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkflowSource {
    /// The workflow definition (YAML).
    #[schema(example = "name: my-workflow\ndescription: …\nagents: […]\nphases: […]\n")]
    yaml: String,
}

/// What validation found: every problem, positioned.
#[derive(Serialize, ToSchema)]
pub(crate) struct ValidationReport {
    /// Whether the definition loads.
    valid: bool,
    /// The workflow's name when it is valid.
    name: Option<String>,
    /// Every problem found (empty when valid).
    errors: Vec<Problem>,
}

/// A problem of a workflow definition, at its line and column (1-based).
#[derive(Serialize, ToSchema)]
#[schema(as = WorkflowProblem)]
pub(crate) struct Problem {
    /// The line (1-based).
    line: u64,
    /// The column (1-based).
    column: u64,
    /// What is wrong.
    message: String,
}

/// A registered workflow's name (its URL is in `Location`).
#[derive(ToSchema)]
#[allow(dead_code)] // The handler writes the same object with `json!`.
pub(crate) struct RegisteredWorkflow {
    /// The name it is registered under (the definition's `name`).
    name: String,
}

fn builtin(name: &str) -> Result<Option<(apiwright_workflow::Workflow, &'static str)>, ApiError> {
    match (
        apiwright_workflow::builtin::load(name),
        apiwright_workflow::builtin::source(name),
    ) {
        (Some(loaded), Some(source)) => Ok(Some((
            loaded.map_err(|err| ApiError::internal("loading a built-in workflow", err))?,
            source,
        ))),
        _ => Ok(None),
    }
}

/// List workflows
///
/// The workflows that runs can use: the built-in ones, then the registered ones by name. Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/workflows",
    operation_id = "list_workflows",
    tag = "workflows",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The workflows", body = WorkflowListResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
) -> Result<Json<WorkflowListResponse>, ApiError> {
    let mut items = Vec::new();
    for name in apiwright_workflow::builtin::NAMES {
        let Some((workflow, _)) = builtin(name)? else {
            continue;
        };
        items.push(WorkflowSummary {
            name: workflow.name,
            description: workflow.description,
            phases: workflow.phases.len(),
            builtin: true,
        });
    }
    let registered = state
        .db()
        .call("listing workflows", |store| {
            Ok(store.registered_workflows()?)
        })
        .await?;
    for record in registered {
        let workflow = apiwright_workflow::load_str(&record.name, &record.yaml)
            .map_err(|err| ApiError::internal("loading a registered workflow", err))?;
        items.push(WorkflowSummary {
            name: record.name,
            description: record.description,
            phases: workflow.phases.len(),
            builtin: false,
        });
    }
    Ok(Json(WorkflowListResponse { items }))
}

/// Get a workflow
///
/// A built-in or registered workflow in full, with an `ETag`: 304 when `If-None-Match`
/// names it. Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/workflows/{name}",
    operation_id = "get_workflow",
    tag = "workflows",
    params(
        ("name" = String, Path, description = "The workflow's name"),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags the client has; 304 when one is current"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The workflow", body = WorkflowDetail, headers(
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
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let detail = match builtin(&name)? {
        Some((workflow, yaml)) => WorkflowDetail {
            name: workflow.name.clone(),
            description: workflow.description.clone(),
            builtin: true,
            registered_by: None,
            registered_at: None,
            yaml: yaml.to_owned(),
            definition: workflow,
        },
        None => {
            let wanted = name.clone();
            let record = state
                .db()
                .call("reading a workflow", move |store| {
                    Ok(store.registered_workflow(&wanted)?)
                })
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no workflow named `{name}`")))?;
            let workflow = apiwright_workflow::load_str(&record.name, &record.yaml)
                .map_err(|err| ApiError::internal("loading a registered workflow", err))?;
            WorkflowDetail {
                name: record.name,
                description: record.description,
                builtin: false,
                registered_by: Some(record.registered_by),
                registered_at: Some(crate::runs::view::rfc3339(record.registered_at)),
                yaml: record.yaml,
                definition: workflow,
            }
        }
    };
    let body = serde_json::to_vec(&detail)
        .map_err(|err| ApiError::internal("rendering a workflow", err))?;
    let tag = etag::of(&body);
    Ok(etag::json_response(&headers, body, &tag))
}

fn validate(yaml: &str) -> Result<apiwright_workflow::Workflow, Vec<Problem>> {
    apiwright_workflow::load_str("workflow", yaml).map_err(|err| {
        err.diagnostics()
            .into_iter()
            .map(|diagnostic| Problem {
                line: diagnostic.line,
                column: diagnostic.column,
                message: diagnostic.message.clone(),
            })
            .collect()
    })
}

/// Validate a workflow
///
/// Every problem of a definition, with line and column, registering nothing: 200 whether or
/// not it is valid. Requires the viewer role.
#[utoipa::path(
    post,
    path = "/api/v1/workflows/validate",
    operation_id = "validate_workflow",
    tag = "workflows",
    request_body = WorkflowSource,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "What validation found", body = ValidationReport),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn check(
    _: Authorized<Viewer>,
    ApiJson(source): ApiJson<WorkflowSource>,
) -> Json<ValidationReport> {
    Json(match validate(&source.yaml) {
        Ok(workflow) => ValidationReport {
            valid: true,
            name: Some(workflow.name),
            errors: Vec::new(),
        },
        Err(errors) => ValidationReport {
            valid: false,
            name: None,
            errors,
        },
    })
}

/// Register a workflow
///
/// Registers a valid definition under its `name`: 201 with `Location`. 409 when the name is a
/// built-in's or taken; 422 with every problem when the definition does not load. Requires
/// the operator role.
#[utoipa::path(
    post,
    path = "/api/v1/workflows",
    operation_id = "register_workflow",
    tag = "workflows",
    request_body = WorkflowSource,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "The workflow is registered", body = RegisteredWorkflow, headers(
            ("Location" = String, description = "The workflow: `/api/v1/workflows/{name}`"),
        )),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 409, response = openapi::Conflict),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    ApiJson(source): ApiJson<WorkflowSource>,
) -> Result<Response, ApiError> {
    let workflow = validate(&source.yaml).map_err(|errors| {
        ApiError::Unprocessable(format!(
            "yaml: the workflow does not load: {}",
            errors
                .iter()
                .map(|problem| format!("{}:{}: {}", problem.line, problem.column, problem.message))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let name = workflow.name.clone();
    if apiwright_workflow::builtin::source(&name).is_some() {
        return Err(ApiError::Conflict(format!(
            "`{name}` is a built-in workflow's name; choose another"
        )));
    }
    let record_name = name.clone();
    state
        .db()
        .call("registering a workflow", move |store| {
            let by = super::runs::principal_label(store, &principal)?;
            let record = apiwright_store::WorkflowRecord {
                name: record_name.clone(),
                description: workflow.description.clone(),
                yaml: source.yaml,
                registered_by: by,
                registered_at: apiwright_store::now_ms(),
            };
            store.register_workflow(&record).map_err(|err| match err {
                apiwright_store::StoreError::Duplicate { .. } => ApiError::Conflict(format!(
                    "a workflow named `{record_name}` is registered already"
                )),
                other => other.into(),
            })
        })
        .await?;
    let location = HeaderValue::from_str(&format!("/api/v1/workflows/{name}"))
        .map_err(|err| ApiError::internal("naming the workflow", err))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(serde_json::json!({ "name": name })),
    )
        .into_response())
}
