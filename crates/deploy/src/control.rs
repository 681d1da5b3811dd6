//! The supervisor as a long-lived process: a loopback HTTP control API (bearer token from the
//! deployment's `daemon.json`, readable by the owner only) that deploys, rolls back, promotes,
//! monitors and reports status, and the client the CLI and the gates use to reach it — starting
//! it when it is not running, so the service stays live after the command that deployed it
//! has exited.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use axum::routing::post;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::sync::Notify;

use crate::deployment::DaemonInfo;
use crate::deployment::DeploymentDir;
use crate::deployment::random_hex;
use crate::error::DeployError;
use crate::monitor::AlertThresholds;
use crate::supervisor::DeployOutcome;
use crate::supervisor::DeployReport;
use crate::supervisor::DeployRequest;
use crate::supervisor::MonitorReport;
use crate::supervisor::Supervisor;

/// A monitoring request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorRequest {
    pub window_secs: f64,
    pub rps: f64,
    pub thresholds: AlertThresholds,
}

#[derive(Clone)]
struct Shared {
    supervisor: Arc<Mutex<Supervisor>>,
    token: String,
    stop: Arc<Notify>,
}

/// Runs the supervisor of `state_dir/name` until asked to shut down (or SIGTERM/SIGINT),
/// then stops the proxy and the instances. `proxy_listen` is used for the first deploy (the
/// state remembers the port afterwards).
pub async fn serve(
    state_dir: &Path,
    name: &str,
    proxy_listen: SocketAddr,
) -> Result<(), DeployError> {
    let dir = DeploymentDir::open(state_dir, name)?;
    if let Some(existing) = dir.daemon()
        && Client::from_info(existing.clone()).status().await.is_ok()
    {
        return Err(DeployError::Refused(format!(
            "a supervisor of {name} already runs (pid {}, control {})",
            existing.pid, existing.control_url
        )));
    }
    let supervisor = Supervisor::open(dir.clone(), name, proxy_listen).await?;
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DeployError::Bind {
            address: listen,
            source,
        })?;
    let control = listener.local_addr().map_err(|source| DeployError::Bind {
        address: listen,
        source,
    })?;
    let token = random_hex(24);
    let proxy_url = supervisor
        .proxy_addr()
        .map(|addr| format!("http://{addr}"))
        .unwrap_or_default();
    let shared = Shared {
        supervisor: Arc::new(Mutex::new(supervisor)),
        token: token.clone(),
        stop: Arc::new(Notify::new()),
    };
    dir.write_daemon(&DaemonInfo {
        pid: std::process::id(),
        control_url: format!("http://{control}"),
        proxy_url,
        token,
    })?;
    tracing::info!(%control, "deploy supervisor listening");
    let app = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/deploy", post(deploy))
        .route("/v1/rollback", post(rollback))
        .route("/v1/promote", post(promote))
        .route("/v1/monitor", post(monitor))
        .route("/v1/shutdown", post(shutdown))
        .with_state(shared.clone());
    let stop = Arc::clone(&shared.stop);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let terminate = async {
                if let Ok(mut signal) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    signal.recv().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = stop.notified() => {}
                () = terminate => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await;
    dir.remove_daemon();
    let supervisor = Arc::try_unwrap(shared.supervisor)
        .map(Mutex::into_inner)
        .map_err(|_| DeployError::Refused("the supervisor is still in use".into()));
    if let Ok(supervisor) = supervisor {
        supervisor.shutdown().await;
    }
    served.map_err(|source| DeployError::Io {
        path: state_dir.join(name),
        source,
    })
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected = format!("Bearer {}", shared.token);
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        == Some(expected.as_str())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "expected the bearer token from daemon.json"})),
    )
        .into_response()
}

fn refused(error: &DeployError) -> Response {
    (
        StatusCode::CONFLICT,
        Json(json!({"error": error.to_string()})),
    )
        .into_response()
}

fn reply<T: Serialize>(result: Result<T, DeployError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => refused(&error),
    }
}

async fn status(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    match shared.supervisor.try_lock() {
        Ok(mut supervisor) => reply(supervisor.status()),
        Err(_) => {
            Json(json!({"busy": "a deploy or monitoring window is in progress"})).into_response()
        }
    }
}

async fn deploy(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(request): Json<DeployRequest>,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let mut supervisor = shared.supervisor.lock().await;
    let report = supervisor.deploy(&request).await;
    if let Ok(report) = &report
        && report.outcome == DeployOutcome::Promoted
        && report.blue.is_some()
    {
        // Blue is retired after the keep time unless something happened since.
        let generation = supervisor.generation();
        let keep = Duration::from_secs(request.keep_blue_secs);
        let supervisor = Arc::clone(&shared.supervisor);
        tokio::spawn(async move {
            tokio::time::sleep(keep).await;
            let _ = supervisor.lock().await.retire_blue_if(generation).await;
        });
    }
    reply(report)
}

async fn rollback(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    reply(shared.supervisor.lock().await.rollback().await)
}

async fn promote(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    reply(shared.supervisor.lock().await.promote().await)
}

async fn monitor(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(request): Json<MonitorRequest>,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let window = Duration::from_secs_f64(request.window_secs.max(0.0));
    reply(
        shared
            .supervisor
            .lock()
            .await
            .monitor(window, request.rps, &request.thresholds)
            .await,
    )
}

async fn shutdown(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    shared.stop.notify_one();
    Json(json!({"stopping": true})).into_response()
}

/// A connection to a running supervisor.
#[derive(Debug, Clone)]
pub struct Client {
    info: DaemonInfo,
    http: reqwest::Client,
}

impl Client {
    fn from_info(info: DaemonInfo) -> Client {
        Client {
            info,
            http: reqwest::Client::new(),
        }
    }

    /// The running supervisor of `state_dir/name`, if one answers.
    pub async fn connect(state_dir: &Path, name: &str) -> Result<Option<Client>, DeployError> {
        let Some(info) = DeploymentDir::existing(state_dir, name)?.and_then(|dir| dir.daemon())
        else {
            return Ok(None);
        };
        let client = Client::from_info(info);
        Ok(client.status().await.is_ok().then_some(client))
    }

    /// Connects, or starts the supervisor with `spawn` and waits (up to `limit`) until it
    /// answers.
    pub async fn connect_or_spawn(
        state_dir: &Path,
        name: &str,
        spawn: impl FnOnce() -> std::io::Result<()>,
        limit: Duration,
    ) -> Result<Client, DeployError> {
        if let Some(client) = Client::connect(state_dir, name).await? {
            return Ok(client);
        }
        spawn().map_err(|source| DeployError::Io {
            path: state_dir.join(name),
            source,
        })?;
        let started = std::time::Instant::now();
        loop {
            if let Some(client) = Client::connect(state_dir, name).await? {
                return Ok(client);
            }
            if started.elapsed() > limit {
                return Err(DeployError::Refused(format!(
                    "the deploy supervisor of {name} did not answer within {} s; see {}",
                    limit.as_secs(),
                    state_dir
                        .join(name)
                        .join("logs")
                        .join("supervisor.log")
                        .display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, DeployError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.info.control_url))
            .bearer_auth(&self.info.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|error| {
            DeployError::Refused(format!("the deploy supervisor did not answer: {error}"))
        })?;
        let status = response.status();
        let value: Value = response.json().await.map_err(|error| {
            DeployError::Refused(format!(
                "the deploy supervisor answered {status} without JSON: {error}"
            ))
        })?;
        if status.is_success() {
            Ok(value)
        } else {
            Err(DeployError::Refused(
                value["error"].as_str().unwrap_or("refused").to_string(),
            ))
        }
    }

    pub async fn status(&self) -> Result<Value, DeployError> {
        self.call(reqwest::Method::GET, "/v1/status", None).await
    }

    pub async fn deploy(&self, request: &DeployRequest) -> Result<DeployReport, DeployError> {
        let body = serde_json::to_value(request)
            .map_err(|error| DeployError::Refused(error.to_string()))?;
        typed(
            self.call(reqwest::Method::POST, "/v1/deploy", Some(body))
                .await?,
        )
    }

    pub async fn rollback(&self) -> Result<Value, DeployError> {
        self.call(reqwest::Method::POST, "/v1/rollback", None).await
    }

    pub async fn promote(&self) -> Result<Value, DeployError> {
        self.call(reqwest::Method::POST, "/v1/promote", None).await
    }

    pub async fn monitor(&self, request: &MonitorRequest) -> Result<MonitorReport, DeployError> {
        let body = serde_json::to_value(request)
            .map_err(|error| DeployError::Refused(error.to_string()))?;
        typed(
            self.call(reqwest::Method::POST, "/v1/monitor", Some(body))
                .await?,
        )
    }

    pub async fn shutdown(&self) -> Result<Value, DeployError> {
        self.call(reqwest::Method::POST, "/v1/shutdown", None).await
    }
}

/// A supervisor's answer as the report type both sides share.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, DeployError> {
    serde_json::from_value(value).map_err(|error| {
        DeployError::Refused(format!(
            "the deploy supervisor answered with an unexpected report: {error}"
        ))
    })
}
