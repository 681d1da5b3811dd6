//! The route table (one flat list) and the layers every request passes through.
//!
//! Public routes — the only ones that do not extract a `Principal` — are `/healthz`,
//! `/readyz`, `POST /api/v1/auth/login`, `POST /api/v1/auth/refresh` (which authenticates
//! with the refresh token itself), and the dashboard page `/` with its `/assets/{file}` (they
//! hold no data: the page's script logs in through the API). Every other handler takes an
//! `Authorized<ROLE>`, which authenticates and checks the role before anything else is
//! extracted. The API description is public too: `GET /openapi.json` and the Swagger UI under
//! `/docs`.
//!
//! Every route here is documented in `openapi.rs` (`tests/it/contract.rs` checks both ways).

mod analytics;
mod api_keys;
mod auth;
mod dashboard;
mod etag;
mod events;
mod json;
mod memory;
pub(crate) mod openapi;
mod ops;
mod query;
mod runs;
mod users;
mod workflows;

pub(crate) use analytics::RunFiguresCache;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header;
use axum::middleware::Next;
use axum::middleware::from_fn;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::delete;
use axum::routing::get;
use axum::routing::post;
use axum::routing::put;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::AllowOrigin;
use tower_http::cors::CorsLayer;

use crate::headers;
use crate::metrics;
use crate::problem;
use crate::problem::ApiError;
use crate::rate_limit;
use crate::state::AppState;

/// The application: every route, with its layers. Serve it with connect info
/// (`into_make_service_with_connect_info::<SocketAddr>`) for the per-IP rate limit to apply.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/", get(dashboard::index))
        .route("/assets/{file}", get(dashboard::asset))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route(
            "/api/v1/api-keys",
            post(api_keys::create).get(api_keys::list),
        )
        .route("/api/v1/api-keys/{id}", delete(api_keys::revoke))
        .route("/api/v1/users", post(users::create).get(users::list))
        .route(
            "/api/v1/workflows",
            get(workflows::list).post(workflows::register),
        )
        .route("/api/v1/workflows/validate", post(workflows::check))
        .route("/api/v1/workflows/{name}", get(workflows::get))
        .route("/api/v1/workflows/{name}/execute", put(runs::execute))
        .route("/api/v1/runs", get(runs::list).post(runs::start))
        .route("/api/v1/runs/{id}", get(runs::get))
        .route("/api/v1/runs/{id}/cancel", post(runs::cancel))
        .route("/api/v1/runs/{id}/resume", post(runs::resume))
        .route("/api/v1/runs/{id}/events", get(events::stream))
        .route("/api/v1/runs/{id}/approvals/{gate}", post(runs::decide))
        .route("/api/v1/approvals", get(runs::approvals))
        .route("/api/v1/memory", get(memory::list))
        .route("/api/v1/memory/search", get(memory::search))
        .route(
            "/api/v1/memory/entries/{*key}",
            get(memory::get).put(memory::put).delete(memory::delete),
        )
        .route("/api/v1/memory/history/{*key}", get(memory::history))
        .route("/api/v1/analytics/dashboard", get(analytics::dashboard))
        .route("/openapi.json", get(openapi::document))
        .merge(openapi::swagger_ui())
        .fallback(not_found);

    let cors = cors_layer(state.cors_origins());
    // Outermost last: request id → security headers → problem rendering → metrics → panic
    // catcher → CORS → body limit → per-IP limit → handler.
    let routes = routes
        .layer(from_fn_with_state(state.clone(), rate_limit::per_ip))
        .layer(from_fn_with_state(state.clone(), body_limit))
        .layer(DefaultBodyLimit::max(state.body_limit()));
    let routes = match cors {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    routes
        .layer(CatchPanicLayer::custom(panicked))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(from_fn_with_state(state.clone(), problem::render))
        .layer(from_fn(headers::security_headers))
        .layer(from_fn(headers::request_id))
        .with_state(state)
}

async fn not_found() -> Response {
    // `problem::render` writes the detail (it knows the method and path).
    axum::http::StatusCode::NOT_FOUND.into_response()
}

fn panicked(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// No CORS headers at all unless origins are configured.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                axum::http::Method::GET,
                axum::http::Method::POST,
                axum::http::Method::PUT,
                axum::http::Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                axum::http::HeaderName::from_static("x-api-key"),
                headers::X_REQUEST_ID,
            ])
            .expose_headers([headers::X_REQUEST_ID, header::RETRY_AFTER]),
    )
}

/// 413 up front for a declared `Content-Length` over the limit (a chunked body is cut by
/// `DefaultBodyLimit` when a handler reads it).
async fn body_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    let limit = state.body_limit();
    match declared {
        Some(length) if length > u64::try_from(limit).unwrap_or(u64::MAX) => {
            ApiError::PayloadTooLarge { limit }.into_response()
        }
        _ => next.run(request).await,
    }
}
