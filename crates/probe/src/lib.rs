//! Drives HTTP traffic at a running service, guided by its OpenAPI 3.1 document, and reports
//! what it saw with the exact requests and responses.
//!
//! Owns: reading the operations of an OpenAPI document ([`openapi`]), synthesising valid and
//! schema-derived invalid values and validating bodies against schemas ([`schema`]), sending
//! and recording requests ([`exchange`]), obtaining credentials from the service's documented
//! auth operations ([`session`]), contract conformance ([`contract`]), the OWASP API Security
//! Top 10 probes and the workspace secrets scan ([`security`]), and the authenticated request
//! mix a load run sends ([`traffic`]).
//!
//! Must not: start or stop services, know about workflows, gates, runs or memory, or decide
//! what a finding means for a run beyond its severity. Starting the service under test and
//! turning a report into a gate outcome belong to `apiwright-gates`.

pub mod contract;
mod error;
pub mod exchange;
pub mod openapi;
pub mod schema;
pub mod security;
pub mod session;
pub mod traffic;

pub use error::ProbeError;
pub use error::Result;
