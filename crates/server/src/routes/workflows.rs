//! Workflows: for now the built-in ones (registering workflows comes with the runs API).

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi;

use crate::auth::Authorized;
use crate::auth::Viewer;
use crate::problem::ApiError;

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

/// List workflows
///
/// The workflows that runs can use (for now the built-in ones). Requires the viewer role.
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
pub(crate) async fn list(_: Authorized<Viewer>) -> Result<Json<WorkflowListResponse>, ApiError> {
    let mut items = Vec::with_capacity(apiwright_workflow::builtin::NAMES.len());
    for name in apiwright_workflow::builtin::NAMES {
        let workflow = apiwright_workflow::builtin::load(name)
            .ok_or_else(|| {
                ApiError::internal(
                    "loading a built-in workflow",
                    format!("`{name}` has no source"),
                )
            })?
            .map_err(|err| ApiError::internal("loading a built-in workflow", err.to_string()))?;
        items.push(WorkflowSummary {
            name: workflow.name,
            description: workflow.description,
            phases: workflow.phases.len(),
            builtin: true,
        });
    }
    Ok(Json(WorkflowListResponse { items }))
}
