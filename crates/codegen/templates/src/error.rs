//! The error model: every failure a client sees is an RFC 9457 `application/problem+json`
//! document (`type`, `title`, `status`, `detail`, and `errors` with one entry per invalid
//! field). Internal details (SQL, causes) are logged, never sent.

use std::fmt;

use axum::Json;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rusqlite::ffi;
use serde::Serialize;

use crate::config::ConfigError;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field (or query parameter).
    pub field: String,
    /// What is wrong, e.g. `must be at most 5`.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request cannot be read.
    BadRequest(String),
    /// 401: no valid credentials.
    Unauthorized(String),
    /// 403: the user's role may not do this.
    Forbidden,
    /// 404: no such record (or not one the user may see).
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 409: the change conflicts with existing records.
    Conflict {
        /// What conflicts.
        detail: String,
        /// The unique field whose value is taken, if that is the conflict.
        field: Option<String>,
    },
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: invalid fields.
    Validation(Vec<FieldError>),
    /// 429: over the rate limit; retry after this many seconds.
    RateLimited(u64),
    /// 500: a failure that is not the client's; the message is logged only.
    Internal(String),
}

/// The problem document.
#[derive(Debug, Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

impl ApiError {
    /// A 422 with a single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The status code of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(self) -> Problem {
        let status = self.status().as_u16();
        let (kind, title, detail, errors) = match self {
            Self::BadRequest(detail) => ("/problems/bad-request", "Bad request", detail, vec![]),
            Self::Unauthorized(detail) => {
                ("/problems/unauthorized", "Unauthorized", detail, vec![])
            }
            Self::Forbidden => (
                "/problems/forbidden",
                "Forbidden",
                "Your role does not allow this operation.".to_owned(),
                vec![],
            ),
            Self::NotFound => (
                "/problems/not-found",
                "Not found",
                "No such resource.".to_owned(),
                vec![],
            ),
            Self::MethodNotAllowed => (
                "/problems/method-not-allowed",
                "Method not allowed",
                "This resource does not support the method.".to_owned(),
                vec![],
            ),
            Self::Conflict { detail, field } => {
                let errors = field
                    .map(|field| vec![FieldError::new(field, "is already taken")])
                    .unwrap_or_default();
                ("/problems/conflict", "Conflict", detail, errors)
            }
            Self::PayloadTooLarge => (
                "/problems/payload-too-large",
                "Payload too large",
                "The request body is larger than the limit.".to_owned(),
                vec![],
            ),
            Self::UnsupportedMediaType => (
                "/problems/unsupported-media-type",
                "Unsupported media type",
                "The request body must be JSON (Content-Type: application/json).".to_owned(),
                vec![],
            ),
            Self::Validation(errors) => (
                "/problems/validation",
                "Validation failed",
                "Some fields are invalid.".to_owned(),
                errors,
            ),
            Self::RateLimited(seconds) => (
                "/problems/rate-limited",
                "Too many requests",
                format!("The rate limit is exceeded; retry in {seconds} s."),
                vec![],
            ),
            Self::Internal(_) => (
                "/problems/internal",
                "Internal server error",
                "An unexpected error occurred.".to_owned(),
                vec![],
            ),
        };
        Problem {
            kind,
            title,
            status,
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(message) = &self {
            tracing::error!(error = %message, "internal error");
        }
        let status = self.status();
        let retry_after = match &self {
            Self::RateLimited(seconds) => Some(*seconds),
            _ => None,
        };
        let mut response = (status, Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<rusqlite::Error> for ApiError {
    /// Unique violations become 409 naming the field; foreign key violations (deleting a record
    /// others refer to) 409; anything else is internal.
    fn from(error: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(failure, message) = &error {
            let message = message.as_deref().unwrap_or_default();
            if failure.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE {
                // "UNIQUE constraint failed: table.column"
                let field = message.rsplit('.').next().unwrap_or_default();
                return Self::Conflict {
                    detail: format!("A record with this {field} already exists."),
                    field: Some(field.to_owned()),
                };
            }
            if failure.extended_code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY {
                return Self::Conflict {
                    detail: "Other records refer to this record.".to_owned(),
                    field: None,
                };
            }
        }
        Self::Internal(error.to_string())
    }
}

/// Why the service could not start.
#[derive(Debug)]
pub enum StartupError {
    /// A configuration variable is unusable.
    Config(ConfigError),
    /// The database cannot be opened or migrated.
    Database(rusqlite::Error),
    /// The listener failed.
    Io(std::io::Error),
    /// An account cannot be created.
    Account(String),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(error) => write!(f, "configuration: {error}"),
            Self::Database(error) => write!(f, "database: {error}"),
            Self::Io(error) => write!(f, "network: {error}"),
            Self::Account(message) => write!(f, "account: {message}"),
        }
    }
}

impl std::error::Error for StartupError {}

impl From<ConfigError> for StartupError {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

impl From<rusqlite::Error> for StartupError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Database(error)
    }
}

impl From<std::io::Error> for StartupError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}
