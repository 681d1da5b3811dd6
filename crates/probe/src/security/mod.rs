//! The OWASP API Security Top 10 (2023) probes run against a live service, and the workspace
//! secrets scan. Every probe derives its targets from the OpenAPI document (no path of a
//! particular service is known here), sends real requests, and reports a [`Finding`] with the
//! exact exchange that proves it. A probe that could not do its work says so
//! ([`ProbeStatus::Skipped`] / [`ProbeStatus::Inconclusive`]); that never counts as passed.

mod finding;
mod jwt;
mod leaks;
mod report;
mod secrets;

pub use finding::{Finding, Severity, owasp};
pub use report::{ProbeId, ProbeResult, ProbeStatus, SecurityReport};
pub use secrets::{SecretsOptions, scan_secrets};
