//! The errors of this crate.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("backend {name:?} has an invalid url {url:?}: {reason}")]
    BackendUrl {
        name: String,
        url: String,
        reason: String,
    },
    #[error("weights (0, 0) would send traffic nowhere")]
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
}
