//! Per-backend counters and latency histogram for the current monitoring window.

use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// One backend's figures since the last [`crate::ProxyHandle::reset_window`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendStats {
    pub name: String,
    pub requests: u64,
    /// Responses with a 5xx status from the backend itself.
    pub server_errors: u64,
    /// Requests that got no response from the backend (answered 502 by the proxy).
    pub transport_errors: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

#[derive(Debug)]
struct Window {
    requests: u64,
    server_errors: u64,
    transport_errors: u64,
    /// Microseconds; auto-resizing, so recording never fails.
    latency: Histogram<u64>,
}

impl Window {
    fn new() -> Self {
        let mut latency =
            Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures is valid"));
        latency.auto(true);
        Self {
            requests: 0,
            server_errors: 0,
            transport_errors: 0,
            latency,
        }
    }
}

/// What became of one forwarded request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Response { status: u16 },
    Transport,
}

#[derive(Debug)]
pub(crate) struct BackendCounters {
    name: String,
    window: Mutex<Window>,
}

impl BackendCounters {
    pub(crate) fn new(name: String) -> Self {
        Self {
            name,
            window: Mutex::new(Window::new()),
        }
    }

    pub(crate) fn record(&self, outcome: Outcome, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        window.requests += 1;
        match outcome {
            Outcome::Response { status } => {
                if status >= 500 {
                    window.server_errors += 1;
                }
            }
            Outcome::Transport => window.transport_errors += 1,
        }
        window.latency.saturating_record(micros);
    }

    pub(crate) fn snapshot(&self) -> BackendStats {
        let window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let quantile = |q: f64| {
            if window.latency.is_empty() {
                0
            } else {
                window.latency.value_at_quantile(q)
            }
        };
        BackendStats {
            name: self.name.clone(),
            requests: window.requests,
            server_errors: window.server_errors,
            transport_errors: window.transport_errors,
            p50_us: quantile(0.50),
            p95_us: quantile(0.95),
            p99_us: quantile(0.99),
            max_us: if window.latency.is_empty() {
                0
            } else {
                window.latency.max()
            },
        }
    }

    pub(crate) fn reset(&self) {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *window = Window::new();
    }
}
