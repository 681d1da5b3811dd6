//! `ModelError`: every way a model call can fail, classified by who must react. Messages name
//! the URL and what was expected; none ever contains the API key (bodies are redacted before
//! they get here, see `http.rs`).

/// Why [`crate::ModelClient::complete`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The server answered with an error status that is not retried here, or a retryable one
    /// (429, 5xx, 529) on every attempt. Retryable later when the status is 429 or 5xx.
    #[error("model server at {url} answered HTTP {status} after {attempts} attempt(s): {body}")]
    Status {
        status: u16,
        url: String,
        /// At most 500 characters of the response body.
        body: String,
        attempts: u32,
    },
    /// 401 or 403: the key is missing, wrong or lacks permission. Never retried.
    #[error(
        "model server at {url} refused the credentials with HTTP {status}: check that the \
         environment variable holding the API key is set and the key is valid ({body})"
    )]
    Auth {
        status: u16,
        url: String,
        body: String,
    },
    /// The exchange failed below HTTP: connection refused or reset, timeout, or a stream cut
    /// before its end marker, on every attempt. Retryable later.
    #[error("could not complete the request to {url} after {attempts} attempt(s): {message}")]
    Transport {
        url: String,
        message: String,
        attempts: u32,
    },
    /// The server answered successfully but with something that is not the protocol: an
    /// unparseable body or event, or a missing field. Not retryable.
    #[error("model server at {url} broke the protocol: {message}")]
    Protocol { url: String, message: String },
    /// The client configuration is unusable (bad base URL, empty model, ...). Not retryable.
    #[error("invalid model client configuration: {0}")]
    Config(String),
}

impl ModelError {
    /// Whether the same call may succeed if the caller tries again later: rate limits (429),
    /// server errors (5xx) and transport failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Status { status, .. } => *status == 429 || (500..=599).contains(status),
            ModelError::Transport { .. } => true,
            ModelError::Auth { .. } | ModelError::Protocol { .. } | ModelError::Config(_) => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, ModelError>;
