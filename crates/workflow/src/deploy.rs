//! Release gates: `deploy` (a staging instance with smoke tests, or a production blue/green
//! rollout behind apiwright's proxy with canary steps and automatic rollback) and `monitor`
//! (seed 000's alert thresholds evaluated on the live deployment's traffic).
//!
//! Durations and thresholds are strings so that workflow parameters can set them (e.g.
//! `watch_secs: "{canary_watch_secs}"`); they are parsed when the gate runs, and a value that
//! is not a number fails the gate saying which field held what.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;

use crate::evidence::ServiceSpec;
use crate::evidence::SlaSource;

/// Which environment a `deploy` gate releases to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// A throw-away instance on a fresh database: health check and a scripted user journey.
    Staging,
    /// The live deployment: blue (the last good release) and green (this one) behind the
    /// proxy, traffic shifted by canary steps, rolled back to blue when a threshold is crossed.
    Production,
}

/// Where a production release runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeployTarget {
    /// Processes on this machine behind apiwright's weighted proxy (the default).
    #[default]
    Local,
    /// Manifests applied with `kubectl`; fails, saying so, when no cluster is configured.
    Kubernetes,
}

/// Release the workspace's service to staging or production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployCheck {
    /// `staging` or `production`.
    pub environment: Environment,
    /// `local` (default) or `kubernetes`.
    #[serde(default)]
    pub target: DeployTarget,
    /// How the release is built (`build`, run in the workspace), started (`run`, run in the
    /// release directory) and found ready (`ready`, default `/health`); `url` is not allowed.
    pub service: ServiceSpec,
    /// What makes a release out of the built workspace.
    pub release: ReleaseSpec,
    /// The OpenAPI document, a path in the workspace (a template): the smoke journey, the
    /// steady traffic and the per-endpoint statistics are derived from it.
    pub openapi: String,
    /// Name of the deployment (a template; default the workflow's `api_id` parameter): its
    /// releases, data and state live in `state_dir/NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Directory of apiwright's deployments (a template; default `.apiwright/deploy` in the
    /// directory the run was started from, or `APIWRIGHT_DEPLOY_DIR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<String>,
    /// Canary steps, thresholds and the steady client (production only).
    #[serde(default)]
    pub rollout: RolloutSpec,
    /// Where and what to apply with `target: kubernetes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSpec>,
    /// Time limit in seconds for the whole gate after the build (default 7200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// The files of a release and how they are prepared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    /// Shell command (a template) run in the workspace after the build that copies what the
    /// release needs into the directory `$APIWRIGHT_RELEASE` (e.g. `sh ci.sh package
    /// "$APIWRIGHT_RELEASE"`). apiwright keeps that directory: it is blue of the next deploy.
    pub package: String,
    /// Environment variables that receive a secret generated once per deployment and kept by
    /// apiwright (e.g. `JWT_SECRET`), so blue and green accept each other's tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_env: Vec<String>,
    /// Environment variable naming the database file of the deployment, shared by blue and
    /// green (e.g. `DATABASE_PATH`); staging gets a fresh one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_env: Option<String>,
}

/// The cluster side of `target: kubernetes`: images are built and pushed by the user
/// (apiwright does not build container images); apiwright renders blue/green Deployments,
/// Services and a weighted Gateway API HTTPRoute, checks them against the Kubernetes
/// schemas, and applies them with `kubectl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSpec {
    /// Image repository, e.g. `registry.example.com/bookstore`; the tag is `version`.
    pub image_repository: String,
    /// The image tag of this release (a template), e.g. `{api_version}`.
    pub version: String,
    /// Namespace of the objects (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// kubectl context (default: kubectl's current context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// kubectl program (default `kubectl` on PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl: Option<String>,
    /// The Gateway the HTTPRoute attaches to, as `NAME` or `NAMESPACE/NAME`.
    pub gateway: String,
    /// Container port (default 8080).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Replicas per track (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// A Secret whose keys become environment variables (e.g. `JWT_SECRET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// One canary step: the share of traffic green receives and how long it is watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanaryStep {
    /// Percent of requests sent to green (1–100).
    pub percent: u32,
    /// Seconds the step is watched before the next one (a number or a template).
    pub watch_secs: String,
}

/// How traffic moves to green and when it returns to blue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutSpec {
    /// The steps (default seed 000's: 10% for 300 s, 50% for 600 s, then 100%).
    #[serde(default = "seed_steps")]
    pub steps: Vec<CanaryStep>,
    /// Seconds between evaluations of green's figures during a step (default 5): the rollback
    /// decision comes within one interval of a fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<String>,
    /// Error rate of green (5xx and transport failures) above which traffic returns to blue
    /// (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate_percent: Option<String>,
    /// p95 latency of green in milliseconds above which traffic returns to blue; default from
    /// `slas_from`, else no latency threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<String>,
    /// Where the objectives are (the field `p95_ms` is used), as for the `load` gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slas_from: Option<SlaSource>,
    /// Seconds blue keeps running after a successful shift, for instant rollback (default
    /// 3600); `apiwright deploy promote` retires it sooner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_blue_secs: Option<String>,
    /// Requests per second the steady client sends through the proxy for the whole shift
    /// (default 8, under one user's rate limit in the seed's examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_rps: Option<String>,
}

impl Default for RolloutSpec {
    fn default() -> Self {
        Self {
            steps: seed_steps(),
            interval_secs: None,
            max_error_rate_percent: None,
            p95_ms: None,
            slas_from: None,
            keep_blue_secs: None,
            traffic_rps: None,
        }
    }
}

fn seed_steps() -> Vec<CanaryStep> {
    [(10, "300"), (50, "600"), (100, "0")]
        .into_iter()
        .map(|(percent, watch)| CanaryStep {
            percent,
            watch_secs: watch.to_string(),
        })
        .collect()
}

/// Watch the live deployment for a window and raise seed 000's alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorCheck {
    /// Name of the deployment (a template; default the workflow's `api_id` parameter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Directory of apiwright's deployments, as for `deploy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<String>,
    /// Seconds of live traffic evaluated (a number or a template; default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<String>,
    /// Requests per second of synthetic traffic apiwright adds during the window, labelled as
    /// such in the report (default 8; 0 measures only real traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_rps: Option<String>,
    /// Alert thresholds (default seed 000's).
    #[serde(default)]
    pub thresholds: AlertThresholds,
    /// Lowest alert level that fails the gate (default `critical`).
    #[serde(default)]
    pub fail_on: AlertLevel,
}

/// How serious an alert is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Someone should look.
    Warning,
    /// Someone must act now.
    #[default]
    Critical,
}

/// Seed 000's alert thresholds; each is a number or a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertThresholds {
    /// p95 latency in ms above which a warning fires (default 500).
    #[serde(default = "p95_warning")]
    pub p95_warning_ms: String,
    /// p95 latency in ms above which a critical alert fires (default 1000).
    #[serde(default = "p95_critical")]
    pub p95_critical_ms: String,
    /// Error rate in percent above which a warning fires (default 1).
    #[serde(default = "error_warning")]
    pub error_rate_warning_percent: String,
    /// Error rate in percent above which a critical alert fires (default 5).
    #[serde(default = "error_critical")]
    pub error_rate_critical_percent: String,
    /// Availability in percent below which a critical alert fires (default 99.9).
    #[serde(default = "availability_critical")]
    pub availability_critical_percent: String,
    /// Database pool usage in percent above which a warning fires (default 80).
    #[serde(default = "pool_warning")]
    pub db_pool_warning_percent: String,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            p95_warning_ms: p95_warning(),
            p95_critical_ms: p95_critical(),
            error_rate_warning_percent: error_warning(),
            error_rate_critical_percent: error_critical(),
            availability_critical_percent: availability_critical(),
            db_pool_warning_percent: pool_warning(),
        }
    }
}

fn p95_warning() -> String {
    "500".into()
}
fn p95_critical() -> String {
    "1000".into()
}
fn error_warning() -> String {
    "1".into()
}
fn error_critical() -> String {
    "5".into()
}
fn availability_critical() -> String {
    "99.9".into()
}
fn pool_warning() -> String {
    "80".into()
}
