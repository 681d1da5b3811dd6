//! Prometheus metrics of the HTTP surface: a request counter and a latency histogram, both
//! labelled by method, route template (never a concrete path: `unmatched` for requests no
//! route matched) and status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::extract::Request;
use axum::extract::State;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Default)]
struct Series {
    /// Observations per bucket (not cumulative), the last one is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum_secs: f64,
    count: u64,
}

#[derive(Default)]
pub(crate) struct Metrics {
    series: Mutex<BTreeMap<Labels, Series>>,
    /// Counted by the run workers as their engines record events.
    pub(crate) runs: std::sync::Arc<RunCounters>,
}

/// What the server's run workers did since it started.
#[derive(Debug, Default)]
pub(crate) struct RunCounters {
    steps_finished: AtomicU64,
    steps_failed: AtomicU64,
    gates_passed: AtomicU64,
    gates_failed: AtomicU64,
    gates_not_run: AtomicU64,
    runs_completed: AtomicU64,
    runs_failed: AtomicU64,
}

impl RunCounters {
    /// Counts one recorded event.
    pub(crate) fn observe(&self, event: &apiwright_engine::Event) {
        use apiwright_engine::Event;
        use apiwright_engine::event::GateOutcome;
        let counter = match event {
            Event::StepFinished { .. } => &self.steps_finished,
            Event::StepFailed { .. } => &self.steps_failed,
            Event::GateEvaluated { outcome, .. } => match outcome {
                GateOutcome::Passed => &self.gates_passed,
                GateOutcome::Failed => &self.gates_failed,
                GateOutcome::NotRun => &self.gates_not_run,
            },
            Event::RunCompleted => &self.runs_completed,
            Event::RunFailed { .. } => &self.runs_failed,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        out.push_str("# HELP apiwright_steps_total Step attempts the server's workers ended.\n");
        out.push_str("# TYPE apiwright_steps_total counter\n");
        let _ = writeln!(
            out,
            "apiwright_steps_total{{outcome=\"finished\"}} {}",
            get(&self.steps_finished)
        );
        let _ = writeln!(
            out,
            "apiwright_steps_total{{outcome=\"failed\"}} {}",
            get(&self.steps_failed)
        );
        out.push_str("# HELP apiwright_gates_total Gates the server's workers evaluated.\n");
        out.push_str("# TYPE apiwright_gates_total counter\n");
        let _ = writeln!(
            out,
            "apiwright_gates_total{{outcome=\"passed\"}} {}",
            get(&self.gates_passed)
        );
        let _ = writeln!(
            out,
            "apiwright_gates_total{{outcome=\"failed\"}} {}",
            get(&self.gates_failed)
        );
        let _ = writeln!(
            out,
            "apiwright_gates_total{{outcome=\"not_run\"}} {}",
            get(&self.gates_not_run)
        );
        out.push_str(
            "# HELP apiwright_runs_ended_total Runs the server's workers drove to an end.\n",
        );
        out.push_str("# TYPE apiwright_runs_ended_total counter\n");
        let _ = writeln!(
            out,
            "apiwright_runs_ended_total{{status=\"completed\"}} {}",
            get(&self.runs_completed)
        );
        let _ = writeln!(
            out,
            "apiwright_runs_ended_total{{status=\"failed\"}} {}",
            get(&self.runs_failed)
        );
    }
}

/// Gauges read when scraped: runs by status in the store and the worker pool's load.
pub(crate) fn render_gauges(
    out: &mut String,
    by_status: &[(String, i64)],
    queued: usize,
    running: usize,
) {
    out.push_str("# HELP apiwright_runs Runs in the state database by status.\n");
    out.push_str("# TYPE apiwright_runs gauge\n");
    for (status, count) in by_status {
        let _ = writeln!(out, "apiwright_runs{{status=\"{status}\"}} {count}");
    }
    out.push_str("# HELP apiwright_run_workers Runs the server's pool holds.\n");
    out.push_str("# TYPE apiwright_run_workers gauge\n");
    let _ = writeln!(out, "apiwright_run_workers{{state=\"queued\"}} {queued}");
    let _ = writeln!(out, "apiwright_run_workers{{state=\"running\"}} {running}");
}

/// The method as a label: standard methods by name, anything else `other` (bounded labels).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    fn observe(&self, labels: Labels, elapsed_secs: f64) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = series.entry(labels).or_default();
        let index = BUCKETS
            .iter()
            .position(|bound| elapsed_secs <= *bound)
            .unwrap_or(BUCKETS.len());
        entry.buckets[index] += 1;
        entry.sum_secs += elapsed_secs;
        entry.count += 1;
    }

    /// The text exposition format (version 0.0.4).
    pub(crate) fn render(&self) -> String {
        let series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP apiwright_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE apiwright_http_requests_total counter\n");
        for (labels, values) in series.iter() {
            let _ = writeln!(
                out,
                "apiwright_http_requests_total{{{}}} {}",
                label_text(labels),
                values.count
            );
        }
        out.push_str("# HELP apiwright_http_request_duration_seconds Time to serve a request.\n");
        out.push_str("# TYPE apiwright_http_request_duration_seconds histogram\n");
        for (labels, values) in series.iter() {
            let labels_text = label_text(labels);
            let mut cumulative = 0;
            for (bound, observed) in BUCKETS.iter().zip(values.buckets) {
                cumulative += observed;
                let _ = writeln!(
                    out,
                    "apiwright_http_request_duration_seconds_bucket{{{labels_text},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "apiwright_http_request_duration_seconds_bucket{{{labels_text},le=\"+Inf\"}} {}",
                values.count
            );
            let _ = writeln!(
                out,
                "apiwright_http_request_duration_seconds_sum{{{labels_text}}} {}",
                values.sum_secs
            );
            let _ = writeln!(
                out,
                "apiwright_http_request_duration_seconds_count{{{labels_text}}} {}",
                values.count
            );
        }
        self.runs.render(&mut out);
        out
    }
}

/// Route templates are our own literals and contain no `"` or `\`; escaped anyway.
fn label_text(labels: &Labels) -> String {
    let route = labels.route.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "method=\"{}\",route=\"{route}\",status=\"{}\"",
        labels.method, labels.status
    )
}

/// Times every request and records it under its route template.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics().observe(
        Labels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labelled() {
        let metrics = Metrics::default();
        let labels = Labels {
            method: "GET",
            route: "/api/v1/api-keys/{id}".into(),
            status: 204,
        };
        metrics.observe(labels.clone(), 0.0007);
        metrics.observe(labels, 20.0);
        let text = metrics.render();
        let labels = r#"method="GET",route="/api/v1/api-keys/{id}",status="204""#;
        for line in [
            format!("apiwright_http_requests_total{{{labels}}} 2"),
            format!("apiwright_http_request_duration_seconds_bucket{{{labels},le=\"0.0005\"}} 0"),
            format!("apiwright_http_request_duration_seconds_bucket{{{labels},le=\"0.001\"}} 1"),
            format!("apiwright_http_request_duration_seconds_bucket{{{labels},le=\"10\"}} 1"),
            format!("apiwright_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2"),
            format!("apiwright_http_request_duration_seconds_count{{{labels}}} 2"),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
