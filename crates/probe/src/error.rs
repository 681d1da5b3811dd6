//! Why a probe run could not be carried out at all (findings and violations are results).

/// A probe run that could not be carried out.
///
/// None of these is retryable without a change: the document, the base URL or the service's
/// auth operations must be fixed first.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The OpenAPI document cannot be used (the message names the JSON pointer at fault).
    #[error("OpenAPI document: {0}")]
    Document(String),
    /// The base URL of the service under test cannot be used.
    #[error("base URL `{url}`: {reason}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// Credentials could not be obtained from the service's auth operations.
    #[error("auth via {operation}: expected {expected}, found {found}")]
    Auth {
        /// The operation that failed, e.g. `POST /api/v1/auth/login`.
        operation: String,
        /// What the probe needed from it.
        expected: String,
        /// What the service answered: status and a body excerpt, or the transport error.
        found: String,
    },
    /// No load mix can be built against the service (the message says what was missing).
    #[error("request mix: {0}")]
    Traffic(String),
}

/// The crate's result type.
pub type Result<T, E = ProbeError> = std::result::Result<T, E>;
