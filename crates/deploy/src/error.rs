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
}
