//! `serve-api`: `apiwright serve` (the release binary, its embedded store) answering
//! `GET /api/v1/runs/{id}` with a valid access token under `wrk` on loopback, and the server's
//! resident memory while it does.
//!
//! The run read is a real one: a workflow registered over HTTP and driven to completion by the
//! server's workers before the load starts. Rate limits are turned off for the measurement
//! (they would answer 429 to one client at this rate: they are what is being bypassed, not
//! measured). The server has the machine's two cores with wrk (`-t1`) beside it.

use std::io::BufRead as _;
use std::io::Read as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context as _;
use anyhow::bail;

use crate::load_tools;

/// Seed 000's objective for the API apiwright builds, and issue 7's for apiwright's own.
const TARGET_RPS: f64 = 20_000.0;
const TARGET_P99_US: f64 = 5_000.0;
const TARGET_RSS_MB: f64 = 100.0;

const WORKFLOW: &str = r#"
name: bench-demo
description: One step that writes a note, for the serve-api benchmark.
memory_pattern: "bench/{agent}/{deliverable}"
agents:
  - id: writer
    description: Writes a note.
    command: 'cat >/dev/null; echo "\"hello\""'
phases:
  - id: write
    title: Write
    steps:
      - {id: write, agent: writer, task: write a note, writes: [note]}
    gates:
      - {id: noted, criterion: The note is stored, command: {run: "true"}}
"#;

/// One wrk round and the server's memory during it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Round {
    /// wrk's figures.
    pub wrk: load_tools::Row,
    /// Highest resident set size of the server seen during the round, in MiB.
    pub rss_peak_mib: f64,
}

/// Everything `serve-api` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// wrk connections.
    pub connections: usize,
    /// Seconds per round.
    pub seconds: u64,
    /// Events in the run read (its log replayed for the first request only).
    pub run_events: u64,
    /// Bytes of the run's JSON.
    pub body_bytes: usize,
    /// The rounds.
    pub rounds: Vec<Round>,
    /// The server's peak RSS over the whole benchmark (`VmHWM`), in MiB.
    pub rss_hwm_mib: f64,
}

impl Results {
    fn met(&self) -> (bool, bool) {
        let rate = self
            .rounds
            .iter()
            .all(|round| round.wrk.rps >= TARGET_RPS && round.wrk.p99_us < TARGET_P99_US);
        (rate, self.rss_hwm_mib < TARGET_RSS_MB)
    }
}

/// Kills the server if the benchmark stops early.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(
    binary: &Path,
    connections: usize,
    seconds: u64,
    rounds: usize,
) -> anyhow::Result<Results> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let db = dir.path().join("state.db");
    let db_arg = db.to_str().context("a UTF-8 temp path")?;
    let password = "benchmark password 1234";
    let mut admin = Command::new(binary)
        .args([
            "--db",
            db_arg,
            "admin",
            "create",
            "--email",
            "bench@example.com",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("running apiwright admin create")?;
    admin
        .stdin
        .take()
        .context("admin stdin")?
        .write_all(format!("{password}\n").as_bytes())?;
    if !admin.wait()?.success() {
        bail!("apiwright admin create failed");
    }
    let mut child = Command::new(binary)
        .current_dir(dir.path())
        .args([
            "--db",
            db_arg,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--per-ip-per-minute",
            "0",
            "--per-principal-per-minute",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting apiwright serve")?;
    let stderr = child.stderr.take().context("server stderr")?;
    let server = Server(child);
    let mut lines = std::io::BufReader::new(stderr).lines();
    let address: SocketAddr = loop {
        let line = lines
            .next()
            .context("the server stopped before listening")??;
        if let Some(address) = line.strip_prefix("listening on http://") {
            break address.trim().parse().context("the printed address")?;
        }
    };
    // Keep reading the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let (status, body) = http(
        address,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&serde_json::json!({"email": "bench@example.com", "password": password}).to_string()),
    )?;
    if status != 200 {
        bail!("login: expected 200, found {status}: {body}");
    }
    let token: serde_json::Value = serde_json::from_str(&body)?;
    let token = token["access_token"]
        .as_str()
        .context("an access token")?
        .to_owned();
    let (status, body) = http(
        address,
        "POST",
        "/api/v1/workflows",
        Some(&token),
        Some(&serde_json::json!({ "yaml": WORKFLOW }).to_string()),
    )?;
    if status != 201 {
        bail!("registering the workflow: expected 201, found {status}: {body}");
    }
    let (status, body) = http(
        address,
        "POST",
        "/api/v1/runs",
        Some(&token),
        Some(r#"{"workflow": "bench-demo"}"#),
    )?;
    if status != 202 {
        bail!("starting the run: expected 202, found {status}: {body}");
    }
    let run: serde_json::Value = serde_json::from_str(&body)?;
    let run_id = run["id"].as_str().context("a run id")?.to_owned();
    let path = format!("/api/v1/runs/{run_id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (run_events, body_bytes) = loop {
        let (status, body) = http(address, "GET", &path, Some(&token), None)?;
        let run: serde_json::Value = serde_json::from_str(&body)?;
        if status == 200 && run["status"] == "completed" {
            break (run["events"].as_u64().unwrap_or(0), body.len());
        }
        if Instant::now() > deadline {
            bail!("the benchmark's run did not complete: {body}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let pid = server.0.id();
    let url = format!("http://{address}{path}");
    let header = format!("Authorization: Bearer {token}");
    let mut measured = Vec::new();
    for round in 1..=rounds {
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let sampling = std::sync::Arc::clone(&sampling);
            std::thread::spawn(move || {
                let mut peak = 0.0_f64;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(status_mib(pid, "VmRSS:").unwrap_or(0.0));
                    std::thread::sleep(Duration::from_millis(100));
                }
                peak
            })
        };
        let wrk = load_tools::wrk_with_headers(&url, &[&header], connections, seconds, round);
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let rss_peak_mib = sampler.join().unwrap_or(0.0);
        measured.push(Round {
            wrk: wrk?,
            rss_peak_mib,
        });
    }
    let rss_hwm_mib = status_mib(pid, "VmHWM:").unwrap_or(0.0);
    drop(server);
    Ok(Results {
        connections,
        seconds,
        run_events,
        body_bytes,
        rounds: measured,
        rss_hwm_mib,
    })
}

/// A field of `/proc/PID/status` in kB, as MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One HTTP/1.1 exchange on a fresh connection (setup requests only; the load is wrk's).
fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address).context("connecting to the server")?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or_default());
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("expected an HTTP status line, found: {response:.80}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The Markdown section.
pub fn render(results: &Results, header: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("### serve-api\n\n");
    out.push_str(header);
    let _ = writeln!(
        out,
        "- `GET /api/v1/runs/{{id}}` with a valid access token (JWT checked on every request), \
         the run completed by the server's workers before the load ({} events, {} bytes of \
         JSON); `wrk -t1 -c{} -d{}s --latency` on loopback beside `apiwright serve` (release, \
         embedded SQLite, rate limits off for the measurement); RSS sampled every 100 ms from \
         /proc.\n",
        results.run_events, results.body_bytes, results.connections, results.seconds
    );
    out.push_str("| round | requests | errors | req/s | p50 | p99 | server RSS peak |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for round in &results.rounds {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.1} MiB |",
            round.wrk.round,
            round.wrk.requests,
            round.wrk.errors,
            round.wrk.rps,
            round.wrk.p50_us / 1000.0,
            round.wrk.p99_us / 1000.0,
            round.rss_peak_mib
        );
    }
    let (rate, memory) = results.met();
    let _ = writeln!(
        out,
        "\nTargets: ≥ {TARGET_RPS:.0} req/s with p99 < {:.0} ms in every round — {}; RSS < \
         {TARGET_RSS_MB:.0} MB (peak {:.1} MiB, VmHWM) — {}.\n",
        TARGET_P99_US / 1000.0,
        if rate { "**met**" } else { "**MISSED**" },
        results.rss_hwm_mib,
        if memory { "**met**" } else { "**MISSED**" },
    );
    out
}
