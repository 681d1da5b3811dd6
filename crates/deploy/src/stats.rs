//! Per-backend and per-endpoint counters and latency histograms for the current monitoring
//! window. One mutex per backend guards the whole window, so a request is recorded with one
//! lock and a snapshot is consistent across its totals and endpoints.

use std::sync::Mutex;
use std::sync::MutexGuard;
use std::time::Duration;
use std::time::Instant;
use std::time::SystemTime;

use hdrhistogram::Histogram;
use http::Method;
use serde::Deserialize;
use serde::Serialize;

use crate::route::Attribution;
use crate::route::CompiledRoute;
use crate::route::UNMATCHED_ROUTE;

/// Longer latencies are recorded as this (an hour, far beyond any backend timeout).
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// One backend's figures since the last [`crate::ProxyHandle::reset_window`] (or since the
/// backend was put in its slot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendStats {
    pub name: String,
    pub requests: u64,
    /// Responses with a 4xx status from the backend itself.
    pub client_errors: u64,
    /// Responses with a 5xx status from the backend itself.
    pub server_errors: u64,
    /// Requests that got no response from the backend in time (answered 502 or 504 by the
    /// proxy).
    pub transport_errors: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Wall-clock time (ms since the Unix epoch) of the window's first 5xx or transport
    /// failure: a rollout driver compares it with the time it shifted traffic.
    pub first_failure_unix_ms: Option<u64>,
    /// Seconds since the window started, to turn counts into rates.
    pub window_secs: f64,
}

/// One endpoint of one backend in the current window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// The backend's name.
    pub backend: String,
    /// The route's method in upper case, or the method as sent for unmatched requests.
    pub method: String,
    /// The route template, or [`UNMATCHED_ROUTE`].
    pub route: String,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub transport_errors: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// What became of one forwarded request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Response {
        status: u16,
    },
    /// No response: connect failure, reset or timeout.
    Transport,
}

impl Outcome {
    fn is_failure(self) -> bool {
        match self {
            Outcome::Response { status } => status >= 500,
            Outcome::Transport => true,
        }
    }
}

/// Counts and latencies of one bucket (a backend, or one endpoint of it).
#[derive(Debug)]
struct Tally {
    requests: u64,
    client_errors: u64,
    server_errors: u64,
    transport_errors: u64,
    /// Microseconds; auto-resizing, so recording never fails.
    latency: Histogram<u64>,
}

/// Latency quantiles of a tally, all 0 when it is empty.
struct Quantiles {
    p50: u64,
    p95: u64,
    p99: u64,
    max: u64,
}

impl Tally {
    fn new() -> Self {
        let mut latency =
            Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures is valid"));
        latency.auto(true);
        Self {
            requests: 0,
            client_errors: 0,
            server_errors: 0,
            transport_errors: 0,
            latency,
        }
    }

    fn add(&mut self, outcome: Outcome, micros: u64) {
        self.requests += 1;
        match outcome {
            Outcome::Response { status: 400..=499 } => self.client_errors += 1,
            Outcome::Response { status: 500.. } => self.server_errors += 1,
            Outcome::Response { .. } => {}
            Outcome::Transport => self.transport_errors += 1,
        }
        // `saturating_record` would clamp to the histogram's current top (about 2 ms at first)
        // instead of growing it; `record` grows it and only fails on absurd values.
        if let Err(error) = self.latency.record(micros.min(MAX_LATENCY_US)) {
            tracing::warn!(%error, micros, "latency not recorded");
        }
    }

    fn quantiles(&self) -> Quantiles {
        if self.latency.is_empty() {
            return Quantiles {
                p50: 0,
                p95: 0,
                p99: 0,
                max: 0,
            };
        }
        Quantiles {
            p50: self.latency.value_at_quantile(0.50),
            p95: self.latency.value_at_quantile(0.95),
            p99: self.latency.value_at_quantile(0.99),
            max: self.latency.max(),
        }
    }
}

#[derive(Debug)]
struct Window {
    started_at: Instant,
    first_failure_unix_ms: Option<u64>,
    total: Tally,
    /// Indexed like the configured routes; a histogram is only allocated once a route is hit.
    routes: Vec<Option<Tally>>,
    /// Unmatched requests by method; a handful of methods at most, so a list beats a map.
    unmatched: Vec<(Method, Tally)>,
}

impl Window {
    fn new(route_count: usize) -> Self {
        Self {
            started_at: Instant::now(),
            first_failure_unix_ms: None,
            total: Tally::new(),
            routes: (0..route_count).map(|_| None).collect(),
            unmatched: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct BackendCounters {
    name: String,
    route_count: usize,
    window: Mutex<Window>,
}

impl BackendCounters {
    pub(crate) fn new(name: String, route_count: usize) -> Self {
        Self {
            name,
            route_count,
            window: Mutex::new(Window::new(route_count)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        self.window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn record(&self, attribution: &Attribution, outcome: Outcome, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut window = self.lock();
        window.total.add(outcome, micros);
        if outcome.is_failure() && window.first_failure_unix_ms.is_none() {
            window.first_failure_unix_ms = Some(unix_ms(SystemTime::now()));
        }
        match attribution {
            Attribution::Route(index) => match window.routes.get_mut(*index) {
                Some(slot) => slot.get_or_insert_with(Tally::new).add(outcome, micros),
                None => tracing::error!(index, "route index out of range; endpoint not counted"),
            },
            Attribution::Unmatched(method) => {
                match window
                    .unmatched
                    .iter_mut()
                    .find(|(known, _)| known == method)
                {
                    Some((_, tally)) => tally.add(outcome, micros),
                    None => {
                        let mut tally = Tally::new();
                        tally.add(outcome, micros);
                        window.unmatched.push((method.clone(), tally));
                    }
                }
            }
        }
    }

    pub(crate) fn snapshot(&self) -> BackendStats {
        let window = self.lock();
        let quantiles = window.total.quantiles();
        BackendStats {
            name: self.name.clone(),
            requests: window.total.requests,
            client_errors: window.total.client_errors,
            server_errors: window.total.server_errors,
            transport_errors: window.total.transport_errors,
            p50_us: quantiles.p50,
            p95_us: quantiles.p95,
            p99_us: quantiles.p99,
            max_us: quantiles.max,
            first_failure_unix_ms: window.first_failure_unix_ms,
            window_secs: window.started_at.elapsed().as_secs_f64(),
        }
    }

    /// Appends this backend's endpoints that saw requests in the window, unsorted.
    pub(crate) fn endpoints(&self, routes: &[CompiledRoute], out: &mut Vec<EndpointStats>) {
        let window = self.lock();
        let endpoint = |method: &str, route: &str, tally: &Tally| {
            let quantiles = tally.quantiles();
            EndpointStats {
                backend: self.name.clone(),
                method: method.to_owned(),
                route: route.to_owned(),
                requests: tally.requests,
                client_errors: tally.client_errors,
                server_errors: tally.server_errors,
                transport_errors: tally.transport_errors,
                p50_us: quantiles.p50,
                p95_us: quantiles.p95,
                p99_us: quantiles.p99,
                max_us: quantiles.max,
            }
        };
        for (route, tally) in routes.iter().zip(&window.routes) {
            if let Some(tally) = tally {
                out.push(endpoint(route.method.as_str(), &route.template, tally));
            }
        }
        for (method, tally) in &window.unmatched {
            out.push(endpoint(method.as_str(), UNMATCHED_ROUTE, tally));
        }
    }

    pub(crate) fn reset(&self) {
        *self.lock() = Window::new(self.route_count);
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_beyond_the_initial_histogram_range_are_kept_not_clamped() {
        let counters = BackendCounters::new("green".into(), 0);
        let unmatched = Attribution::Unmatched(Method::GET);
        counters.record(&unmatched, Outcome::Transport, Duration::from_secs(5));
        counters.record(
            &unmatched,
            Outcome::Response { status: 200 },
            Duration::from_micros(300),
        );
        let stats = counters.snapshot();
        assert!((4_990_000..=5_010_000).contains(&stats.max_us), "{stats:?}");
        assert!((299..=301).contains(&stats.p50_us), "{stats:?}");
    }
}
