//! The crate's error type. A failing SLA or a failing request is not an error: requests that fail
//! are counted in the [`crate::Report`], SLA breaches are [`crate::SlaViolation`]s.

/// Why a load run could not be carried out at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The run configuration is invalid (not retryable: fix the configuration).
    #[error("invalid {field}: expected {expected}, found {found}")]
    InvalidConfig {
        /// Where in the configuration, e.g. `target.requests[2].method`.
        field: String,
        expected: String,
        found: String,
    },
    /// The RSS of the process to sample could not be read before the run started (not
    /// retryable for that pid).
    #[error(
        "cannot read VmRSS of pid {pid} from {path}: expected a running Linux process, found {reason}"
    )]
    Rss {
        pid: u32,
        path: String,
        reason: String,
    },
    /// The latency histogram could not be created or merged (a bug; not retryable).
    #[error("latency histogram: {0}")]
    Histogram(String),
    /// A load worker task ended abnormally (a bug; not retryable).
    #[error("load worker failed: {0}")]
    WorkerFailed(String),
}

pub type Result<T, E = LoadError> = std::result::Result<T, E>;

pub(crate) fn invalid(
    field: impl Into<String>,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> LoadError {
    LoadError::InvalidConfig {
        field: field.into(),
        expected: expected.into(),
        found: found.into(),
    }
}
