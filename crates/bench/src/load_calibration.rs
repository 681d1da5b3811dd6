//! `load-calibration`: the built-in load generator (`apiwright-load`, closed loop) against `wrk`
//! on the same server in the same run. Issue 4 asks for the generator's closed-loop
//! throughput to be within 15 % of wrk's.
//!
//! The server is an in-process axum service answering a small JSON document, on a runtime of
//! its own with one worker thread; each tool gets one thread and the same number of keep-alive
//! connections (`wrk -t1 -cN`, a one-worker tokio runtime for the generator). The two tools
//! alternate for several rounds so drift on this noisy machine hits both alike; the verdict
//! compares their mean throughputs.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use anyhow::bail;

/// One measured run of one tool.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// `wrk` or `apiwright-load`.
    pub tool: String,
    /// Round number, from 1.
    pub round: usize,
    /// Completed requests.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median latency in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
}

/// All rows and the verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Keep-alive connections per tool.
    pub connections: usize,
    /// Seconds per run.
    pub seconds: u64,
    /// Alternating runs, wrk first in each round.
    pub rows: Vec<Row>,
    /// Mean throughput of the generator divided by wrk's.
    pub ratio: f64,
}

impl Results {
    /// Whether the generator's throughput is within 15 % of wrk's.
    pub fn within_target(&self) -> bool {
        (self.ratio - 1.0).abs() <= 0.15
    }
}

/// Starts the server on its own one-worker runtime; it lives until the process exits.
fn start_server() -> anyhow::Result<SocketAddr> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = sender.send(Err(error.to_string()));
                return;
            }
        };
        runtime.block_on(async move {
            let app = axum::Router::new().route(
                "/api/v1/notes/1",
                axum::routing::get(|| async {
                    (
                        [("content-type", "application/json")],
                        r#"{"id":"1","title":"calibration","done":false}"#,
                    )
                }),
            );
            let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(listener) => listener,
                Err(error) => {
                    let _ = sender.send(Err(error.to_string()));
                    return;
                }
            };
            let _ = sender.send(listener.local_addr().map_err(|error| error.to_string()));
            let _ = axum::serve(listener, app).await;
        });
    });
    receiver
        .recv()
        .context("the calibration server thread ended")?
        .map_err(|error| anyhow::anyhow!("starting the calibration server: {error}"))
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

/// Reads `N requests in …`, `Requests/sec:` and the 50 % / 99 % lines of `wrk --latency`.
fn parse_wrk(output: &str) -> Option<(u64, f64, f64, f64)> {
    let mut requests = None;
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
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
        }
    }
    Some((requests?, rps?, p50?, p99?))
}

fn run_wrk(url: &str, connections: usize, seconds: u64, round: usize) -> anyhow::Result<Row> {
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
        .context("running wrk (install it: apt-get install -y wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk exited with {:?}: {text}", output.status.code());
    }
    let (requests, rps, p50_us, p99_us) = parse_wrk(&text).with_context(|| {
        format!("expected wrk's request count, rate and latency lines, found:\n{text}")
    })?;
    Ok(Row {
        tool: "wrk".into(),
        round,
        requests,
        rps,
        p50_us,
        p99_us,
    })
}

fn run_generator(
    address: SocketAddr,
    connections: usize,
    seconds: u64,
    round: usize,
) -> anyhow::Result<Row> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("generator runtime")?;
    let config = apiwright_load::RunConfig {
        target: apiwright_load::Target {
            base_url: format!("http://{address}"),
            requests: vec![apiwright_load::RequestSpec {
                method: "GET".into(),
                path: "/api/v1/notes/1".into(),
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
        rss: None,
    };
    let report = runtime
        .block_on(apiwright_load::run(&config))
        .context("the built-in load generator")?;
    let stats = &report.stats;
    if stats.errors > 0 || stats.requests == 0 {
        bail!(
            "expected only successful responses, found {} errors of {} requests",
            stats.errors,
            stats.requests
        );
    }
    Ok(Row {
        tool: "apiwright-load".into(),
        round,
        requests: stats.requests,
        rps: stats.throughput_rps,
        p50_us: stats.latency_us.p50 as f64,
        p99_us: stats.latency_us.p99 as f64,
    })
}

pub fn run(connections: usize, seconds: u64, rounds: usize) -> anyhow::Result<Results> {
    let address = start_server()?;
    let url = format!("http://{address}/api/v1/notes/1");
    let mut rows = Vec::new();
    for round in 1..=rounds {
        rows.push(run_wrk(&url, connections, seconds, round)?);
        rows.push(run_generator(address, connections, seconds, round)?);
    }
    let mean = |tool: &str| {
        let picked: Vec<f64> = rows
            .iter()
            .filter(|row| row.tool == tool)
            .map(|row| row.rps)
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let ratio = mean("apiwright-load") / mean("wrk");
    Ok(Results {
        connections,
        seconds,
        rows,
        ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read_with_its_units() {
        let output = "Running 10s test @ http://127.0.0.1:1/\n  1 threads and 32 connections\n  Latency Distribution\n     50%  812.00us\n     75%    1.10ms\n     90%    1.50ms\n     99%    2.01ms\n  123456 requests in 10.00s, 20.00MB read\nRequests/sec:  12345.60\nTransfer/sec:      2.00MB\n";
        let (requests, rps, p50, p99) = parse_wrk(output).unwrap();
        assert_eq!(requests, 123_456);
        assert!((rps - 12_345.6).abs() < 1e-6);
        assert!((p50 - 812.0).abs() < 1e-6);
        assert!((p99 - 2_010.0).abs() < 1e-6);
        assert_eq!(wrk_duration_us("1.5s"), Some(1_500_000.0));
        assert!(parse_wrk("no numbers here").is_none());
    }
}
