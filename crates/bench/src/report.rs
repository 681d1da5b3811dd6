//! The report: Markdown tables for BENCHMARKS.md, or JSON.

use std::fmt::Write as _;

use crate::bookstore_load;
use crate::cli_latency;
use crate::concurrent;
use crate::engine_throughput;
use crate::load_tools;
use crate::machine::Machine;

/// Everything a run measured.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// The command that reproduces the run.
    pub command: String,
    /// Where and when.
    pub machine: Machine,
    /// Whether `--quick` was given.
    pub quick: bool,
    /// `apiwright --version` of the binary measured.
    pub binary_version: Option<String>,
    /// `cli-latency`, if run.
    pub cli_latency: Option<cli_latency::Results>,
    /// `engine-throughput`, if run.
    pub engine_throughput: Option<engine_throughput::Results>,
    /// `concurrent-writers`, if run.
    pub concurrent_writers: Option<concurrent::Results>,
    /// `main-job`, if run.
    pub main_job: Option<crate::main_job::Results>,
    /// `workflows`, if run.
    pub workflows: Option<crate::workflows::Results>,
    /// `load-calibration`, if run.
    pub load_calibration: Option<crate::load_calibration::Results>,
    /// `bookstore-load`, if run.
    pub bookstore_load: Option<crate::bookstore_load::Results>,
    /// `proxy-overhead`, if run.
    pub proxy_overhead: Option<crate::proxy_overhead::Results>,
    pub rollback_time: Option<crate::rollback_time::RollbackTime>,
    /// `model-turn-overhead`, if run.
    pub model_turn_overhead: Option<crate::model_turn::ModelTurnOverhead>,
    /// `serve-api`, if run.
    pub serve_api: Option<crate::serve_api::Results>,
}

fn verdict(met: bool) -> &'static str {
    if met { "**met**" } else { "**MISSED**" }
}

impl Report {
    /// The report as Markdown: one section per benchmark, each with the machine and command.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let header = self.machine.markdown(&self.command);
        let quick = if self.quick {
            "- **--quick run: fewer iterations, figures are indicative only.**\n"
        } else {
            ""
        };
        if let Some(results) = &self.main_job {
            let _ = writeln!(out, "### main-job\n");
            out.push_str(&header);
            out.push_str("- `apiwright run api-development --spec examples/bookstore.yaml --yes` from an empty output directory; cold = empty cargo target directory, warm = second run sharing it; each run checked (4 TDD batches verified red then green, exit 4 at the deployment handoff)\n\n");
            out.push_str("| run | wall s | exit | TDD verified | steps |\n|---|--:|--:|--:|--:|\n");
            for row in &results.rows {
                let _ = writeln!(
                    out,
                    "| {} | {:.1} | {} | {}/{} | {} |",
                    row.kind,
                    row.seconds,
                    row.exit_code
                        .map_or_else(|| "signal".to_string(), |c| c.to_string()),
                    row.tdd_verified.0,
                    row.tdd_verified.1,
                    row.steps
                );
            }
            let warm = results
                .rows
                .iter()
                .find(|row| row.kind == "warm")
                .map_or(f64::MAX, |row| row.seconds);
            let _ = writeln!(
                out,
                "\nTarget warm run under 180 s: **{}**.\n",
                if warm < 180.0 { "met" } else { "MISSED" }
            );
        }
        if let Some(results) = &self.workflows {
            let _ = writeln!(out, "### workflows\n");
            out.push_str(&header);
            out.push_str("- Each built-in workflow of seeds 001–004 with the built-in agents on `examples/notes.yaml` (`apiwright run WORKFLOW --spec examples/notes.yaml --yes`, plus the parameters in `crates/bench/src/workflows.rs`), from an empty output directory, sharing one cargo target directory; cold = first run on an empty target directory; every run checked to complete\n\n");
            out.push_str("| workflow | run | wall s | gates passed / failed / not run | steps |\n|---|---|--:|--:|--:|\n");
            for row in &results.rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1} | {} / {} / {} | {} |",
                    row.workflow,
                    row.kind,
                    row.seconds,
                    row.gates.0,
                    row.gates.1,
                    row.gates.2,
                    row.steps
                );
            }
            out.push('\n');
        }
        if let Some(results) = &self.load_calibration {
            let _ = writeln!(out, "### load-calibration\n");
            out.push_str(&header);
            let _ = writeln!(
                out,
                "- One in-process axum server (one worker thread) answering a small JSON document; `wrk -t1 -c{c} -d{s}s --latency` and `apiwright-load` closed loop ({c} connections, one worker thread, {s} s) alternate, wrk first in each round\n",
                c = results.connections,
                s = results.seconds
            );
            out.push_str("| round | tool | requests | req/s | p50 µs | p99 µs |\n|--:|---|--:|--:|--:|--:|\n");
            for row in &results.rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.0} | {:.0} | {:.0} |",
                    row.round, row.tool, row.requests, row.rps, row.p50_us, row.p99_us
                );
            }
            let _ = writeln!(
                out,
                "\nMean throughput of the generator / wrk: **{:.3}**; target within 15 %: **{}**.\n",
                results.ratio,
                if results.within_target() {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
        if let Some(results) = &self.bookstore_load {
            bookstore_load_section(&mut out, &header, results);
        }
        if let Some(results) = &self.proxy_overhead {
            crate::proxy_overhead::markdown(&mut out, &header, results);
        }
        if let Some(results) = &self.rollback_time {
            out.push_str(&crate::rollback_time::render(results, &header));
        }
        if let Some(results) = &self.model_turn_overhead {
            out.push_str(&crate::model_turn::render(results, &header));
        }
        if let Some(results) = &self.serve_api {
            out.push_str(&crate::serve_api::render(results, &header));
        }
        if let Some(results) = &self.cli_latency {
            let _ = writeln!(out, "### cli-latency\n");
            out.push_str(&header);
            out.push_str(quick);
            let _ = writeln!(
                out,
                "- Binary: `{}` ({}); {} timed sequential calls per command after {} warm-up \
                 calls; cwd and `--db` in a fresh temp dir; wall time of spawn + wait\n",
                results.binary,
                self.binary_version.as_deref().unwrap_or("unknown"),
                results.iterations,
                results.warmup
            );
            out.push_str(
                "| command | calls | min ms | p50 ms | p95 ms | p99 ms | max ms | mean ms |\n",
            );
            out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|\n");
            for row in &results.rows {
                let s = &row.summary;
                let name = if row.baseline {
                    format!("`{}` (spawn floor)", row.command)
                } else {
                    format!("`{}`", row.command)
                };
                let _ = writeln!(
                    out,
                    "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    s.n, s.min_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, s.mean_ms
                );
            }
            let worst = results
                .rows
                .iter()
                .filter(|row| !row.baseline)
                .map(|row| row.summary.p50_ms)
                .fold(0.0_f64, f64::max);
            let _ = writeln!(
                out,
                "\nTarget p50 < {} ms per call, process start included: {} (worst p50 {worst:.2} ms). \
                 Load average (1 min) after: {}.\n",
                cli_latency::TARGET_P50_MS,
                verdict(results.meets_target()),
                results.load_after
            );
        }
        if let Some(results) = &self.engine_throughput {
            let _ = writeln!(out, "### engine-throughput\n");
            out.push_str(&header);
            out.push_str(quick);
            out.push_str(
                "- In-process trivial agent; file database in a temp dir; wall time of \
                 `Engine::drive` to `Completed`; afterwards the log is checked for one \
                 `step_started` and one `step_finished` per step and memory for one key per \
                 step\n\n",
            );
            out.push_str("| workflow | YAML KiB | durability | steps | drive s | steps/s | events | events/s | CPU s | step_finished | memory keys | DB MiB | load after |\n");
            out.push_str("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
            for v in &results.variants {
                let shape = match v.shape {
                    engine_throughput::Shape::Sequential => "sequential",
                    engine_throughput::Shape::ParallelStar4 => "parallel, max_agents 4, star",
                };
                let _ = writeln!(
                    out,
                    "| {} × {} steps, {shape} | {:.0} | {} | {} | {:.2} | {:.0} | {} | {:.0} | {:.2} | {} | {} | {:.1} | {} |",
                    v.phases,
                    v.steps_per_phase,
                    v.yaml_bytes as f64 / 1024.0,
                    v.durability,
                    v.steps,
                    v.drive_secs,
                    v.steps_per_sec,
                    v.events,
                    v.events_per_sec,
                    v.cpu_secs,
                    v.step_finished,
                    v.memory_keys,
                    v.db_bytes as f64 / 1024.0 / 1024.0,
                    v.load_after
                );
            }
            let _ = writeln!(
                out,
                "\nTarget ≥ {} durable steps/s (full-size `Durability::Normal` rows): {}. CPU s is user + \
                 system time of the whole bench process during the drive (all threads); the \
                 in-memory rows show the engine's own cost without disk.\n",
                engine_throughput::TARGET_STEPS_PER_SEC,
                verdict(results.meets_target())
            );
        }
        if let Some(results) = &self.concurrent_writers {
            let _ = writeln!(out, "### concurrent-writers\n");
            out.push_str(&header);
            out.push_str(quick);
            out.push_str(
                "- All writers released at once by a barrier; one database (WAL, \
                 `Durability::Normal`, busy timeout 30 s) created beforehand; per-write time is \
                 a whole process for the CLI rows, one `memory_put` for the thread rows; total \
                 is from the first writer's release to the last writer's end; afterwards every \
                 acknowledged write is looked up (its key and value, or its row in the one \
                 key's history)\n\n",
            );
            out.push_str("| scenario | writes | failed | total ms | p50 ms | p95 ms | p99 ms | max ms | database afterwards | lost |\n");
            out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|---|--:|\n");
            for s in &results.scenarios {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
                    s.name,
                    s.writes,
                    s.failed,
                    s.total_ms,
                    s.per_write.p50_ms,
                    s.per_write.p95_ms,
                    s.per_write.p99_ms,
                    s.per_write.max_ms,
                    s.found,
                    s.lost
                );
            }
            let _ = writeln!(
                out,
                "\nTarget no lost (and no failed) writes: {}. Load average (1 min) after: {}.\n",
                verdict(results.meets_target()),
                results.load_after
            );
        }
        out
    }
}

/// The `bookstore-load` section: four tables (list with both tools, mix closed loop, mix at
/// the objective's rate, the objectives).
fn bookstore_load_section(out: &mut String, header: &str, results: &bookstore_load::Results) {
    let ms = |us: f64| us / 1000.0;
    // requests | not 2xx | req/s | p50 | p95 | p99, in milliseconds.
    let cells = |row: &load_tools::Row| {
        format!(
            "{} | {} | {:.0} | {:.2} | {} | {:.2}",
            row.requests,
            row.errors,
            row.rps,
            ms(row.p50_us),
            row.p95_us
                .map_or_else(|| "—".to_string(), |p95| format!("{:.2}", ms(p95))),
            ms(row.p99_us)
        )
    };
    let _ = writeln!(out, "### bookstore-load\n");
    out.push_str(header);
    let _ = writeln!(
        out,
        "- Project: {}; `cargo build --release` {:.0} s (shared target directory `target/bench-bookstore`)",
        results.source, results.build_secs
    );
    let _ = writeln!(
        out,
        "- Service: `target/release/bookstore` on a loopback port, its own SQLite database in a temp dir, an admin account, default `info` JSON logs to a file; `RATE_LIMIT_PER_USER` and `RATE_LIMIT_PER_IP` = 1000000000 (limiter disabled: this measures capacity, and at the spec's 600 per user and 120 per IP a minute the limiter answers 429 long before the service is busy)"
    );
    let _ = writeln!(
        out,
        "- Seeded through the API: {} records; idle RSS after seeding {:.1} MiB",
        results.records_seeded, results.idle_rss_mb
    );
    let _ = writeln!(
        out,
        "- Mix (`apiwright_probe::traffic`, as the `load` gate builds it): {}{}",
        results.mix.join(", "),
        if results.left_out.is_empty() {
            String::new()
        } else {
            format!("; left out: {}", results.left_out.join("; "))
        }
    );
    let _ = writeln!(
        out,
        "- Client and service share the machine; every generator run has one worker thread (as `wrk -t1`); the service's RSS is sampled every 250 ms during every generator run\n"
    );
    let _ = writeln!(
        out,
        "**Maximum throughput on one endpoint, both tools.** `GET {}` (public list, 20 books a page); `wrk -t1 -c{c} -d{s}s --latency` and `apiwright-load` closed loop ({c} connections, {s} s) alternate, wrk first in each round (wrk prints no p95).\n",
        bookstore_load::LIST_PATH,
        c = bookstore_load::CONNECTIONS,
        s = bookstore_load::CLOSED_LOOP_SECS
    );
    out.push_str("| round | tool | requests | not 2xx | req/s | p50 ms | p95 ms | p99 ms |\n|--:|---|--:|--:|--:|--:|--:|--:|\n");
    for row in &results.list_rows {
        let _ = writeln!(out, "| {} | {} | {} |", row.round, row.tool, cells(row));
    }
    let _ = writeln!(
        out,
        "\nMean throughput: wrk {:.0} req/s, generator {:.0} req/s (generator / wrk {:.3}).\n",
        load_tools::mean_rps(&results.list_rows, "wrk"),
        load_tools::mean_rps(&results.list_rows, "apiwright-load"),
        load_tools::mean_rps(&results.list_rows, "apiwright-load")
            / load_tools::mean_rps(&results.list_rows, "wrk")
    );
    let _ = writeln!(
        out,
        "**Maximum throughput of the authenticated mix.** `apiwright-load` closed loop, {} connections, {} s (wrk cannot send this mix: tokens, bodies and weights).\n",
        bookstore_load::CONNECTIONS,
        bookstore_load::CLOSED_LOOP_SECS
    );
    out.push_str("| round | requests | not 2xx | req/s | p50 ms | p95 ms | p99 ms |\n|--:|--:|--:|--:|--:|--:|--:|\n");
    for row in &results.mix_rows {
        let _ = writeln!(out, "| {} | {} |", row.round, cells(row));
    }
    let _ = writeln!(
        out,
        "\n**At the objective's rate.** `apiwright-load` open loop at {:.0} req/s for {} s on the mix (latency from each request's intended send time); wrk has no rate control, so it cannot run this part.\n",
        bookstore_load::TARGET_RPS,
        bookstore_load::SUSTAINED_SECS
    );
    out.push_str("| round | requests | 4xx | errors | dropped | error % | req/s held | p50 ms | p95 ms | p99 ms | max ms | max RSS MiB |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for row in &results.sustained_rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.3} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            row.round,
            row.requests,
            row.client_errors,
            row.errors,
            row.dropped,
            row.error_rate_percent,
            row.achieved_rps,
            row.p50_ms,
            row.p95_ms,
            row.p99_ms,
            row.max_ms,
            row.max_rss_mb
        );
    }
    let totals = |totals: &[(String, u64)]| {
        totals
            .iter()
            .map(|(path, total)| format!("{path} {total}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "\nRecords before round 1: {}.",
        totals(&results.totals_before)
    );
    for (index, after) in results.totals_after.iter().enumerate() {
        let _ = writeln!(out, "After round {}: {}.", index + 1, totals(after));
    }
    out.push_str("\n**Against seed 000's objectives** (worst round).\n\n| objective | measured | margin | verdict |\n|---|---|--:|---|\n");
    for assessment in results.assess() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            assessment.objective,
            assessment.measured,
            assessment.margin,
            verdict(assessment.met)
        );
    }
    out.push('\n');
}
