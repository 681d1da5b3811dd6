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

use anyhow::Context as _;
use anyhow::bail;

use crate::load_tools;
pub use crate::load_tools::Row;

/// The one endpoint of the calibration server.
const PATH: &str = "/api/v1/notes/1";

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
                PATH,
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

fn run_generator(
    address: SocketAddr,
    connections: usize,
    seconds: u64,
    round: usize,
) -> anyhow::Result<Row> {
    let config = load_tools::closed_loop_get(
        &format!("http://{address}"),
        PATH,
        connections,
        seconds,
        /*rss*/ None,
    );
    let row = load_tools::generator_row(&load_tools::generate(&config)?, round);
    if row.errors > 0 || row.requests == 0 {
        bail!(
            "expected only successful responses, found {} errors of {} requests",
            row.errors,
            row.requests
        );
    }
    Ok(row)
}

pub fn run(connections: usize, seconds: u64, rounds: usize) -> anyhow::Result<Results> {
    let address = start_server()?;
    let url = format!("http://{address}{PATH}");
    let mut rows = Vec::new();
    for round in 1..=rounds {
        let wrk = load_tools::wrk(&url, connections, seconds, round)?;
        if wrk.errors > 0 {
            bail!(
                "expected only successful responses from wrk, found {} errors",
                wrk.errors
            );
        }
        rows.push(wrk);
        rows.push(run_generator(address, connections, seconds, round)?);
    }
    let ratio = load_tools::mean_rps(&rows, "apiwright-load") / load_tools::mean_rps(&rows, "wrk");
    Ok(Results {
        connections,
        seconds,
        rows,
        ratio,
    })
}
