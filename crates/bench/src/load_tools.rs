//! The two load tools the HTTP benchmarks compare, each given the same share of the machine:
//! `wrk -t1` (run, and its `--latency` output read) and the built-in generator
//! (`apiwright-load`) on a tokio runtime with one worker thread. Shared by `load-calibration`
//! and `bookstore-load`.

use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use anyhow::bail;

/// One measured run of one tool against one endpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// `wrk` or `apiwright-load`.
    pub tool: String,
    /// Round number, from 1.
    pub round: usize,
    /// Completed requests.
    pub requests: u64,
    /// Responses that were not 2xx or 3xx, plus transport errors (for wrk: its non-2xx/3xx
    /// and socket error counts).
    pub errors: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median latency in microseconds.
    pub p50_us: f64,
    /// 95th percentile latency in microseconds (`wrk --latency` does not print one).
    pub p95_us: Option<f64>,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
}

/// What `wrk --latency` printed, in microseconds.
#[derive(Debug, Clone, PartialEq)]
struct WrkOutput {
    requests: u64,
    errors: u64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
}

/// A wrk duration such as `812.00us`, `1.23ms` or `2.01s`, in microseconds.
fn wrk_duration_us(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(value) = text.strip_suffix("us") {
        (value, 1.0)
    } else if let Some(value) = text.strip_suffix("ms") {
        (value, 1_000.0)
    } else if let Some(value) = text.strip_suffix('s') {
        (value, 1_000_000.0)
    } else {
        return None;
    };
    number.trim().parse::<f64>().ok().map(|value| value * scale)
}

/// Reads `N requests in …`, `Requests/sec:`, the 50 % / 99 % lines of `wrk --latency`, and
/// the error lines wrk prints only when there were errors (`Non-2xx or 3xx responses: N`,
/// `Socket errors: connect A, read B, write C, timeout D`).
fn parse_wrk(output: &str) -> Option<WrkOutput> {
    let mut requests = None;
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    let mut errors = 0;
    for line in output.lines() {
        let line = line.trim();
        if let Some(count) = line.split_once(" requests in ").map(|(n, _)| n) {
            requests = count.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("Requests/sec:") {
            rps = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("50%") {
            p50 = wrk_duration_us(value);
        } else if let Some(value) = line.strip_prefix("99%") {
            p99 = wrk_duration_us(value);
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += value.trim().parse::<u64>().ok()?;
        } else if let Some(value) = line.strip_prefix("Socket errors:") {
            for part in value.split(',') {
                errors += part
                    .split_whitespace()
                    .last()
                    .and_then(|count| count.parse::<u64>().ok())?;
            }
        }
    }
    Some(WrkOutput {
        requests: requests?,
        errors,
        rps: rps?,
        p50_us: p50?,
        p99_us: p99?,
    })
}

/// `wrk -t1 -cN -dSs --latency URL`.
pub fn wrk(url: &str, connections: usize, seconds: u64, round: usize) -> anyhow::Result<Row> {
    wrk_with_headers(url, &[], connections, seconds, round)
}

/// `wrk -t1 -cN -dSs --latency [-H HEADER]… URL`.
pub fn wrk_with_headers(
    url: &str,
    headers: &[&str],
    connections: usize,
    seconds: u64,
    round: usize,
) -> anyhow::Result<Row> {
    let mut args = vec![
        "-t1".to_owned(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".to_owned(),
    ];
    for header in headers {
        args.extend(["-H".to_owned(), (*header).to_owned()]);
    }
    args.push(url.to_owned());
    let output = Command::new("wrk")
        .args(&args)
        .output()
        .context("running wrk (install it: apt-get install -y wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk exited with {:?}: {text}", output.status.code());
    }
    let parsed = parse_wrk(&text).with_context(|| {
        format!("expected wrk's request count, rate and latency lines, found:\n{text}")
    })?;
    Ok(Row {
        tool: "wrk".into(),
        round,
        requests: parsed.requests,
        errors: parsed.errors,
        rps: parsed.rps,
        p50_us: parsed.p50_us,
        p95_us: None,
        p99_us: parsed.p99_us,
    })
}

/// A closed-loop run of the generator sending `GET path` on `connections` keep-alive
/// connections for `seconds`, as wrk does.
pub fn closed_loop_get(
    base_url: &str,
    path: &str,
    connections: usize,
    seconds: u64,
    rss: Option<apiwright_load::RssConfig>,
) -> apiwright_load::RunConfig {
    apiwright_load::RunConfig {
        target: apiwright_load::Target {
            base_url: base_url.to_string(),
            requests: vec![apiwright_load::RequestSpec {
                method: "GET".into(),
                path: path.to_string(),
                headers: Vec::new(),
                body: None,
                weight: 1,
            }],
        },
        mode: apiwright_load::Mode::ClosedLoop {
            connections,
            duration: Duration::from_secs(seconds),
        },
        open_loop_connections: connections,
        max_in_flight: connections,
        request_timeout: Duration::from_secs(5),
        rss,
    }
}

/// Runs the generator on a runtime of its own with one worker thread (the share `wrk -t1`
/// gets).
pub fn generate(config: &apiwright_load::RunConfig) -> anyhow::Result<apiwright_load::Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("generator runtime")?;
    runtime
        .block_on(apiwright_load::run(config))
        .context("the built-in load generator")
}

/// The row of a generator run.
pub fn generator_row(report: &apiwright_load::Report, round: usize) -> Row {
    let stats = &report.stats;
    Row {
        tool: "apiwright-load".into(),
        round,
        requests: stats.requests,
        errors: stats.errors + stats.client_errors,
        rps: stats.throughput_rps,
        p50_us: stats.latency_us.p50 as f64,
        p95_us: Some(stats.latency_us.p95 as f64),
        p99_us: stats.latency_us.p99 as f64,
    }
}

/// Mean throughput of `tool`'s rows (0 when it has none).
pub fn mean_rps(rows: &[Row], tool: &str) -> f64 {
    let picked: Vec<f64> = rows
        .iter()
        .filter(|row| row.tool == tool)
        .map(|row| row.rps)
        .collect();
    picked.iter().sum::<f64>() / picked.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read_with_its_units() {
        let output = "Running 10s test @ http://127.0.0.1:1/\n  1 threads and 32 connections\n  Latency Distribution\n     50%  812.00us\n     75%    1.10ms\n     90%    1.50ms\n     99%    2.01ms\n  123456 requests in 10.00s, 20.00MB read\nRequests/sec:  12345.60\nTransfer/sec:      2.00MB\n";
        let parsed = parse_wrk(output).unwrap();
        assert_eq!(parsed.requests, 123_456);
        assert_eq!(parsed.errors, 0);
        assert!((parsed.rps - 12_345.6).abs() < 1e-6);
        assert!((parsed.p50_us - 812.0).abs() < 1e-6);
        assert!((parsed.p99_us - 2_010.0).abs() < 1e-6);
        assert_eq!(wrk_duration_us("1.5s"), Some(1_500_000.0));
        assert!(parse_wrk("no numbers here").is_none());
    }

    #[test]
    fn wrk_errors_add_non_2xx_and_socket_errors() {
        let output = "     50%  1.00ms\n     99%    3.00ms\n  5000 requests in 5.00s, 2.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 3\n  Non-2xx or 3xx responses: 40\nRequests/sec:   1000.00\n";
        let parsed = parse_wrk(output).unwrap();
        assert_eq!(parsed.errors, 45);
        assert_eq!(parsed.requests, 5_000);
        assert!(parse_wrk(&output.replace(": 40", ": forty")).is_none());
    }

    #[test]
    fn mean_rps_is_per_tool() {
        let row = |tool: &str, rps: f64| Row {
            tool: tool.into(),
            round: 1,
            requests: 1,
            errors: 0,
            rps,
            p50_us: 1.0,
            p95_us: None,
            p99_us: 1.0,
        };
        let rows = [
            row("wrk", 100.0),
            row("apiwright-load", 80.0),
            row("wrk", 200.0),
        ];
        assert!((mean_rps(&rows, "wrk") - 150.0).abs() < 1e-9);
        assert!((mean_rps(&rows, "apiwright-load") - 80.0).abs() < 1e-9);
        assert_eq!(mean_rps(&rows, "other"), 0.0);
    }
}
