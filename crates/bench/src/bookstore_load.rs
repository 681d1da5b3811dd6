//! `bookstore-load`: the service the main job generates from `examples/bookstore.yaml`, built in
//! release mode and put under load, against seed 000's objectives (≥ 1000 req/s sustained,
//! p95 under 200 ms, errors under 0.1 %, memory under 512 MiB).
//!
//! The project comes from the README's main command run in this benchmark (the run ends NO-GO,
//! but the project is complete once its `Cargo.toml` and `openapi.json` exist) or from
//! `--project DIR`, which is copied first so it is never modified. The service runs on a free
//! loopback port with its own database, an admin account and its rate limiter out of reach
//! (a limiter set to 600 requests a minute would measure the limiter, not the service). Data
//! is seeded and the authenticated request mix is built through the HTTP API by
//! `apiwright_probe::traffic`, exactly as the `load` gate does.
//!
//! Each round runs, in this order: `wrk` and the generator closed loop on the public list
//! (the one endpoint both tools can drive identically), the generator closed loop on the
//! mix (maximum throughput of realistic traffic), and the generator open loop on the mix at
//! the objective's rate with the service's memory sampled (what the objectives are checked
//! on). `wrk` has no rate control, so only the generator can run the open-loop part.

use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context as _;
use anyhow::bail;
use apiwright_load::RssConfig;
use apiwright_probe::exchange::Client;
use apiwright_probe::exchange::Request;
use apiwright_probe::openapi::Api;
use apiwright_probe::session::AuthOptions;
use apiwright_probe::session::Login;
use apiwright_probe::session::Session;

use crate::bookstore_service::ADMIN_EMAIL;
use crate::bookstore_service::ADMIN_PASSWORD;
use crate::bookstore_service::Server;
use crate::bookstore_service::Source;
use crate::bookstore_service::build;
use crate::bookstore_service::log_tail;
use crate::bookstore_service::obtain;
use crate::load_tools;
use crate::load_tools::Row;

/// The endpoint both tools drive: the public book list, one page of 20.
pub const LIST_PATH: &str = "/api/v1/books?per_page=20";
/// Keep-alive connections of every closed-loop run, per tool.
pub const CONNECTIONS: usize = 32;
/// Seconds of every closed-loop run.
pub const CLOSED_LOOP_SECS: u64 = 5;
/// Seed 000's objectives (also `examples/bookstore.yaml`'s `slas`).
pub const TARGET_RPS: f64 = 1000.0;
pub const TARGET_P95_MS: f64 = 200.0;
pub const TARGET_ERROR_RATE_PERCENT: f64 = 0.1;
pub const TARGET_MEMORY_MB: f64 = 512.0;
/// Seconds of the open-loop run at the objective's rate.
pub const SUSTAINED_SECS: u64 = 10;
/// Open loop, as the `load` gate: connections serving the schedule, and the most requests
/// outstanding before new ones count as dropped.
const OPEN_LOOP_CONNECTIONS: usize = 64;
const MAX_IN_FLIGHT: usize = 4096;
const RSS_INTERVAL: Duration = Duration::from_millis(250);
/// Each create of the mix is sent this many more times before measuring, so lists and reads
/// see a table of some size.
const SEED_COPIES: usize = 20;
/// Books created before measuring, so the list's page of 20 is full. The mix cannot create
/// books (`isbn` is unique, and a load run repeats the same body), so they are made here.
const SEED_BOOKS: usize = 100;
/// One open-loop run at the objective's rate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SustainedRow {
    pub round: usize,
    pub requests: u64,
    /// 4xx responses (not errors by the objective's definition, but reported).
    pub client_errors: u64,
    /// 5xx responses and transport errors.
    pub errors: u64,
    /// Due while too many were outstanding, so not sent (count as errors).
    pub dropped: u64,
    /// `(errors + dropped) / due`, percent.
    pub error_rate_percent: f64,
    /// Requests completed without error per second of the schedule.
    pub achieved_rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Highest resident set size of the service during the run.
    pub max_rss_mb: f64,
}

/// Everything measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// How the project was obtained.
    pub source: String,
    /// Wall time of `cargo build --release` of the project.
    pub build_secs: f64,
    /// `METHOD path ×weight` of each request in the mix (`(auth)` when it carries a token).
    pub mix: Vec<String>,
    /// Operations left out of the mix, with the reason.
    pub left_out: Vec<String>,
    /// Records created before measuring.
    pub records_seeded: usize,
    /// Records in each collection (`path`, `total`) before the first round.
    pub totals_before: Vec<(String, u64)>,
    /// The same after each round: the mix creates records as it runs.
    pub totals_after: Vec<Vec<(String, u64)>>,
    /// RSS of the service once seeded, before the first run.
    pub idle_rss_mb: f64,
    /// `wrk` and the generator on `LIST_PATH`, alternating, wrk first in each round.
    pub list_rows: Vec<Row>,
    /// The generator closed loop on the mix, one per round.
    pub mix_rows: Vec<Row>,
    /// The generator open loop on the mix at `TARGET_RPS`, one per round.
    pub sustained_rows: Vec<SustainedRow>,
    /// Highest RSS of the service over every generator run.
    pub max_rss_mb: f64,
}

/// One objective and how the measurements compare with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Assessment {
    pub objective: String,
    pub measured: String,
    pub margin: String,
    pub met: bool,
}

impl Results {
    /// Each objective against the worst round (the lowest throughput, the highest p95, error
    /// rate and memory).
    pub fn assess(&self) -> Vec<Assessment> {
        let max_rps = self
            .mix_rows
            .iter()
            .map(|row| row.rps)
            .fold(f64::INFINITY, f64::min);
        let held_rps = self
            .sustained_rows
            .iter()
            .map(|row| row.achieved_rps)
            .fold(f64::INFINITY, f64::min);
        let worst = |pick: fn(&SustainedRow) -> f64| {
            self.sustained_rows.iter().map(pick).fold(0.0_f64, f64::max)
        };
        let p95 = worst(|row| row.p95_ms);
        let error_rate = worst(|row| row.error_rate_percent);
        let ratio = |numerator: f64, denominator: f64| match numerator / denominator {
            factor if !factor.is_finite() || denominator <= 0.0 => "—".to_string(),
            factor if factor < 10.0 => format!("{factor:.1}×"),
            factor => format!("{factor:.0}×"),
        };
        let measured_any = !self.mix_rows.is_empty() && !self.sustained_rows.is_empty();
        vec![
            Assessment {
                objective: format!("≥ {TARGET_RPS:.0} req/s sustained"),
                measured: format!(
                    "{held_rps:.0} req/s completed without error at the {TARGET_RPS:.0} req/s schedule; maximum {max_rps:.0} req/s (mix, closed loop)"
                ),
                margin: format!("{:.1}× (maximum / target)", max_rps / TARGET_RPS),
                // The schedule sends request k at k / rate; rounding may cut one request.
                met: measured_any && held_rps >= TARGET_RPS * 0.999 && max_rps >= TARGET_RPS,
            },
            Assessment {
                objective: format!("p95 < {TARGET_P95_MS:.0} ms"),
                measured: format!("p95 {p95:.2} ms at {TARGET_RPS:.0} req/s"),
                margin: ratio(TARGET_P95_MS, p95),
                met: measured_any && p95 < TARGET_P95_MS,
            },
            Assessment {
                objective: format!("errors < {TARGET_ERROR_RATE_PERCENT} %"),
                measured: format!("{error_rate:.3} % at {TARGET_RPS:.0} req/s"),
                margin: if error_rate == 0.0 {
                    "no errors".into()
                } else {
                    ratio(TARGET_ERROR_RATE_PERCENT, error_rate)
                },
                met: measured_any && error_rate < TARGET_ERROR_RATE_PERCENT,
            },
            Assessment {
                objective: format!("memory < {TARGET_MEMORY_MB:.0} MiB"),
                measured: format!("max RSS {:.1} MiB over every run", self.max_rss_mb),
                margin: ratio(TARGET_MEMORY_MB, self.max_rss_mb),
                met: measured_any && self.max_rss_mb > 0.0 && self.max_rss_mb < TARGET_MEMORY_MB,
            },
        ]
    }
}

/// Waits for `GET /health` 200, signs in as the admin, builds the mix (which creates records)
/// and sends every create of the mix `SEED_COPIES` more times.
async fn prepare(server: &mut Server, project: &Path) -> anyhow::Result<Prepared> {
    let client = Client::new(server.base_url(), Duration::from_secs(10))?;
    let started = Instant::now();
    loop {
        server.check_running()?;
        let exchange = client
            .send(Request::new(http::Method::GET, "/health"))
            .await;
        if exchange.status() == Some(200) {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!(
                "GET /health did not answer 200 within 30 s (last: {}); end of the service's log:\n{}",
                exchange.summary(),
                log_tail(server.log())
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(project.join("openapi.json"))
        .context("reading the project's openapi.json")?;
    let api = Api::from_document(serde_json::from_str(&text).context("openapi.json")?)?;
    let options = AuthOptions {
        admin: Some(Login {
            email: ADMIN_EMAIL.into(),
            password: ADMIN_PASSWORD.into(),
        }),
        ..AuthOptions::default()
    };
    let session = Session::establish(&client, &api, &options).await?;
    let mix = apiwright_probe::traffic::mix(&client, &api, &session).await?;
    let mut seeded = mix.records_created;
    for spec in mix.requests.iter().filter(|spec| spec.method == "POST") {
        for _ in 0..SEED_COPIES {
            let mut request = Request::new(http::Method::POST, &spec.path);
            request.headers = spec.headers.clone();
            request.body = spec.body.clone();
            let exchange = client.send(request).await;
            if exchange
                .status()
                .is_some_and(|status| (200..300).contains(&status))
            {
                seeded += 1;
            } else {
                bail!("seeding {}: {}", spec.path, exchange.summary());
            }
        }
    }
    seeded += seed_books(&client, &session).await?;
    Ok(Prepared {
        client,
        session,
        mix,
        seeded,
    })
}

/// The signed-in client, the mix, and how many records were created.
struct Prepared {
    client: Client,
    session: Session,
    mix: apiwright_probe::traffic::Mix,
    seeded: usize,
}

/// `total` of `GET path?per_page=1` as the admin, for each collection the mix creates in and
/// the books: the tables grow during the runs, and list cost grows with them.
async fn collection_totals(prepared: &Prepared) -> Vec<(String, u64)> {
    let mut paths: Vec<&str> = prepared
        .mix
        .requests
        .iter()
        .filter(|spec| spec.method == "POST")
        .map(|spec| spec.path.as_str())
        .collect();
    paths.push("/api/v1/books");
    paths.sort_unstable();
    paths.dedup();
    let token = prepared
        .session
        .admin
        .as_ref()
        .map_or("", |admin| admin.access_token.as_str());
    let mut totals = Vec::new();
    for path in paths {
        let exchange = prepared
            .client
            .send(Request::new(http::Method::GET, format!("{path}?per_page=1")).bearer(token))
            .await;
        if let Some(total) = exchange
            .json()
            .and_then(|body| body.get("total"))
            .and_then(serde_json::Value::as_u64)
        {
            totals.push((path.to_string(), total));
        }
    }
    totals
}

/// Creates `SEED_BOOKS` books as the admin, each with its own ISBN, by the first book's author.
async fn seed_books(client: &Client, session: &Session) -> anyhow::Result<usize> {
    let token = &session
        .admin
        .as_ref()
        .context("expected an admin session, found none")?
        .access_token;
    let listed = client
        .send(Request::new(http::Method::GET, "/api/v1/books?per_page=1"))
        .await;
    let author_id = listed
        .json()
        .and_then(|body| body.pointer("/data/0/author_id"))
        .and_then(serde_json::Value::as_str)
        .with_context(|| {
            format!(
                "expected a book with an `author_id` in GET /api/v1/books, found {}",
                listed.summary()
            )
        })?
        .to_string();
    for index in 0..SEED_BOOKS {
        let body = serde_json::json!({
            "title": format!("Benchmark book {index}"),
            "isbn": format!("979{index:010}"),
            "price": "12.50",
            "author_id": author_id,
        });
        let exchange = client
            .send(Request::json(http::Method::POST, "/api/v1/books", &body).bearer(token))
            .await;
        if !exchange
            .status()
            .is_some_and(|status| (200..300).contains(&status))
        {
            bail!("seeding books: {}", exchange.summary());
        }
    }
    Ok(SEED_BOOKS)
}

fn mix_config(
    base_url: &str,
    mix: &apiwright_probe::traffic::Mix,
    mode: apiwright_load::Mode,
    rss: Option<RssConfig>,
) -> apiwright_load::RunConfig {
    apiwright_load::RunConfig {
        target: apiwright_load::Target {
            base_url: base_url.to_string(),
            requests: mix.requests.clone(),
        },
        mode,
        open_loop_connections: OPEN_LOOP_CONNECTIONS,
        max_in_flight: MAX_IN_FLIGHT,
        request_timeout: Duration::from_secs(5),
        rss,
    }
}

fn max_rss_mb(report: &apiwright_load::Report) -> f64 {
    report
        .rss
        .as_ref()
        .map_or(0.0, |rss| rss.max_kb as f64 / 1024.0)
}

fn sustained_row(report: &apiwright_load::Report, round: usize) -> SustainedRow {
    let stats = &report.stats;
    let ms = |us: u64| us as f64 / 1000.0;
    // Over the schedule's window, as the `load` gate counts it: the run's own elapsed time
    // also holds the last responses' latency, which would make an exactly met rate look short.
    let window = SUSTAINED_SECS as f64;
    SustainedRow {
        round,
        requests: stats.requests,
        client_errors: stats.client_errors,
        errors: stats.errors,
        dropped: stats.dropped,
        error_rate_percent: stats.error_rate_percent(),
        achieved_rps: (stats.requests - stats.errors.min(stats.requests)) as f64 / window,
        p50_ms: ms(stats.latency_us.p50),
        p95_ms: ms(stats.latency_us.p95),
        p99_ms: ms(stats.latency_us.p99),
        max_ms: ms(stats.latency_us.max),
        max_rss_mb: max_rss_mb(report),
    }
}

pub fn run(source: &Source, workspace: &Path, rounds: usize) -> anyhow::Result<Results> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let target = workspace.join("target").join("bench-bookstore");
    let project = dir.path().join("project");
    eprintln!("  obtaining the generated project…");
    let source_text = obtain(source, workspace, dir.path(), &project, &target)?;
    eprintln!("  building it (cargo build --release)…");
    let started = Instant::now();
    let binary = build(&project, &target)?;
    let build_secs = started.elapsed().as_secs_f64();
    let mut server = Server::start(&binary, dir.path())?;
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("setup runtime")?;
    let prepared = setup.block_on(prepare(&mut server, &project))?;
    let mix = &prepared.mix;
    let idle_rss_mb =
        apiwright_load::read_rss_kb(server.pid()).map_or(0.0, |kb| kb as f64 / 1024.0);
    let base_url = server.base_url().to_string();
    let list_url = format!("{base_url}{LIST_PATH}");
    let mut results = Results {
        source: source_text,
        build_secs,
        mix: mix
            .requests
            .iter()
            .map(|spec| {
                let auth = spec
                    .headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
                format!(
                    "{} {} ×{}{}",
                    spec.method,
                    spec.path,
                    spec.weight,
                    if auth { " (auth)" } else { "" }
                )
            })
            .collect(),
        left_out: mix.left_out.clone(),
        records_seeded: prepared.seeded,
        totals_before: setup.block_on(collection_totals(&prepared)),
        totals_after: Vec::new(),
        idle_rss_mb,
        list_rows: Vec::new(),
        mix_rows: Vec::new(),
        sustained_rows: Vec::new(),
        max_rss_mb: idle_rss_mb,
    };
    let mut max_rss = idle_rss_mb;
    for round in 1..=rounds {
        eprintln!(
            "  round {round}/{rounds}: wrk, generator on the list, mix closed loop, mix at {TARGET_RPS:.0} req/s…"
        );
        results.list_rows.push(load_tools::wrk(
            &list_url,
            CONNECTIONS,
            CLOSED_LOOP_SECS,
            round,
        )?);
        let rss = Some(RssConfig {
            pid: server.pid(),
            interval: RSS_INTERVAL,
        });
        let mut measure = |config: apiwright_load::RunConfig| -> anyhow::Result<_> {
            server.check_running()?;
            let report = load_tools::generate(&config)?;
            max_rss = max_rss.max(max_rss_mb(&report));
            server.check_running()?;
            Ok(report)
        };
        let list = load_tools::closed_loop_get(
            &base_url,
            LIST_PATH,
            CONNECTIONS,
            CLOSED_LOOP_SECS,
            rss.clone(),
        );
        let report = measure(list)?;
        results
            .list_rows
            .push(load_tools::generator_row(&report, round));
        let closed = apiwright_load::Mode::ClosedLoop {
            connections: CONNECTIONS,
            duration: Duration::from_secs(CLOSED_LOOP_SECS),
        };
        let report = measure(mix_config(&base_url, mix, closed, rss.clone()))?;
        results
            .mix_rows
            .push(load_tools::generator_row(&report, round));
        let open = apiwright_load::Mode::OpenLoop {
            rate_per_sec: TARGET_RPS,
            duration: Duration::from_secs(SUSTAINED_SECS),
        };
        let report = measure(mix_config(&base_url, mix, open, rss))?;
        results.sustained_rows.push(sustained_row(&report, round));
        results
            .totals_after
            .push(setup.block_on(collection_totals(&prepared)));
    }
    drop(server);
    results.max_rss_mb = max_rss;
    Ok(results)
}

#[cfg(test)]
#[path = "bookstore_load_tests.rs"]
mod tests;
