//! Errors: [`TestbedError`] for starting the service, [`ApiError`] for answering a request.
//!
//! Every HTTP error is an RFC 9457 `application/problem+json` body built here, so handlers,
//! extractors, the rate limiter and the fallbacks all answer in one format.
//! What went wrong internally travels beside the response as [`Internal`] (in the response
//! extensions); the clean service only logs it, the `verbose-error` flaw copies it into the body.

use std::panic::Location;

use axum::Json;
use axum::response::IntoResponse;
use axum::response::Response;
use http::HeaderValue;
use http::StatusCode;
use http::header;
use serde::Serialize;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// The database could not be opened or migrated. Not retryable.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The listener failed. Not retryable.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The configuration cannot be used (for example an invalid admin account). Not retryable.
    #[error("configuration: {0}")]
    Config(String),
}

/// The `errors` member of a 422 problem: one entry per offending field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field, as a dotted path into the request (`title`, `limit`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// What the service knows about an error but must not say: the underlying error text, the
/// SQL statement involved and where in the source the error was raised.
#[derive(Debug, Clone)]
pub(crate) struct Internal {
    pub(crate) error: String,
    pub(crate) sql: Option<String>,
    pub(crate) location: &'static Location<'static>,
}

/// One error answer: a status, a problem body and the internals kept out of it (boxed, so
/// `Result<T, ApiError>` stays small).
#[derive(Debug)]
pub(crate) struct ApiError(Box<Details>);

#[derive(Debug)]
struct Details {
    status: StatusCode,
    slug: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    internal: Internal,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    problem_type: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    #[track_caller]
    fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> ApiError {
        let detail = detail.into();
        ApiError(Box::new(Details {
            status,
            slug,
            internal: Internal {
                error: detail.clone(),
                sql: None,
                location: Location::caller(),
            },
            detail,
            errors: Vec::new(),
            retry_after_secs: None,
        }))
    }

    #[track_caller]
    pub(crate) fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    #[track_caller]
    pub(crate) fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    #[track_caller]
    pub(crate) fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    #[track_caller]
    pub(crate) fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    #[track_caller]
    pub(crate) fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "this method is not supported on this path",
        )
    }

    #[track_caller]
    pub(crate) fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", detail)
    }

    #[track_caller]
    pub(crate) fn payload_too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "the request body is larger than 65536 bytes",
        )
    }

    #[track_caller]
    pub(crate) fn unsupported_media_type() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the request body must be application/json",
        )
    }

    #[track_caller]
    pub(crate) fn validation(errors: Vec<FieldError>) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-error",
            "the request is not valid; see errors",
        );
        error.0.internal.error = format!("{errors:?}");
        error.0.errors = errors;
        error
    }

    #[track_caller]
    pub(crate) fn too_many_requests(retry_after_secs: u64) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "too many requests; retry after the time in Retry-After",
        );
        error.0.retry_after_secs = Some(retry_after_secs);
        error
    }

    /// The service is up but not fit to serve (the `unhealthy` flaw's health check).
    #[track_caller]
    pub(crate) fn service_unavailable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// An unexpected failure: the client learns only that it happened.
    #[track_caller]
    pub(crate) fn internal(error: impl std::fmt::Display) -> ApiError {
        let mut api_error = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request",
        );
        api_error.0.internal.error = error.to_string();
        api_error
    }

    /// Keeps the underlying error text for the logs (and the `verbose-error` flaw).
    pub(crate) fn with_source(mut self, error: impl std::fmt::Display) -> ApiError {
        self.0.internal.error = error.to_string();
        self
    }

    /// Keeps the SQL statement that failed for the logs (and the `verbose-error` flaw).
    pub(crate) fn with_sql(mut self, sql: &str) -> ApiError {
        self.0.internal.sql = Some(sql.to_owned());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let details = *self.0;
        if details.status.is_server_error() {
            tracing::error!(
                error = %details.internal.error,
                sql = details.internal.sql.as_deref().unwrap_or(""),
                location = %details.internal.location,
                "request failed"
            );
        }
        let problem = Problem {
            problem_type: format!(
                "https://testbed.apiwright.invalid/problems/{}",
                details.slug
            ),
            title: details.status.canonical_reason().unwrap_or("Error"),
            status: details.status.as_u16(),
            detail: &details.detail,
            errors: &details.errors,
        };
        let mut response = (details.status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if details.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = details.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(details.internal);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internals_stay_out_of_the_body() {
        let response = ApiError::internal("no such table: notes")
            .with_sql("SELECT 1")
            .into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let internal = response.extensions().get::<Internal>().unwrap();
        assert_eq!(internal.error, "no such table: notes");
        assert_eq!(internal.sql.as_deref(), Some("SELECT 1"));
        assert!(internal.location.file().ends_with("error.rs"));
    }
}
