//! Operations endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::Response;

use crate::auth::Authorized;
use crate::auth::Viewer;
use crate::problem::ApiError;
use crate::state::AppState;

/// `GET /healthz` (public): 200 while the process serves requests.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz` (public): 200 when the state database answers a query, 503 otherwise.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.db().probe().await?;
    Ok("ready\n")
}

/// `GET /metrics` (viewer, e.g. an API key in the scraper's bearer token): Prometheus text.
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
