{% raw %}
//! Prometheus metrics: `http_requests_total` and the `http_request_duration_seconds` histogram,
//! labelled by method, route template (never the raw path, so ids do not explode the label
//! set) and status; and the database pool's `db_pool_connections_in_use` and
//! `db_pool_connections_max` gauges, read when `/metrics` is rendered.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Method, route template, status.
type Labels = (String, String, u16);

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Observations per bucket (not cumulative).
    buckets: [u64; BUCKETS.len()],
}

/// The database pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections lent right now.
    pub in_use: usize,
    /// Connections the pool lends at most.
    pub max: usize,
}

/// Request metrics of the process.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<Labels, Series>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = series
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        entry.count += 1;
        entry.sum += seconds;
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            entry.buckets[bucket] += 1;
        }
    }

    /// The metrics in the Prometheus text exposition format, with the pool gauges of `pool`.
    pub fn render(&self, pool: PoolUsage) -> String {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP http_requests_total Requests served.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for ((method, route, status), entry) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            let _ = writeln!(out, "http_requests_total{{{labels}}} {}", entry.count);
        }
        out.push_str("# HELP http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((method, route, status), entry) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(entry.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                entry.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                entry.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                entry.count
            );
        }
        out.push_str(
            "# HELP db_pool_connections_in_use Database connections in use (pool permits taken).\n",
        );
        out.push_str("# TYPE db_pool_connections_in_use gauge\n");
        let _ = writeln!(out, "db_pool_connections_in_use {}", pool.in_use);
        out.push_str(
            "# HELP db_pool_connections_max Database connections the pool lends at most.\n",
        );
        out.push_str("# TYPE db_pool_connections_max gauge\n");
        let _ = writeln!(out, "db_pool_connections_max {}", pool.max);
        out
    }
}
{% endraw %}
