//! Running blue/green traffic shifting for a local deployment.
//!
//! This crate owns the machinery that moves traffic between two running versions of a service.
//! Its first module is the weighted reverse proxy ([`Proxy`]): it forwards each request to the
//! blue or green backend by the current weights and keeps per-backend statistics for the
//! current monitoring window. It must not know about workflows, gates or memory; whoever drives
//! a rollout reads [`ProxyHandle::snapshot`] and calls [`ProxyHandle::set_weights`].

mod error;
pub mod kubernetes;
mod proxy;
mod schedule;
mod stats;

pub use error::DeployError;
pub use proxy::BACKEND_HEADER;
pub use proxy::Backend;
pub use proxy::Proxy;
pub use proxy::ProxyHandle;
pub use stats::BackendStats;
