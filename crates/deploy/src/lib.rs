//! Running blue/green traffic shifting for a local deployment.
//!
//! This crate owns the machinery that moves traffic between two running versions of a service.
//! Its first module is the weighted reverse proxy ([`Proxy`]): it forwards each request to the
//! blue or green backend by the current weights and keeps per-backend statistics for the
//! current monitoring window. It must not know about workflows, gates or memory; whoever drives
//! a rollout reads [`ProxyHandle::snapshot`] and calls [`ProxyHandle::set_weights`].

pub mod deployment;
mod error;
pub mod instance;
mod proxy;
pub mod rollout;
pub mod smoke;
pub mod steady;
mod schedule;
mod stats;

pub use error::DeployError;
pub use proxy::BACKEND_HEADER;
pub use proxy::Backend;
pub use proxy::Proxy;
pub use proxy::ProxyHandle;
pub use stats::BackendStats;

/// Milliseconds since the Unix epoch, for reports (0 if the clock is before 1970).
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}
