//! Workflows: for now the built-in ones (registering workflows comes with the runs API).

use axum::Json;
use serde::Serialize;

use crate::auth::Authorized;
use crate::auth::Viewer;
use crate::problem::ApiError;

#[derive(Serialize)]
pub(crate) struct WorkflowSummary {
    name: String,
    description: String,
    phases: usize,
    builtin: bool,
}

#[derive(Serialize)]
pub(crate) struct WorkflowListResponse {
    items: Vec<WorkflowSummary>,
}

/// `GET /api/v1/workflows` (viewer).
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
