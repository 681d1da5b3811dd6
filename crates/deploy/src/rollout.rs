//! The canary driver: moves green's share of traffic through the steps, judges green's window
//! figures every interval, and returns all traffic to blue the moment a threshold is crossed,
//! green's process exits or its health check fails.

use std::time::Duration;
use std::time::Instant;

use serde::Deserialize;
use serde::Serialize;

use crate::instance::Instance;
use crate::proxy::ProxyHandle;
use crate::stats::BackendStats;
use crate::unix_ms;

/// When green is bad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// 5xx and transport failures of green above this share (percent) roll back.
    pub max_error_rate_percent: f64,
    /// Green's p95 above this (ms) rolls back; `None`: latency is reported, not judged.
    pub p95_ms: Option<f64>,
    /// Fewest green requests in a window before its p95 is judged (a p95 of two samples says
    /// little); errors are judged from the first request.
    pub min_requests_for_latency: u64,
}

/// One canary step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryStep {
    pub percent: u32,
    pub watch: Duration,
}

/// The steps and how often green is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryPlan {
    pub steps: Vec<CanaryStep>,
    pub interval: Duration,
    pub thresholds: Thresholds,
}

/// Why traffic went back to blue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Breach {
    ErrorRate {
        percent: f64,
        failures: u64,
        requests: u64,
        limit_percent: f64,
    },
    Latency {
        p95_ms: f64,
        limit_ms: f64,
        requests: u64,
    },
    Down {
        reason: String,
    },
}

impl Breach {
    /// One line for summaries.
    pub fn describe(&self) -> String {
        match self {
            Breach::ErrorRate {
                percent,
                failures,
                requests,
                limit_percent,
            } => format!(
                "green's error rate {percent:.1}% ({failures} of {requests} requests) exceeded {limit_percent}%"
            ),
            Breach::Latency {
                p95_ms,
                limit_ms,
                requests,
            } => format!(
                "green's p95 {p95_ms:.1} ms over {requests} requests exceeded the {limit_ms} ms objective"
            ),
            Breach::Down { reason } => format!("green is down: {reason}"),
        }
    }
}

/// Judges one window of green's figures.
pub fn judge(green: &BackendStats, thresholds: &Thresholds) -> Option<Breach> {
    let failures = green.server_errors + green.transport_errors;
    if green.requests > 0 && failures > 0 {
        #[allow(clippy::cast_precision_loss)] // request counts are far below 2^52
        let percent = failures as f64 * 100.0 / green.requests as f64;
        if percent > thresholds.max_error_rate_percent {
            return Some(Breach::ErrorRate {
                percent,
                failures,
                requests: green.requests,
                limit_percent: thresholds.max_error_rate_percent,
            });
        }
    }
    if let Some(limit_ms) = thresholds.p95_ms
        && green.requests >= thresholds.min_requests_for_latency
    {
        #[allow(clippy::cast_precision_loss)]
        let p95_ms = green.p95_us as f64 / 1000.0;
        if p95_ms > limit_ms {
            return Some(Breach::Latency {
                p95_ms,
                limit_ms,
                requests: green.requests,
            });
        }
    }
    None
}

/// What one step saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub percent: u32,
    pub watched_secs: f64,
    pub evaluations: u32,
    /// Green's and blue's window figures at the end of the step (or at the breach).
    pub green: Option<BackendStats>,
    pub blue: Option<BackendStats>,
}

/// The return to blue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollback {
    pub breach: Breach,
    /// The step during which the breach was seen.
    pub at_percent: u32,
    /// When the driver saw the breach and when blue had all traffic again (ms since epoch).
    pub decided_unix_ms: u64,
    pub weights_returned_unix_ms: u64,
}

/// How the rollout ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutReport {
    pub steps: Vec<StepReport>,
    /// `None` when green reached 100% with every window within the thresholds.
    pub rollback: Option<Rollback>,
    pub seconds: f64,
}

/// Something that says whether green still serves: its process runs and its ready path
/// answers 2xx.
#[derive(Debug)]
pub struct GreenWatch<'a> {
    pub instance: &'a mut Instance,
    pub ready_url: String,
    pub http: reqwest::Client,
}

impl GreenWatch<'_> {
    async fn down(&mut self) -> Option<String> {
        if !self.instance.is_running() {
            return Some("its process exited".into());
        }
        match self.http.get(&self.ready_url).send().await {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("{} answered {}", self.ready_url, response.status())),
            Err(error) => Some(format!("{}: {error}", self.ready_url)),
        }
    }
}

/// Runs the plan on `proxy` (slot 0 blue, slot 1 green). On a breach, blue gets all traffic
/// before anything else happens.
pub async fn drive(
    proxy: &ProxyHandle,
    plan: &CanaryPlan,
    green: &mut GreenWatch<'_>,
) -> RolloutReport {
    let started = Instant::now();
    let mut steps = Vec::new();
    for step in &plan.steps {
        let percent = step.percent.min(100);
        proxy.reset_window();
        // Weights out of 100 are always valid (never both zero), so this cannot fail.
        let _ = proxy.set_weights(100 - percent, percent);
        tracing::info!(percent, watch_secs = step.watch.as_secs(), "canary step");
        let step_started = Instant::now();
        let mut evaluations = 0;
        loop {
            let remaining = step.watch.saturating_sub(step_started.elapsed());
            if remaining.is_zero() {
                break;
            }
            tokio::time::sleep(remaining.min(plan.interval)).await;
            evaluations += 1;
            let (blue_stats, green_stats) = split(proxy.snapshot());
            let breach = match green.down().await {
                Some(reason) => Some(Breach::Down { reason }),
                None => green_stats
                    .as_ref()
                    .and_then(|stats| judge(stats, &plan.thresholds)),
            };
            if let Some(breach) = breach {
                let decided_unix_ms = unix_ms();
                let _ = proxy.set_weights(100, 0);
                let weights_returned_unix_ms = unix_ms();
                tracing::warn!(reason = %breach.describe(), "rolled back to blue");
                steps.push(step_report(
                    percent,
                    &step_started,
                    evaluations,
                    (blue_stats, green_stats),
                ));
                return RolloutReport {
                    steps,
                    rollback: Some(Rollback {
                        breach,
                        at_percent: percent,
                        decided_unix_ms,
                        weights_returned_unix_ms,
                    }),
                    seconds: started.elapsed().as_secs_f64(),
                };
            }
        }
        steps.push(step_report(
            percent,
            &step_started,
            evaluations,
            split(proxy.snapshot()),
        ));
    }
    RolloutReport {
        steps,
        rollback: None,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn step_report(
    percent: u32,
    started: &Instant,
    evaluations: u32,
    (blue, green): (Option<BackendStats>, Option<BackendStats>),
) -> StepReport {
    StepReport {
        percent,
        watched_secs: started.elapsed().as_secs_f64(),
        evaluations,
        green,
        blue,
    }
}

/// Blue's and green's figures from a snapshot (slot order).
fn split(snapshot: Vec<BackendStats>) -> (Option<BackendStats>, Option<BackendStats>) {
    let mut slots = snapshot.into_iter();
    (slots.next(), slots.next())
}

#[cfg(test)]
mod tests {
    use super::*;

    impl BackendStats {
        fn empty(name: &str) -> BackendStats {
            BackendStats {
                name: name.into(),
                requests: 0,
                client_errors: 0,
                server_errors: 0,
                transport_errors: 0,
                first_failure_unix_ms: None,
                window_secs: 0.0,
                p50_us: 0,
                p95_us: 0,
                p99_us: 0,
                max_us: 0,
            }
        }
    }

    fn stats(requests: u64, server_errors: u64, p95_ms: u64) -> BackendStats {
        let mut stats = BackendStats::empty("green");
        stats.requests = requests;
        stats.server_errors = server_errors;
        stats.p95_us = p95_ms * 1000;
        stats
    }

    fn thresholds(p95_ms: Option<f64>) -> Thresholds {
        Thresholds {
            max_error_rate_percent: 1.0,
            p95_ms,
            min_requests_for_latency: 5,
        }
    }

    #[test]
    fn one_failure_in_fifty_breaches_one_percent() {
        let breach = judge(&stats(50, 1, 3), &thresholds(None));
        assert!(matches!(
            breach,
            Some(Breach::ErrorRate {
                failures: 1,
                requests: 50,
                ..
            })
        ));
        assert!(
            judge(&stats(200, 1, 3), &thresholds(None)).is_none(),
            "0.5% is within 1%"
        );
    }

    #[test]
    fn latency_is_judged_only_with_enough_requests_and_an_objective() {
        assert!(judge(&stats(3, 0, 900), &thresholds(Some(200.0))).is_none());
        let breach = judge(&stats(10, 0, 300), &thresholds(Some(200.0)));
        assert!(
            breach
                .as_ref()
                .is_some_and(|b| b.describe().contains("200 ms objective")),
            "{breach:?}"
        );
        assert!(judge(&stats(10, 0, 300), &thresholds(None)).is_none());
    }
}
