//! Releasing a service: local blue/green deployments kept live by a supervisor, and the
//! Kubernetes target.
//!
//! This crate owns the machinery that runs releases and moves traffic between two running
//! versions of a service: the deployment directory (kept releases, shared data, secrets, state;
//! [`deployment`]), instances ([`instance`]), smoke tests ([`smoke`]), the steady client
//! ([`steady`]), the canary driver ([`rollout`]), alerts ([`monitor`]), the [`supervisor`] and
//! its control API ([`control`]), and [`kubernetes`] manifests applied with kubectl. At the
//! centre is the weighted reverse proxy ([`Proxy`], started from a [`ProxyConfig`]):
//! it forwards each request to the backend in the blue or green [`Slot`] by the current
//! weights, answers 502/504 `application/problem+json` itself when a backend fails to answer
//! (in time), and keeps statistics for the current monitoring window — per backend
//! ([`BackendStats`], with the time of the first failure) and per endpoint ([`EndpointStats`],
//! requests attributed to the first matching [`Route`] template such as `/books/{id}`).
//! A slot's backend can be replaced while the proxy keeps listening, so after a promotion the
//! old green becomes the next deployment's blue without a restart.
//!
//! It must not know about workflows, gates or memory (the `deploy` and `monitor` gates of
//! `apiwright-gates` turn its reports into outcomes); whoever drives a rollout reads
//! [`ProxyHandle::snapshot`] and [`ProxyHandle::endpoints`] and calls
//! [`ProxyHandle::set_weights`] and [`ProxyHandle::replace_backend`].

mod config;
pub mod control;
pub mod deployment;
mod error;
pub mod instance;
pub mod kubernetes;
pub mod monitor;
mod proxy;
pub mod rollout;
mod route;
mod schedule;
pub mod smoke;
mod stats;
pub mod steady;
pub mod supervisor;

pub use config::Backend;
pub use config::ProxyConfig;
pub use config::Slot;
pub use error::DeployError;
pub use proxy::BACKEND_HEADER;
pub use proxy::Proxy;
pub use proxy::ProxyHandle;
pub use route::Route;
pub use route::UNMATCHED_ROUTE;
pub use stats::BackendStats;

/// Milliseconds since the Unix epoch, for reports (0 if the clock is before 1970).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
pub use stats::EndpointStats;
