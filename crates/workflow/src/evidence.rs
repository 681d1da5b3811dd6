//! Evidence gates that drive traffic at a running service: `contract`, `security` and `load`,
//! and the [`ServiceSpec`] they share (how the service under test is built, started and
//! found ready).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;

/// The service an evidence gate exercises: started by the gate from the workspace (`run`,
/// after an optional `build`) and stopped afterwards, or one already running (`url`).
/// Exactly one of `run` and `url` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Shell command (a template) run in the workspace before the service starts, e.g.
    /// `cargo build --release`; a non-zero exit fails the gate with the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// Shell command (a template) that starts the service and keeps running. The gate picks a
    /// free loopback port and passes it in the environment variable `port_env`, an empty
    /// scratch directory in `APIWRIGHT_SCRATCH`, and stops the whole process group at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Base URL of a service that is already running (no build, start or stop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment variable that receives the port (default `PORT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_env: Option<String>,
    /// Extra environment for `run`; values are templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The service creates an admin account from two environment variables at start: the
    /// gate generates fresh credentials for every evaluation, passes them, and logs in with
    /// them (only with `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminEnv>,
    /// Path polled until it answers 2xx before any probe is sent (default `/health`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// Seconds to wait for `ready` after start (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout_secs: Option<u64>,
    /// Seconds `build` may take (default 1800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_timeout_secs: Option<u64>,
}

/// Names of the environment variables through which the gate hands the service the admin
/// account it must create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminEnv {
    /// Variable holding the admin's email, e.g. `ADMIN_EMAIL`.
    pub email_env: String,
    /// Variable holding the admin's password, e.g. `ADMIN_PASSWORD`.
    pub password_env: String,
}

/// Exercise every operation of the service's OpenAPI document with valid requests and with
/// schema-derived invalid ones, with and without credentials; every status must be documented,
/// every body must match its schema, and any 5xx fails the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractCheck {
    /// The service under test.
    pub service: ServiceSpec,
    /// The OpenAPI document: a path in the workspace (a template), or a path on the service
    /// starting with `/` (e.g. `/openapi.json`).
    pub openapi: String,
    /// Operations not exercised, as `METHOD /path` (reported as skipped, never as passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<String>,
    /// Time limit in seconds for the whole check after the build (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// Probe the service for the OWASP API Security Top 10 items that apply and scan the workspace
/// for committed secrets; findings at or above `fail_on` fail the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityCheck {
    /// The service under test, with its real configuration (rate limits included).
    pub service: ServiceSpec,
    /// The OpenAPI document, as for `contract`.
    pub openapi: String,
    /// Lowest severity that fails the gate (default `high`: seed 000 asks for zero critical
    /// and zero high findings).
    #[serde(default)]
    pub fail_on: Severity,
    /// Scan the workspace for committed secrets (default true).
    #[serde(default = "yes")]
    pub scan_secrets: bool,
    /// Requests sent in a burst to find a rate limit (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_burst: Option<u32>,
    /// Time limit in seconds for the whole check after the build (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

fn yes() -> bool {
    true
}

/// How bad a security finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Low risk.
    Low,
    /// Fix soon.
    Medium,
    /// Blocks a release by default.
    #[default]
    High,
    /// Blocks a release.
    Critical,
}

/// Drive an authenticated, realistic request mix (list, read, create, update) at the service
/// and compare what was measured with service-level objectives: sustained open-loop rate,
/// stress (closed loop), spike and optionally endurance, with the server's memory sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadCheck {
    /// The service under test.
    pub service: ServiceSpec,
    /// The OpenAPI document, as for `contract`; the mix is derived from its operations.
    pub openapi: String,
    /// Objectives given in the workflow; a value here overrides `slas_from`.
    #[serde(default)]
    pub slas: SlaTargets,
    /// A memory key (a template) holding the objectives, e.g. the run's spec, and the dotted
    /// field inside it (e.g. `slas`) with `p95_ms`, `rps`, `error_rate_percent`, `memory_mb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slas_from: Option<SlaSource>,
    /// Seconds of constant-rate load at `rps` (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustained_secs: Option<u64>,
    /// Seconds of closed-loop maximum-throughput load (default 5; 0 skips the stress test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress_secs: Option<u64>,
    /// Spike: `factor` × `rps` for `spike_secs` between two base windows (defaults 10 and 2;
    /// 0 seconds skips the spike).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_factor: Option<f64>,
    /// Seconds of the spike window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_secs: Option<u64>,
    /// Seconds of an endurance run at `rps` with memory growth reported (default 0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endurance_secs: Option<u64>,
    /// Connections of the closed-loop stress test (default 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    /// Time limit in seconds for the whole check after the build (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// Service-level objectives; each is a number or a template (e.g. `{p95_ms}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    /// Highest acceptable 95th-percentile latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<String>,
    /// Requests per second the service must sustain (also the sustained test's rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps: Option<String>,
    /// Highest acceptable share of failed requests, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate_percent: Option<String>,
    /// Highest acceptable resident memory of the service, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<String>,
}

/// Where in memory a load gate reads its objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaSource {
    /// Memory key (a template) holding a JSON object.
    pub key: String,
    /// Dotted path to the objectives inside it (empty: the whole value).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}
