//! Operational endpoints: `GET /health` (liveness and database readiness), `GET /metrics`
//! (Prometheus text), and the problem responses for unknown paths and methods.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::metrics::PoolUsage;

/// `GET /health`: 200 when the database answers, 503 otherwise.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state
        .db
        .call(|conn| Ok(conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?))
        .await;
    match database {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok" })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "degraded", "database": "unavailable" })),
        ),
    }
}

/// `GET /metrics`: request counts, latency histograms and the database pool's usage in the
/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pool = PoolUsage {
        in_use: state.db.connections_in_use(),
        max: state.db.max_connections(),
    };
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(pool),
    )
}

/// Any path the service does not have.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// A known path with a method it does not support.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
