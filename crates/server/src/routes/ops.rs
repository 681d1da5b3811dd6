//! Operations endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::Response;

use super::openapi;
use crate::auth::Authorized;
use crate::auth::Viewer;
use crate::problem::ApiError;
use crate::state::AppState;

/// Liveness
///
/// 200 while the process serves requests. Public.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "ops",
    responses(
        (status = 200, description = "Alive", body = String, content_type = "text/plain", example = "ok\n"),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness
///
/// 200 when the state database answers a query, 503 otherwise. Public.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain", example = "ready\n"),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.db().probe().await?;
    Ok("ready\n")
}

/// Metrics
///
/// Request counts and latencies in the Prometheus text format (labels: method, route
/// template, status). Requires the viewer role, e.g. an API key as the scraper's bearer
/// token.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "ops",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
        (status = 401, response = openapi::Unauthorized),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
) -> Result<Response, ApiError> {
    let by_status = state
        .db()
        .call("counting runs", |store| Ok(store.run_status_counts()?))
        .await?;
    let (queued, running) = state.pool().load();
    let mut text = state.metrics().render();
    crate::metrics::render_gauges(&mut text, &by_status, queued, running);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
