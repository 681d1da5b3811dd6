//! The supervisor of one deployment: it owns the proxy and the running instances, deploys a
//! kept release as green beside blue (start, smoke test, canary shift with the steady client
//! driving traffic, automatic rollback), rolls back and promotes on request, retires blue after
//! the keep time, and watches the live release for monitoring windows. Its state survives in
//! the deployment directory; the processes it starts live as long as it does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use apiwright_probe::openapi::Api;
use serde::Deserialize;
use serde::Serialize;

use crate::Backend;
use crate::Proxy;
use crate::ProxyConfig;
use crate::ProxyHandle;
use crate::Route;
use crate::Slot;
use crate::deployment::DeploymentDir;
use crate::deployment::Event;
use crate::deployment::ReleaseManifest;
use crate::deployment::Secrets;
use crate::error::DeployError;
use crate::instance::Instance;
use crate::monitor;
use crate::monitor::AlertThresholds;
use crate::rollout;
use crate::rollout::CanaryPlan;
use crate::rollout::GreenWatch;
use crate::smoke;
use crate::steady::SteadyClient;
use crate::steady::SteadyReport;
use crate::unix_ms;

/// What a deploy request asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployRequest {
    /// A release already in the deployment's `releases/` with its `release.json`.
    pub release: String,
    pub plan: CanaryPlanSpec,
    /// Steady client rate through the proxy during the shift.
    pub traffic_rps: f64,
    /// Seconds blue keeps running after a successful shift.
    pub keep_blue_secs: u64,
}

/// [`CanaryPlan`] in a form that travels as JSON (seconds and milliseconds as numbers).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CanaryPlanSpec {
    /// (percent, watch seconds) per step.
    pub steps: Vec<(u32, f64)>,
    pub interval_secs: f64,
    pub max_error_rate_percent: f64,
    pub p95_ms: Option<f64>,
}

impl CanaryPlanSpec {
    fn plan(&self) -> CanaryPlan {
        CanaryPlan {
            steps: self
                .steps
                .iter()
                .map(|(percent, watch)| rollout::CanaryStep {
                    percent: *percent,
                    watch: Duration::from_secs_f64(watch.max(0.0)),
                })
                .collect(),
            interval: Duration::from_secs_f64(self.interval_secs.max(0.05)),
            thresholds: rollout::Thresholds {
                max_error_rate_percent: self.max_error_rate_percent,
                p95_ms: self.p95_ms,
                min_requests_for_latency: 5,
            },
        }
    }
}

/// How a deploy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployOutcome {
    /// Green has all traffic; blue is kept for rollback.
    Promoted,
    /// Green was found bad; blue has all traffic again and green is stopped.
    RolledBack,
    /// Green never took traffic (did not start, failed its smoke test) and blue, if any,
    /// kept serving.
    Rejected,
}

/// Everything a deploy measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployReport {
    pub outcome: DeployOutcome,
    pub summary: String,
    pub release: String,
    /// The release that served before (blue), if any.
    pub blue: Option<String>,
    pub proxy_url: Option<String>,
    pub green_url: Option<String>,
    pub startup: serde_json::Value,
    pub smoke: Option<smoke::SmokeReport>,
    pub rollout: Option<rollout::RolloutReport>,
    pub steady: Option<SteadyReport>,
    /// From the first bad response green gave (failure, or slower than the objective) to
    /// blue having all traffic again.
    pub rollback_ms: Option<u64>,
    pub seconds: f64,
}

/// What `status` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub name: String,
    pub proxy_url: Option<String>,
    pub weights: Option<(u32, u32)>,
    pub live: Option<InstanceStatus>,
    pub blue: Option<InstanceStatus>,
    pub blue_retire_at_unix_ms: Option<u64>,
    pub history: Vec<Event>,
}

/// One release and whether it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub release: String,
    pub running: bool,
    pub url: Option<String>,
}

/// What a monitoring window measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorReport {
    pub release: String,
    pub window_secs: f64,
    pub synthetic_rps: f64,
    pub figures: monitor::LiveFigures,
    pub endpoints: Vec<serde_json::Value>,
    pub alerts: Vec<monitor::Alert>,
    pub steady: Option<SteadyReport>,
}

/// The supervisor of one deployment.
#[derive(Debug)]
pub struct Supervisor {
    name: String,
    dir: DeploymentDir,
    proxy: Option<ProxyHandle>,
    /// Running instances by release id.
    instances: BTreeMap<String, Instance>,
    /// Bumped by every deploy, rollback and promote, so a pending blue retirement from an
    /// earlier deploy does nothing.
    generation: u64,
    /// Where the proxy listens once something is deployed (the state's port, if it has one).
    listen: SocketAddr,
}

impl Supervisor {
    /// Opens the deployment and restarts what its state says is live (and blue, if kept),
    /// behind a proxy on the state's port (or `listen`, also used by the first deploy).
    pub async fn open(
        dir: DeploymentDir,
        name: &str,
        listen: SocketAddr,
    ) -> Result<Supervisor, DeployError> {
        let state = dir.state()?;
        let listen = match state.proxy_port {
            Some(port) => SocketAddr::new(listen.ip(), port),
            None => listen,
        };
        let mut supervisor = Supervisor {
            name: name.to_string(),
            dir,
            proxy: None,
            instances: BTreeMap::new(),
            generation: 0,
            listen,
        };
        if let Some(live) = &state.live {
            let url = supervisor.start_instance(live).await?;
            let mut blue_url = url.clone();
            if let Some(blue) = &state.blue
                && let Ok(started) = supervisor.start_instance(blue).await
            {
                blue_url = started;
            }
            supervisor
                .start_proxy(&blue_url, &url, (0, 100), live)
                .await?;
        }
        Ok(supervisor)
    }

    /// The proxy's address, once something is deployed.
    pub fn proxy_addr(&self) -> Option<SocketAddr> {
        self.proxy.as_ref().map(ProxyHandle::local_addr)
    }

    /// The deployment's admin account (for smoke tests and synthetic traffic).
    fn secrets(&self, manifest: &ReleaseManifest) -> Result<Secrets, DeployError> {
        self.dir.secrets(&manifest.secret_env)
    }

    async fn start_instance(&mut self, release: &str) -> Result<String, DeployError> {
        let manifest = self.dir.manifest(release)?;
        let secrets = self.secrets(&manifest)?;
        let launch = manifest.launch(&secrets, &self.dir.data_dir());
        let instance = Instance::start(
            &self.dir.release_dir(release),
            &launch,
            &self.dir.log(release),
        )
        .await
        .map_err(|not_ready| {
            DeployError::Refused(format!(
                "release {release} did not start: {}",
                not_ready.reason
            ))
        })?;
        let url = instance.url.clone();
        self.instances.insert(release.to_string(), instance);
        Ok(url)
    }

    async fn start_proxy(
        &mut self,
        blue_url: &str,
        green_url: &str,
        weights: (u32, u32),
        release: &str,
    ) -> Result<(), DeployError> {
        let routes = self
            .dir
            .manifest(release)
            .ok()
            .and_then(|manifest| load_api(&self.dir, &manifest).ok())
            .map(|api| routes(&api))
            .unwrap_or_default();
        let mut config = ProxyConfig::new(
            self.listen,
            [
                Backend {
                    name: "blue".into(),
                    url: blue_url.to_string(),
                },
                Backend {
                    name: "green".into(),
                    url: green_url.to_string(),
                },
            ],
            weights,
        );
        config.routes = routes;
        let proxy = Proxy::start(config).await?;
        let mut state = self.dir.state()?;
        state.proxy_port = Some(proxy.local_addr().port());
        self.dir.save_state(&state)?;
        self.proxy = Some(proxy);
        Ok(())
    }

    fn record(&self, kind: &str, release: &str, detail: String) -> Result<(), DeployError> {
        let mut state = self.dir.state()?;
        state.history.push(Event {
            at_unix_ms: unix_ms(),
            kind: kind.into(),
            release: release.into(),
            detail,
        });
        self.dir.save_state(&state)
    }

    /// Deploys `request.release` as green. Returns the report whatever the outcome; an
    /// error means the deployment itself could not be worked on (unreadable state, a proxy
    /// that cannot listen).
    pub async fn deploy(&mut self, request: &DeployRequest) -> Result<DeployReport, DeployError> {
        self.generation += 1;
        let started = std::time::Instant::now();
        let release = request.release.clone();
        let manifest = self.dir.manifest(&release)?;
        let secrets = self.secrets(&manifest)?;
        let api = load_api(&self.dir, &manifest)?;
        let state = self.dir.state()?;
        let blue = state.live.clone().filter(|live| *live != release);
        let mut report = DeployReport {
            outcome: DeployOutcome::Rejected,
            summary: String::new(),
            release: release.clone(),
            blue: blue.clone(),
            proxy_url: self.proxy_addr().map(|addr| format!("http://{addr}")),
            green_url: None,
            startup: serde_json::Value::Null,
            smoke: None,
            rollout: None,
            steady: None,
            rollback_ms: None,
            seconds: 0.0,
        };
        // 1. Green starts beside blue (on the shared database: its migrations run now,
        //    before it takes any traffic).
        let launch = manifest.launch(&secrets, &self.dir.data_dir());
        let mut green = match Instance::start(
            &self.dir.release_dir(&release),
            &launch,
            &self.dir.log(&release),
        )
        .await
        {
            Ok(instance) => instance,
            Err(not_ready) => {
                report.summary = format!(
                    "green ({release}) never became ready, so it took no traffic: {}",
                    not_ready.reason
                );
                report.startup = serde_json::json!({
                    "ready": false, "reason": not_ready.reason, "log_tail": not_ready.log_tail,
                });
                report.seconds = started.elapsed().as_secs_f64();
                self.record("rejected", &release, report.summary.clone())?;
                return Ok(report);
            }
        };
        report.green_url = Some(green.url.clone());
        report.startup =
            serde_json::json!({ "ready": true, "url": green.url, "path": launch.ready });
        // 2. Smoke test green directly.
        let smoke = smoke::smoke(
            &green.url,
            &launch.ready,
            &api,
            manifest.admin_login(&secrets),
        )
        .await;
        if !smoke.passed {
            let failure = smoke
                .first_failure()
                .map(|check| format!("{}: {}", check.name, check.detail))
                .unwrap_or_default();
            report.summary = format!(
                "green ({release}) failed its smoke test, so it took no traffic: {failure}"
            );
            report.smoke = Some(smoke);
            green.stop().await;
            report.seconds = started.elapsed().as_secs_f64();
            self.record("rejected", &release, report.summary.clone())?;
            return Ok(report);
        }
        let journey = smoke.requests.clone();
        report.smoke = Some(smoke);
        // 3. Green joins the proxy with no traffic; blue (if any) keeps all of it.
        let blue_url = blue
            .as_ref()
            .and_then(|blue| self.instances.get(blue))
            .map(|instance| instance.url.clone());
        match (&self.proxy, &blue_url) {
            (Some(proxy), Some(blue_url)) => {
                proxy.replace_backend(
                    Slot::Blue,
                    Backend {
                        name: "blue".into(),
                        url: blue_url.clone(),
                    },
                )?;
                proxy.set_weights(100, 0)?;
                proxy.replace_backend(
                    Slot::Green,
                    Backend {
                        name: "green".into(),
                        url: green.url.clone(),
                    },
                )?;
            }
            (Some(proxy), None) => {
                // Nothing live to shift from (the previous release is gone): green takes over.
                proxy.replace_backend(
                    Slot::Green,
                    Backend {
                        name: "green".into(),
                        url: green.url.clone(),
                    },
                )?;
                proxy.set_weights(0, 100)?;
            }
            (None, _) => {
                let url = green.url.clone();
                self.start_proxy(&url, &url, (0, 100), &release).await?;
            }
        }
        let Some(proxy) = self.proxy.as_ref() else {
            return Err(DeployError::Refused("the proxy did not start".into()));
        };
        let proxy_url = format!("http://{}", proxy.local_addr());
        report.proxy_url = Some(proxy_url.clone());
        // 4. The steady client drives traffic through the proxy for the whole shift.
        let plan = request.plan.plan();
        let slow = plan
            .thresholds
            .p95_ms
            .map(|ms| Duration::from_secs_f64(ms / 1000.0));
        let steady = SteadyClient::start(&proxy_url, journey, request.traffic_rps, slow)
            .map_err(DeployError::Refused)?;
        let ready_url = format!("{}{}", green.url, launch.ready);
        let mut watch = GreenWatch {
            instance: &mut green,
            ready_url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .map_err(|error| DeployError::Refused(error.to_string()))?,
        };
        let outcome = if blue_url.is_some() {
            rollout::drive(proxy, &plan, &mut watch).await
        } else {
            // First release: no blue to return to. Green is watched for the first step's
            // window at full traffic with the same thresholds; a breach leaves nothing live.
            let mut first = plan.clone();
            first.steps = vec![rollout::CanaryStep {
                percent: 100,
                watch: plan.steps.first().map_or(Duration::ZERO, |step| step.watch),
            }];
            rollout::drive(proxy, &first, &mut watch).await
        };
        let steady = steady.stop().await;
        if let Some(rollback) = &outcome.rollback {
            let first_bad = [
                steady.first_failure.get("green").map(|bad| bad.at_unix_ms),
                steady.first_slow.get("green").map(|bad| bad.at_unix_ms),
            ]
            .into_iter()
            .flatten()
            .min();
            report.rollback_ms =
                first_bad.map(|first| rollback.weights_returned_unix_ms.saturating_sub(first));
            green.stop().await;
            report.outcome = DeployOutcome::RolledBack;
            report.summary = format!(
                "rolled back to {}: {} at {}% (blue failed {} requests during the shift)",
                blue.as_deref().unwrap_or("nothing (first release)"),
                rollback.breach.describe(),
                rollback.at_percent,
                steady.failed_by_backend.get("blue").copied().unwrap_or(0)
            );
            if blue_url.is_none() {
                // Nothing to return to: no traffic may reach the bad release.
                if let Some(proxy) = self.proxy.take() {
                    proxy.shutdown().await;
                }
            }
            report.rollout = Some(outcome);
            report.steady = Some(steady);
            report.seconds = started.elapsed().as_secs_f64();
            self.record("rolled_back", &release, report.summary.clone())?;
            return Ok(report);
        }
        // 5. Green is live; blue is kept for rollback until it is retired.
        self.instances.insert(release.clone(), green);
        let mut state = self.dir.state()?;
        state.blue = blue.clone();
        state.live = Some(release.clone());
        state.blue_retire_at_unix_ms = blue
            .as_ref()
            .map(|_| unix_ms() + request.keep_blue_secs.saturating_mul(1000));
        self.dir.save_state(&state)?;
        report.outcome = DeployOutcome::Promoted;
        report.summary = format!(
            "{release} serves 100% through {proxy_url}{}; steady client: {} requests, {} failed",
            match &blue {
                Some(blue) => format!(
                    " after canary {} (blue {blue} kept {} s for rollback)",
                    plan.steps
                        .iter()
                        .map(|step| format!("{}%", step.percent))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    request.keep_blue_secs
                ),
                None => " (first release: no previous version to shift from)".to_string(),
            },
            steady.sent,
            steady.failed
        );
        report.rollout = Some(outcome);
        report.steady = Some(steady);
        report.seconds = started.elapsed().as_secs_f64();
        self.record("deployed", &release, report.summary.clone())?;
        Ok(report)
    }

    /// The generation a blue retirement was scheduled in; `retire_blue_if` does nothing when
    /// another deploy, rollback or promote happened since.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Returns all traffic to blue (restarting it from its kept release if it was retired)
    /// and stops green.
    pub async fn rollback(&mut self) -> Result<Status, DeployError> {
        self.generation += 1;
        let mut state = self.dir.state()?;
        let (Some(live), Some(blue)) = (state.live.clone(), state.blue.clone()) else {
            return Err(DeployError::Refused(
                "nothing to roll back to: no previous release is kept (the first release, or it was already rolled back)".into(),
            ));
        };
        let restarted = !self
            .instances
            .get_mut(&blue)
            .is_some_and(Instance::is_running);
        if restarted {
            self.start_instance(&blue).await?;
        }
        let blue_url = self
            .instances
            .get(&blue)
            .map(|instance| instance.url.clone())
            .unwrap_or_default();
        if let Some(proxy) = &self.proxy {
            proxy.replace_backend(
                Slot::Blue,
                Backend {
                    name: "blue".into(),
                    url: blue_url,
                },
            )?;
            proxy.set_weights(100, 0)?;
        }
        if let Some(mut green) = self.instances.remove(&live) {
            green.stop().await;
        }
        state.live = Some(blue.clone());
        state.blue = None;
        state.blue_retire_at_unix_ms = None;
        self.dir.save_state(&state)?;
        self.record(
            "rollback",
            &blue,
            format!(
                "traffic returned from {live} to {blue}{}",
                if restarted {
                    " (blue had been retired and was restarted from its kept release)"
                } else {
                    ""
                }
            ),
        )?;
        self.status()
    }

    /// Retires blue now: green stays live and rollback is no longer instant.
    pub async fn promote(&mut self) -> Result<Status, DeployError> {
        self.generation += 1;
        self.retire_blue("promoted").await?;
        self.status()
    }

    /// Retires blue if nothing happened since `generation` (the keep-blue timer).
    pub async fn retire_blue_if(&mut self, generation: u64) -> Result<(), DeployError> {
        if generation == self.generation {
            self.retire_blue("blue_retired").await?;
        }
        Ok(())
    }

    async fn retire_blue(&mut self, kind: &str) -> Result<(), DeployError> {
        let mut state = self.dir.state()?;
        let Some(blue) = state.blue.clone() else {
            return Err(DeployError::Refused(
                "no blue release is kept: nothing to retire".into(),
            ));
        };
        if let Some(mut instance) = self.instances.remove(&blue) {
            instance.stop().await;
        }
        state.blue_retire_at_unix_ms = None;
        self.dir.save_state(&state)?;
        self.record(
            kind,
            &blue,
            format!("blue {blue} stopped; its release stays on disk for a slower rollback"),
        )
    }

    /// Where things stand.
    pub fn status(&mut self) -> Result<Status, DeployError> {
        let state = self.dir.state()?;
        let mut describe = |release: &Option<String>| {
            release.as_ref().map(|release| {
                let instance = self.instances.get_mut(release);
                let url = instance.as_ref().map(|instance| instance.url.clone());
                InstanceStatus {
                    release: release.clone(),
                    running: instance.is_some_and(Instance::is_running),
                    url,
                }
            })
        };
        let live = describe(&state.live);
        let blue = describe(&state.blue);
        let history_start = state.history.len().saturating_sub(20);
        Ok(Status {
            name: self.name.clone(),
            proxy_url: self.proxy_addr().map(|addr| format!("http://{addr}")),
            weights: self.proxy.as_ref().map(ProxyHandle::weights),
            live,
            blue,
            blue_retire_at_unix_ms: state.blue_retire_at_unix_ms,
            history: state.history[history_start..].to_vec(),
        })
    }

    /// Watches the live release for `window`, adding synthetic traffic at `rps` (0: none),
    /// and evaluates the alerts.
    pub async fn monitor(
        &mut self,
        window: Duration,
        rps: f64,
        thresholds: &AlertThresholds,
    ) -> Result<MonitorReport, DeployError> {
        let state = self.dir.state()?;
        let Some(live) = state.live.clone() else {
            return Err(DeployError::Refused(
                "nothing is deployed: no live release to monitor".into(),
            ));
        };
        let Some(proxy) = self.proxy.as_ref() else {
            return Err(DeployError::Refused("the proxy is not running".into()));
        };
        let proxy_url = format!("http://{}", proxy.local_addr());
        let live_url = self
            .instances
            .get(&live)
            .map(|instance| instance.url.clone())
            .ok_or_else(|| {
                DeployError::Refused(format!("the live release {live} is not running"))
            })?;
        let manifest = self.dir.manifest(&live)?;
        let secrets = self.secrets(&manifest)?;
        let steady = if rps > 0.0 {
            let api = load_api(&self.dir, &manifest)?;
            // The journey through the proxy sets up the synthetic user and records.
            let journey = smoke::smoke(
                &proxy_url,
                &manifest.ready,
                &api,
                manifest.admin_login(&secrets),
            )
            .await;
            if !journey.passed {
                let failure = journey
                    .first_failure()
                    .map(|check| format!("{}: {}", check.name, check.detail))
                    .unwrap_or_default();
                return Err(DeployError::Refused(format!(
                    "the synthetic journey through the proxy failed: {failure}"
                )));
            }
            Some(
                SteadyClient::start(&proxy_url, journey.requests, rps, None)
                    .map_err(DeployError::Refused)?,
            )
        } else {
            None
        };
        proxy.reset_window();
        let started = std::time::Instant::now();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|error| DeployError::Refused(error.to_string()))?;
        let mut pool_max: Option<f64> = None;
        while started.elapsed() < window {
            tokio::time::sleep(
                Duration::from_secs(1).min(window.saturating_sub(started.elapsed())),
            )
            .await;
            if let Ok(response) = http.get(format!("{live_url}/metrics")).send().await
                && let Ok(text) = response.text().await
                && let Some(usage) = monitor::pool_usage_percent(&text)
            {
                pool_max = Some(pool_max.map_or(usage, |max: f64| max.max(usage)));
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let backends = proxy.snapshot();
        let endpoints = proxy.endpoints();
        let steady = match steady {
            Some(steady) => Some(steady.stop().await),
            None => None,
        };
        let live_slot = if proxy.weights().1 > 0 {
            "green"
        } else {
            "blue"
        };
        let figures = backends
            .iter()
            .find(|stats| stats.name == live_slot)
            .map_or_else(
                || figures_of(0, 0, [0, 0, 0], seconds, pool_max),
                |stats| {
                    figures_of(
                        stats.requests,
                        stats.server_errors + stats.transport_errors,
                        [stats.p50_us, stats.p95_us, stats.p99_us],
                        seconds,
                        pool_max,
                    )
                },
            );
        let alerts = monitor::evaluate(&figures, thresholds);
        let endpoints = endpoints
            .iter()
            .filter(|endpoint| endpoint.backend == live_slot && endpoint.requests > 0)
            .map(|endpoint| {
                let line = figures_of(
                    endpoint.requests,
                    endpoint.server_errors + endpoint.transport_errors,
                    [endpoint.p50_us, endpoint.p95_us, endpoint.p99_us],
                    seconds,
                    None,
                );
                serde_json::json!({
                    "method": endpoint.method, "route": endpoint.route,
                    "requests": endpoint.requests, "throughput_rps": line.throughput_rps,
                    "p50_ms": line.p50_ms, "p95_ms": line.p95_ms, "p99_ms": line.p99_ms,
                    "error_rate_percent": line.error_rate_percent,
                    "client_errors": endpoint.client_errors,
                })
            })
            .collect();
        Ok(MonitorReport {
            release: live,
            window_secs: seconds,
            synthetic_rps: rps,
            figures,
            endpoints,
            alerts,
            steady,
        })
    }

    /// Stops the proxy and every instance (the state stays: reopening restarts them).
    pub async fn shutdown(mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.shutdown().await;
        }
        for (_, mut instance) in std::mem::take(&mut self.instances) {
            instance.stop().await;
        }
    }
}

#[allow(clippy::cast_precision_loss)] // request counts and microseconds are far below 2^52
fn figures_of(
    requests: u64,
    failures: u64,
    quantiles_us: [u64; 3],
    seconds: f64,
    pool: Option<f64>,
) -> monitor::LiveFigures {
    let error_rate = if requests == 0 {
        0.0
    } else {
        failures as f64 * 100.0 / requests as f64
    };
    monitor::LiveFigures {
        requests,
        failures,
        p50_ms: quantiles_us[0] as f64 / 1000.0,
        p95_ms: quantiles_us[1] as f64 / 1000.0,
        p99_ms: quantiles_us[2] as f64 / 1000.0,
        throughput_rps: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        error_rate_percent: error_rate,
        availability_percent: if requests == 0 {
            0.0
        } else {
            100.0 - error_rate
        },
        db_pool_max_usage_percent: pool,
    }
}

fn load_api(dir: &DeploymentDir, manifest: &ReleaseManifest) -> Result<Api, DeployError> {
    let path = dir.release_dir(&manifest.id).join(&manifest.openapi);
    let text = std::fs::read_to_string(&path).map_err(|source| DeployError::Io {
        path: path.clone(),
        source,
    })?;
    let document: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| DeployError::BadFile {
            path: path.clone(),
            line: error.line(),
            message: error.to_string(),
        })?;
    Api::from_document(document).map_err(|error| DeployError::BadFile {
        path,
        line: 0,
        message: error.to_string(),
    })
}

fn routes(api: &Api) -> Vec<Route> {
    api.operations
        .iter()
        .map(|operation| Route {
            method: operation.method.to_string(),
            template: operation.path.clone(),
        })
        .collect()
}
