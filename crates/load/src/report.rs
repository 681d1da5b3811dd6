//! Counting and summarising outcomes ([`Stats`], [`Report`]) and comparing a report with given
//! SLA numbers ([`Slas`], [`SlaViolation`]).
//!
//! Classes: 2xx/3xx are `ok`; 4xx are `client_errors` (the load mix asked for something the
//! service refuses — usually a scenario bug, not a service failure); 5xx and transport errors
//! (connect failure, reset, timeout) are `errors`, `transport_errors` being the latter alone.
//! Open-loop requests not sent because `max_in_flight` was reached are `dropped`; they count in
//! the error rate, since the service did not serve load it was offered.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Deserialize;
use serde::Serialize;

use crate::client::Outcome;
use crate::error::LoadError;
use crate::error::Result;
use crate::rss::RssSeries;

/// Highest latency the histogram resolves; slower responses are recorded as this.
const MAX_LATENCY_US: u64 = 60_000_000;

/// Outcomes counted by one worker (or merged from several).
#[derive(Debug)]
pub(crate) struct Recorder {
    histogram: Histogram<u64>,
    requests: u64,
    ok: u64,
    client_errors: u64,
    errors: u64,
    transport_errors: u64,
    dropped: u64,
    per_status: BTreeMap<u16, u64>,
    first_transport_error: Option<String>,
}

impl Recorder {
    pub(crate) fn new() -> Result<Self> {
        let histogram = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
            .map_err(|error| LoadError::Histogram(error.to_string()))?;
        Ok(Recorder {
            histogram,
            requests: 0,
            ok: 0,
            client_errors: 0,
            errors: 0,
            transport_errors: 0,
            dropped: 0,
            per_status: BTreeMap::new(),
            first_transport_error: None,
        })
    }

    /// Latency is recorded for responses only; a transport error has no response time.
    pub(crate) fn record(&mut self, outcome: Outcome, latency: Duration) {
        self.requests += 1;
        match outcome {
            Outcome::Response(status) => {
                let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.histogram.saturating_record(micros.min(MAX_LATENCY_US));
                *self.per_status.entry(status).or_insert(0) += 1;
                match status {
                    ..400 => self.ok += 1,
                    400..500 => self.client_errors += 1,
                    500.. => self.errors += 1,
                }
            }
            Outcome::Transport(message) => {
                self.errors += 1;
                self.transport_errors += 1;
                self.first_transport_error.get_or_insert(message);
            }
        }
    }

    pub(crate) fn record_dropped(&mut self) {
        self.dropped += 1;
    }

    pub(crate) fn merge(&mut self, other: &Recorder) -> Result<()> {
        self.histogram
            .add(&other.histogram)
            .map_err(|error| LoadError::Histogram(error.to_string()))?;
        self.requests += other.requests;
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.errors += other.errors;
        self.transport_errors += other.transport_errors;
        self.dropped += other.dropped;
        for (status, count) in &other.per_status {
            *self.per_status.entry(*status).or_insert(0) += count;
        }
        if self.first_transport_error.is_none() {
            self.first_transport_error
                .clone_from(&other.first_transport_error);
        }
        Ok(())
    }

    pub(crate) fn stats(&self, elapsed: Duration) -> Stats {
        let elapsed_secs = elapsed.as_secs_f64();
        let empty = self.histogram.is_empty();
        let quantile = |q: f64| {
            if empty {
                0
            } else {
                self.histogram.value_at_quantile(q)
            }
        };
        Stats {
            elapsed_secs,
            requests: self.requests,
            ok: self.ok,
            client_errors: self.client_errors,
            errors: self.errors,
            transport_errors: self.transport_errors,
            dropped: self.dropped,
            throughput_rps: if elapsed_secs > 0.0 {
                self.requests as f64 / elapsed_secs
            } else {
                0.0
            },
            latency_us: Latency {
                responses: self.histogram.len(),
                p50: quantile(0.50),
                p95: quantile(0.95),
                p99: quantile(0.99),
                max: if empty { 0 } else { self.histogram.max() },
                mean: if empty { 0.0 } else { self.histogram.mean() },
            },
            per_status: self.per_status.clone(),
            first_transport_error: self.first_transport_error.clone(),
        }
    }
}

/// Counts and latency of a run or of one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Run: from the first (intended) send to the last completion. Phase: its scheduled length.
    pub elapsed_secs: f64,
    /// Completed requests: a response or a transport error (dropped ones are not sent).
    pub requests: u64,
    /// 2xx and 3xx responses.
    pub ok: u64,
    /// 4xx responses.
    pub client_errors: u64,
    /// 5xx responses plus transport errors.
    pub errors: u64,
    /// Requests without a complete response (connect, reset, timeout); included in `errors`.
    pub transport_errors: u64,
    /// Open loop: due while `max_in_flight` requests were outstanding, so not sent.
    pub dropped: u64,
    /// `requests / elapsed_secs`.
    pub throughput_rps: f64,
    pub latency_us: Latency,
    pub per_status: BTreeMap<u16, u64>,
    /// The first transport error's message, as evidence of what went wrong.
    pub first_transport_error: Option<String>,
}

impl Stats {
    /// `(errors + dropped) / (requests + dropped)` in percent; 0 when nothing was due.
    pub fn error_rate_percent(&self) -> f64 {
        let due = self.requests + self.dropped;
        if due == 0 {
            0.0
        } else {
            (self.errors + self.dropped) as f64 * 100.0 / due as f64
        }
    }
}

/// Response latency in microseconds (3 significant figures). Open loop and spike measure from
/// the intended send time (coordinated-omission corrected), closed loop from the actual send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// How many responses the percentiles are over.
    pub responses: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

/// One window of a spike run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// `base`, `spike` or `recovery`.
    pub name: String,
    pub rate_per_sec: f64,
    /// Requests are attributed to the phase their intended send time falls in.
    pub stats: Stats,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `open_loop`, `closed_loop` or `spike`.
    pub mode: String,
    /// Open loop: the arrival rate offered.
    pub offered_rate_per_sec: Option<f64>,
    pub stats: Stats,
    /// Spike: one entry per window, in order; empty otherwise.
    pub phases: Vec<PhaseReport>,
    pub rss: Option<RssSeries>,
}

/// SLA numbers to compare a report with; `None` means not checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slas {
    /// Highest acceptable p95 latency.
    pub p95_ms: Option<f64>,
    /// Lowest acceptable throughput.
    pub rps: Option<f64>,
    /// Highest acceptable error rate ([`Stats::error_rate_percent`]).
    pub error_rate_percent: Option<f64>,
    /// Highest acceptable RSS (the maximum sample).
    pub memory_mb: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    P95Latency,
    Throughput,
    ErrorRate,
    Memory,
}

/// One SLA the report does not meet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaViolation {
    pub metric: SlaMetric,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for SlaViolation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metric = match self.metric {
            SlaMetric::P95Latency => "p95 latency",
            SlaMetric::Throughput => "throughput",
            SlaMetric::ErrorRate => "error rate",
            SlaMetric::Memory => "memory",
        };
        write!(
            formatter,
            "{metric}: expected {}, found {}",
            self.expected, self.found
        )
    }
}

impl Report {
    /// The SLAs this report does not meet. An SLA that cannot be checked (no responses for a
    /// latency SLA, no RSS samples for a memory SLA) is a violation, never a silent pass.
    pub fn check(&self, slas: &Slas) -> Vec<SlaViolation> {
        let stats = &self.stats;
        let mut violations = Vec::new();
        if let Some(p95_ms) = slas.p95_ms {
            let found_ms = stats.latency_us.p95 as f64 / 1000.0;
            if stats.latency_us.responses == 0 {
                violations.push(SlaViolation {
                    metric: SlaMetric::P95Latency,
                    expected: format!("at most {p95_ms} ms"),
                    found: "no responses to measure".into(),
                });
            } else if found_ms > p95_ms {
                violations.push(SlaViolation {
                    metric: SlaMetric::P95Latency,
                    expected: format!("at most {p95_ms} ms"),
                    found: format!(
                        "{found_ms:.1} ms over {} responses",
                        stats.latency_us.responses
                    ),
                });
            }
        }
        if let Some(rps) = slas.rps
            && stats.throughput_rps < rps
        {
            let offered = match self.offered_rate_per_sec {
                Some(offered) => format!(" (open loop offered {offered} req/s)"),
                None => String::new(),
            };
            violations.push(SlaViolation {
                metric: SlaMetric::Throughput,
                expected: format!("at least {rps} req/s"),
                found: format!("{:.1} req/s{offered}", stats.throughput_rps),
            });
        }
        if let Some(limit) = slas.error_rate_percent {
            let found = stats.error_rate_percent();
            if found > limit {
                violations.push(SlaViolation {
                    metric: SlaMetric::ErrorRate,
                    expected: format!("at most {limit}%"),
                    found: format!(
                        "{found:.2}% ({} errors of which {} transport, {} dropped, of {} due)",
                        stats.errors,
                        stats.transport_errors,
                        stats.dropped,
                        stats.requests + stats.dropped
                    ),
                });
            }
        }
        if let Some(memory_mb) = slas.memory_mb {
            match &self.rss {
                Some(series) if !series.samples.is_empty() => {
                    let found_mb = series.max_kb as f64 / 1024.0;
                    if found_mb > memory_mb {
                        violations.push(SlaViolation {
                            metric: SlaMetric::Memory,
                            expected: format!("at most {memory_mb} MB RSS"),
                            found: format!("{found_mb:.1} MB maximum RSS of pid {}", series.pid),
                        });
                    }
                }
                Some(_) | None => violations.push(SlaViolation {
                    metric: SlaMetric::Memory,
                    expected: format!("at most {memory_mb} MB RSS"),
                    found: "no RSS samples (the run sampled no process)".into(),
                }),
            }
        }
        violations
    }
}
