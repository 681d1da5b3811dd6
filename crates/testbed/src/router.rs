//! Every route of the service in one flat list, and the layers every response passes:
//! security headers, the rate limiter, the body limit, problem answers for unknown paths and
//! methods (and, with the `verbose-error` flaw, internals copied into error bodies).

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::extract::State;
use axum::middleware;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use axum::routing::post;
use http::HeaderValue;
use http::Method;
use http::header;
use http_body_util::BodyExt;
use serde_json::Value;
use serde_json::json;

use crate::AppState;
use crate::Flaw;
use crate::admin;
use crate::auth;
use crate::error::ApiError;
use crate::error::Internal;
use crate::extract::BODY_LIMIT_BYTES;
use crate::notes;

/// The OpenAPI 3.1 document of the clean service.
pub const OPENAPI_DOCUMENT: &str = include_str!("openapi.json");

/// Every `(method, path template)` the clean service serves, as the router below mounts them.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/notes"),
    ("POST", "/api/v1/notes"),
    ("GET", "/api/v1/notes/{id}"),
    ("PATCH", "/api/v1/notes/{id}"),
    ("DELETE", "/api/v1/notes/{id}"),
    ("GET", "/api/v1/admin/users"),
];

/// How much of an oversized body is read (and dropped) before a 413 closes the connection.
const DRAIN_LIMIT_BYTES: usize = 1024 * 1024;

/// The path the `undocumented-route` flaw answers on (through the fallback, not a route).
pub const DEBUG_PATH: &str = "/api/v1/debug";

pub(crate) fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_document))
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/notes", get(notes::list).post(notes::create))
        .route(
            "/api/v1/notes/{id}",
            get(notes::read).patch(notes::update).delete(notes::delete),
        )
        .route("/api/v1/admin/users", get(admin::users))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::limit::rate_limit,
        ))
        .layer(middleware::from_fn(read_whole_body));
    let routes = if state.has(Flaw::VerboseError) {
        routes.layer(middleware::from_fn(verbose_errors))
    } else {
        routes
    };
    routes
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// `{"status":"ok"}`, or a 503 problem with the `unhealthy` flaw.
async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.has(Flaw::Unhealthy) {
        return Err(ApiError::service_unavailable("the service is not healthy"));
    }
    Ok(Json(json!({ "status": "ok" })))
}

async fn openapi_document() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_DOCUMENT,
    )
}

async fn fallback(State(state): State<AppState>, method: Method, request: Request) -> Response {
    if state.has(Flaw::UndocumentedRoute) && request.uri().path() == DEBUG_PATH {
        if method == Method::GET || method == Method::HEAD {
            return admin::debug_dump(&state).into_response();
        }
        return ApiError::method_not_allowed().into_response();
    }
    ApiError::not_found("no such resource").into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Reads every request body before anything answers, so an answer that ignores the body (a
/// 401, a 404, a 429, a `DELETE` sent with a body) leaves no unread bytes behind, which would
/// make the server drop a keep-alive connection that the client is about to reuse.
/// A body over the limit is read on and discarded up to [`DRAIN_LIMIT_BYTES`], so the client
/// gets to read its 413 instead of a broken pipe.
async fn read_whole_body(request: Request, next: Next) -> Response {
    let (parts, mut body) = request.into_parts();
    let mut bytes = Vec::new();
    let mut seen = 0_usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                let api_error =
                    ApiError::bad_request("the request body could not be read").with_source(error);
                return closing(api_error.into_response());
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= BODY_LIMIT_BYTES {
            bytes.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT_BYTES {
            return closing(ApiError::payload_too_large().into_response());
        }
    }
    if seen > BODY_LIMIT_BYTES {
        return ApiError::payload_too_large().into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Marks a response after which the connection cannot be reused (its request is unread).
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The `verbose-error` flaw: copies what [`ApiError`] kept out of an error body back into it.
async fn verbose_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let Some(internal) = response.extensions().get::<Internal>().cloned() else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT_BYTES).await else {
        return ApiError::internal("error body unreadable").into_response();
    };
    let Ok(mut problem) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if let Some(members) = problem.as_object_mut() {
        members.insert(
            "debug".to_owned(),
            json!({
                "error": internal.error,
                "sql": internal.sql,
                "backtrace": [
                    format!("at {}:{}", internal.location.file(), internal.location.line()),
                    "at tokio::runtime::task::harness::poll_future (tokio-1.54.1/src/runtime/task/harness.rs:473)",
                ],
            }),
        );
    }
    let body = problem.to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
