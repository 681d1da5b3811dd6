//! RFC 9457 `application/problem+json`: the one error format of every response.
//!
//! Handlers and extractors fail with [`ApiError`]; its `IntoResponse` attaches a [`Problem`]
//! to an empty response. The [`render`] middleware, outside every route, turns that marker
//! — or, for errors produced by axum or a layer (405, a body over the limit, a panic), the
//! bare status — into the problem body, with the request path and request id. 5xx details are
//! logged under the request id and never sent.

use axum::extract::Request;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::headers::RequestId;
use crate::state::AppState;

/// The media type of problem bodies.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// The status and client-facing detail of an error response, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    detail: String,
}

// `render` serializes exactly this type, and the OpenAPI document names it `Problem` (its doc
// comment is the schema's description).
/// An RFC 9457 problem: the body of every error response (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub(crate) struct ProblemBody {
    /// Always `about:blank`: the status code is the problem type.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    problem_type: &'static str,
    /// The reason phrase of the status code.
    #[schema(example = "Not Found")]
    title: &'static str,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599, example = 404)]
    status: u16,
    /// What went wrong, for a person; for a 5xx only a pointer to the server log.
    #[schema(example = "no route matches GET /api/v1/nope")]
    detail: String,
    /// The path of the request.
    #[schema(example = "/api/v1/nope")]
    instance: String,
    /// The id of the request (also in the `x-request-id` response header), under which the
    /// server logs the details of a 5xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "req_0123456789abcdef")]
    request_id: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No credentials, or credentials that are not valid (401).
    #[error("{detail}")]
    Unauthorized {
        /// What was wrong with the credentials.
        detail: String,
        /// Whether credentials were presented (then `error="invalid_token"` is added).
        presented: Credentials,
    },
    /// The principal's role is below the route's (403).
    #[error("this operation needs the {needed} role; the caller has {found}")]
    Forbidden { needed: Role, found: Role },
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The body is not well-formed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the resource's state (409).
    #[error("{0}")]
    Conflict(String),
    /// The body is well-formed but its values are not acceptable (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The body is not JSON, or not declared as JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body exceeds the limit (413).
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Too many requests (429, with `Retry-After`).
    #[error(
        "rate limit of {per_minute} requests per minute per {scope} exceeded; retry in {retry_after_secs} s"
    )]
    RateLimited {
        scope: &'static str,
        per_minute: u32,
        retry_after_secs: u64,
    },
    /// A dependency is not available (503).
    #[error("{0}")]
    Unavailable(String),
    /// Our fault (500): logged with its cause, never shown.
    #[error("internal error while {context}: {source}")]
    Internal {
        context: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Whether a request carried credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials {
    Missing,
    Invalid,
}

impl ApiError {
    pub(crate) fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ApiError {
        ApiError::Internal {
            context,
            source: source.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<apiwright_store::StoreError> for ApiError {
    fn from(source: apiwright_store::StoreError) -> ApiError {
        ApiError::internal("using the state database", source)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal { .. } => {
                // The span of the request carries its id.
                tracing::error!(error = %self, "request failed");
                None
            }
            _ => Some(self.to_string()),
        };
        let mut response = status.into_response();
        match &self {
            ApiError::Unauthorized { presented, .. } => {
                let challenge = match presented {
                    Credentials::Missing => "Bearer",
                    Credentials::Invalid => "Bearer error=\"invalid_token\"",
                };
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::RateLimited {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        if let Some(detail) = detail {
            response.extensions_mut().insert(Problem { detail });
        }
        response
    }
}

/// The detail of an error response that carries no [`Problem`].
fn default_detail(status: StatusCode, method: &str, path: &str, body_limit: usize) -> String {
    match status {
        StatusCode::NOT_FOUND => format!("no route matches {method} {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("{method} is not allowed on {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body is larger than the limit of {body_limit} bytes")
        }
        _ if status.is_server_error() => {
            "an internal error occurred; the server log has the details under this request id"
                .to_owned()
        }
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    }
}

/// Renders every error response (4xx, 5xx) as problem+json.
pub(crate) async fn render(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let request_id = request.extensions().get::<RequestId>().cloned();
    let mut response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let detail = match response.extensions_mut().remove::<Problem>() {
        Some(problem) => problem.detail,
        None => default_detail(status, &method, &path, state.body_limit()),
    };
    let body = ProblemBody {
        problem_type: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        instance: path,
        request_id: request_id.map(|RequestId(id)| id),
    };
    let body = match serde_json::to_string(&body) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "serializing a problem failed");
            String::new()
        }
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, axum::body::Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_of_bare_statuses_name_the_request_and_hide_internals() {
        assert_eq!(
            default_detail(StatusCode::NOT_FOUND, "GET", "/nope", 10),
            "no route matches GET /nope"
        );
        assert_eq!(
            default_detail(StatusCode::PAYLOAD_TOO_LARGE, "POST", "/x", 1024),
            "the request body is larger than the limit of 1024 bytes"
        );
        assert!(default_detail(StatusCode::BAD_GATEWAY, "GET", "/", 0).contains("request id"));
        assert_eq!(
            default_detail(StatusCode::CONFLICT, "GET", "/", 0),
            "conflict"
        );
    }

    #[test]
    fn internal_errors_carry_no_detail_and_unauthorized_has_a_challenge() {
        let response = ApiError::internal("testing", std::io::Error::other("secret path /etc"))
            .into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.extensions().get::<Problem>().is_none());
        let response = ApiError::Unauthorized {
            detail: "missing".into(),
            presented: Credentials::Invalid,
        }
        .into_response();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
    }
}
