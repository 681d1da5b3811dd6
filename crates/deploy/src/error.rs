//! The errors of this crate.

use std::net::SocketAddr;
use std::time::Duration;

/// Why the proxy could not start or a change was refused. None is retryable as is: each needs a
/// different configuration, except [`DeployError::Bind`], which may succeed once the address is
/// free.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The listen address is taken or not ours; retryable once it is free.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// Not retryable: the backend URL must change.
    #[error("backend {name:?} has an invalid url {url:?}: {reason}")]
    BackendUrl {
        name: String,
        url: String,
        reason: String,
    },
    /// Not retryable: at least one weight must be positive.
    #[error("weights (0, 0) would send traffic nowhere; expected at least one positive weight")]
    ZeroWeights,
    #[error("expected a deployment name of letters, digits, `-`, `_` and `.`, found {0:?}")]
    BadName(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    BadFile {
        path: std::path::PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Refused(String),
    /// Not retryable: a zero timeout would fail every request.
    #[error("backend timeout {timeout:?}: expected a positive duration")]
    ZeroTimeout { timeout: Duration },
    /// Not retryable: the route's method must change.
    #[error("route {template:?}: expected an HTTP method such as GET, found {method:?}")]
    RouteMethod { method: String, template: String },
    /// Not retryable: the route's template must change.
    #[error("route {method} {template:?}: {reason}")]
    RouteTemplate {
        method: String,
        template: String,
        reason: String,
    },
}
