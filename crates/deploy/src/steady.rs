//! The steady client: requests sent through the proxy at a constant rate for the whole traffic
//! shift, each one's outcome counted by the backend that answered (`x-apiwright-backend`), so
//! "zero downtime" is a count of failed requests, not a claim.
//!
//! A request fails when no response arrives (connection refused or reset, timeout) or the
//! response is a 5xx. A 429 is counted apart: the service answered by its own policy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

use apiwright_load::RequestSpec;
use serde::Deserialize;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::proxy::BACKEND_HEADER;
use crate::unix_ms;

/// Failures kept with their details; the rest are only counted.
const KEPT_FAILURES: usize = 20;

/// One request that failed or was slow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadResponse {
    /// Wall-clock time the response (or the error) arrived, in ms since the Unix epoch.
    pub at_unix_ms: u64,
    /// `blue`, `green`, or `proxy` when no backend header came back.
    pub backend: String,
    pub method: String,
    pub path: String,
    /// The status, or `None` for a transport failure.
    pub status: Option<u16>,
    pub latency_ms: f64,
    /// The error for transport failures.
    pub error: Option<String>,
}

/// What the steady client saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SteadyReport {
    pub rate_per_sec: f64,
    pub seconds: f64,
    pub sent: u64,
    pub succeeded: u64,
    /// 5xx responses and transport failures.
    pub failed: u64,
    pub rate_limited: u64,
    /// 4xx other than 429 (a request the service refused; not downtime).
    pub client_errors: u64,
    /// Answers per backend.
    pub by_backend: BTreeMap<String, u64>,
    /// Failed requests per backend (`proxy` when no backend answered).
    pub failed_by_backend: BTreeMap<String, u64>,
    /// The first failure, and the first response slower than the latency budget, per backend.
    pub first_failure: BTreeMap<String, BadResponse>,
    pub first_slow: BTreeMap<String, BadResponse>,
    /// Up to 20 failures with their details.
    pub failures: Vec<BadResponse>,
}

#[derive(Debug)]
struct Tally {
    report: SteadyReport,
}

/// A running steady client; [`SteadyClient::stop`] ends it and returns the report.
#[derive(Debug)]
pub struct SteadyClient {
    tally: Arc<Mutex<Tally>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    started: Instant,
}

impl SteadyClient {
    /// Starts sending `requests` (weighted round robin) to `base_url` at `rate_per_sec`.
    /// Responses slower than `slow` are recorded as slow (the first per backend).
    pub fn start(
        base_url: &str,
        requests: Vec<RequestSpec>,
        rate_per_sec: f64,
        slow: Option<Duration>,
    ) -> Result<SteadyClient, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| format!("cannot build the steady client: {error}"))?;
        let schedule = weighted(&requests);
        if schedule.is_empty() || rate_per_sec.is_nan() || rate_per_sec <= 0.0 {
            return Err(format!(
                "expected at least one request with a positive weight and a positive rate, found {} requests at {rate_per_sec}/s",
                schedule.len()
            ));
        }
        let tally = Arc::new(Mutex::new(Tally {
            report: SteadyReport {
                rate_per_sec,
                ..SteadyReport::default()
            },
        }));
        let (stop, mut stopped) = watch::channel(false);
        let base_url = base_url.trim_end_matches('/').to_string();
        let shared = Arc::clone(&tally);
        let requests = Arc::new(requests);
        let task = tokio::spawn(async move {
            let period = Duration::from_secs_f64(1.0 / rate_per_sec);
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut in_flight = Vec::new();
            for index in schedule.iter().cycle() {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stopped.changed() => break,
                }
                let request = requests[*index].clone();
                let http = http.clone();
                let url = format!("{base_url}{}", request.path);
                let tally = Arc::clone(&shared);
                in_flight.push(tokio::spawn(async move {
                    send(&http, &url, &request, slow, &tally).await;
                }));
                in_flight.retain(|task: &JoinHandle<()>| !task.is_finished());
            }
            // Requests already sent are waited for: their outcome is part of the shift.
            for task in in_flight {
                let _ = task.await;
            }
        });
        Ok(SteadyClient {
            tally,
            stop,
            task,
            started: Instant::now(),
        })
    }

    /// The figures so far.
    pub fn snapshot(&self) -> SteadyReport {
        let mut report = lock(&self.tally).report.clone();
        report.seconds = self.started.elapsed().as_secs_f64();
        report
    }

    /// Stops sending, waits for the requests in flight, and returns the report.
    pub async fn stop(self) -> SteadyReport {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let mut report = lock(&self.tally).report.clone();
        report.seconds = self.started.elapsed().as_secs_f64();
        report
    }
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    tally
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Indices of `requests`, each repeated by its weight reduced by the weights' common divisor,
/// interleaved so that a short run still sees every kind.
fn weighted(requests: &[RequestSpec]) -> Vec<usize> {
    let divisor = requests
        .iter()
        .map(|request| request.weight)
        .filter(|weight| *weight > 0)
        .fold(0, gcd);
    if divisor == 0 {
        return Vec::new();
    }
    let mut remaining: Vec<u32> = requests.iter().map(|r| r.weight / divisor).collect();
    let mut order = Vec::new();
    while remaining.iter().any(|left| *left > 0) {
        for (index, left) in remaining.iter_mut().enumerate() {
            if *left > 0 {
                *left -= 1;
                order.push(index);
            }
        }
    }
    order
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    request: &RequestSpec,
    slow: Option<Duration>,
    tally: &Mutex<Tally>,
) {
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = http.request(method, url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let started = Instant::now();
    let result = builder.send().await;
    let outcome = match result {
        Ok(response) => {
            let backend = response
                .headers()
                .get(BACKEND_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("proxy")
                .to_string();
            let status = response.status().as_u16();
            // The body is part of the response: a reset half-way is a failure too.
            match response.bytes().await {
                Ok(_) => (backend, Some(status), None),
                Err(error) => (backend, None, Some(error.to_string())),
            }
        }
        Err(error) => ("proxy".to_string(), None, Some(error.to_string())),
    };
    let latency = started.elapsed();
    let (backend, status, error) = outcome;
    let bad = BadResponse {
        at_unix_ms: unix_ms(),
        backend: backend.clone(),
        method: request.method.clone(),
        path: request.path.clone(),
        status,
        latency_ms: latency.as_secs_f64() * 1000.0,
        error,
    };
    let mut tally = lock(tally);
    let report = &mut tally.report;
    report.sent += 1;
    *report.by_backend.entry(backend.clone()).or_default() += 1;
    match status {
        Some(status) if status >= 500 => record_failure(report, bad),
        None => record_failure(report, bad),
        Some(429) => report.rate_limited += 1,
        Some(status) if status >= 400 => {
            report.client_errors += 1;
        }
        Some(_) => {
            report.succeeded += 1;
            if slow.is_some_and(|limit| latency > limit) {
                report.first_slow.entry(backend).or_insert(bad);
            }
        }
    }
}

fn record_failure(report: &mut SteadyReport, bad: BadResponse) {
    report.failed += 1;
    *report
        .failed_by_backend
        .entry(bad.backend.clone())
        .or_default() += 1;
    report
        .first_failure
        .entry(bad.backend.clone())
        .or_insert_with(|| bad.clone());
    if report.failures.len() < KEPT_FAILURES {
        report.failures.push(bad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, weight: u32) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
            weight,
        }
    }

    #[test]
    fn weights_are_reduced_and_interleaved() {
        let order = weighted(&[spec("/a", 50), spec("/b", 30), spec("/c", 0)]);
        assert_eq!(order.len(), 8, "50:30 reduces to 5:3");
        assert_eq!(&order[..4], &[0, 1, 0, 1]);
        assert!(!order.contains(&2), "a zero weight is never sent");
    }

    #[test]
    fn nothing_to_send_is_refused() {
        let refused = SteadyClient::start("http://127.0.0.1:9", vec![spec("/a", 0)], 5.0, None);
        assert!(refused.is_err_and(|error| error.contains("positive weight")));
    }
}
