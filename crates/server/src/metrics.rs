//! Prometheus metrics of the HTTP surface: a request counter and a latency histogram, both
//! labelled by method, route template (never a concrete path: `unmatched` for requests no
//! route matched) and status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
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
