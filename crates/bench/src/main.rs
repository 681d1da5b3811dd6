//! Benchmarks of apiwright: `cli-latency` (hook and memory commands, process start
//! included), `engine-throughput` (durable steps per second of the engine on SQLite) and
//! `concurrent-writers` (many writers on one database, no lost writes); by name only, the
//! long ones: `main-job` (the README's main command, cold and warm) and `workflows` (the
//! other eight built-in workflows with the built-in agents), `load-calibration` (the built-in
//! load generator against `wrk` on one server) and `bookstore-load` (the generated bookstore
//! service under load, against seed 000's objectives); and the subcommand `proxy-overhead
//! [--secs N] [--rounds N] [--rate R]` (latency the deployment proxy adds at 5,000 req/s,
//! direct and proxied side by side) and `rollback-time [--rounds N] [--interval-ms MS]` (bad
//! releases of the testbed deployed through the supervisor: first bad response to blue having
//! all traffic again), `serve-api [--connections N] [--secs N] [--rounds N]` (`apiwright serve`
//! answering `GET /api/v1/runs/{id}` with a valid token under wrk, and its RSS), and
//! `model-turn-overhead [--turns N] [--rounds N]` (what apiwright adds
//! to each model turn, against the scripted fake model server).
//!
//! `cargo run --release -p apiwright-bench` builds the `apiwright` binary in release mode,
//! runs every benchmark and prints Markdown tables (with the machine and the command) ready
//! for BENCHMARKS.md. `--quick` runs fewer iterations, `--json` prints machine output,
//! `--only NAME` runs one benchmark, `--bin PATH` measures another binary, `--project DIR` gives
//! `bookstore-load` an already generated project.

mod bookstore_load;
mod bookstore_service;
mod cli_latency;
mod concurrent;
mod engine_throughput;
mod load_calibration;
mod load_tools;
mod machine;
mod main_job;
mod model_turn;
mod proxy_overhead;
mod report;
mod rollback_time;
mod serve_api;
mod stats;
mod workflows;

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::ExitCode;

use anyhow::Context;
use anyhow::bail;
use clap::Parser;
use clap::ValueEnum;

/// Benchmarks of the apiwright CLI, engine and store.
#[derive(Debug, Parser)]
#[command(name = "apiwright-bench")]
struct Args {
    /// Run one opt-in benchmark with its own options instead of `--only`.
    #[command(subcommand)]
    subcommand: Option<Subcommand>,
    /// Fewer iterations and a smaller workflow (a CI smoke run; figures are indicative only).
    #[arg(long)]
    quick: bool,
    /// Print the results as JSON instead of Markdown.
    #[arg(long, global = true)]
    json: bool,
    /// Run only this benchmark (repeatable).
    #[arg(long, value_enum)]
    only: Vec<Bench>,
    /// The `apiwright` binary to measure (default: build and use target/release/apiwright).
    #[arg(long, value_name = "PATH")]
    bin: Option<PathBuf>,
    /// `bookstore-load`: an already generated bookstore project to build and load (copied,
    /// never modified) instead of running the main job.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Subcommand {
    /// Latency the deployment proxy adds: open loop at 5,000 req/s straight to a backend and
    /// through the proxy, alternating (about a minute).
    ProxyOverhead(proxy_overhead::ProxyOverheadArgs),
    /// Time from a bad release's first bad response to blue having all traffic again: the
    /// testbed deployed through apiwright's supervisor, bad releases as green (about a minute).
    RollbackTime {
        /// Bad releases deployed (alternately 5xx under traffic and slow).
        #[arg(long, default_value_t = 6)]
        rounds: usize,
        /// Milliseconds between evaluations of green.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
    /// What apiwright adds to each model turn (everything but the model's time): a model
    /// agent's step of many tool-call turns against the scripted fake model server (seconds).
    /// `apiwright serve` answering `GET /api/v1/runs/{id}` with a valid token under wrk, and
    /// the server's RSS meanwhile (about a minute).
    ServeApi {
        /// wrk connections (closed loop: p99 follows connections ÷ throughput).
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds per round.
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Rounds.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    ModelTurnOverhead {
        /// Tool-call turns per step.
        #[arg(long, default_value_t = 200)]
        turns: usize,
        /// Steps per protocol and streaming mode.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Bench {
    CliLatency,
    EngineThroughput,
    ConcurrentWriters,
    /// The main job, cold and warm (minutes; run only when asked for by name).
    MainJob,
    /// The eight other built-in workflows on examples/notes.yaml (minutes; only by name).
    Workflows,
    /// The built-in load generator against wrk on one server (about a minute; only by name).
    LoadCalibration,
    /// The generated bookstore service under load, wrk alongside (minutes; only by name).
    BookstoreLoad,
}

/// Sizes of a run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Plan {
    cli_iterations: usize,
    cli_warmup: usize,
    engine_phases: usize,
    engine_steps_per_phase: usize,
    writer_processes: usize,
    writer_threads: usize,
    puts_per_thread: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                cli_iterations: 20,
                cli_warmup: 3,
                engine_phases: 10,
                engine_steps_per_phase: 100,
                writer_processes: 50,
                writer_threads: 50,
                puts_per_thread: 10,
            }
        } else {
            Plan {
                cli_iterations: 200,
                cli_warmup: 10,
                engine_phases: 100,
                engine_steps_per_phase: 100,
                writer_processes: 50,
                writer_threads: 50,
                puts_per_thread: 100,
            }
        }
    }
}

fn main() -> ExitCode {
    match run() {
        // A missed target is a finding reported in the tables, not a failure of the run.
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let workspace = workspace_root();
    if let Some(Subcommand::ProxyOverhead(overhead_args)) = &args.subcommand {
        eprintln!(
            "running proxy-overhead ({} rounds of {} s direct and {} s proxied at {} req/s)…",
            overhead_args.rounds, overhead_args.secs, overhead_args.secs, overhead_args.rate
        );
        let mut report = empty_report(&workspace, &args);
        report.proxy_overhead = Some(proxy_overhead::run(overhead_args)?);
        return print_report(&report, args.json);
    }
    if let Some(Subcommand::RollbackTime {
        rounds,
        interval_ms,
    }) = &args.subcommand
    {
        eprintln!(
            "running rollback-time ({rounds} bad releases, green judged every {interval_ms} ms)…"
        );
        let mut report = empty_report(&workspace, &args);
        report.rollback_time = Some(rollback_time::run(
            &workspace,
            *rounds,
            std::time::Duration::from_millis(*interval_ms),
        )?);
        return print_report(&report, args.json);
    }
    if let Some(Subcommand::ServeApi {
        connections,
        secs,
        rounds,
    }) = &args.subcommand
    {
        let binary = match &args.bin {
            Some(path) => path.clone(),
            None => build_binary(&workspace)?,
        };
        eprintln!("running serve-api ({rounds} rounds of {secs} s, {connections} connections)…");
        let mut report = empty_report(&workspace, &args);
        report.binary_version = Some(binary_version(&binary));
        report.serve_api = Some(serve_api::run(&binary, *connections, *secs, *rounds)?);
        return print_report(&report, args.json);
    }
    if let Some(Subcommand::ModelTurnOverhead { turns, rounds }) = &args.subcommand {
        eprintln!("running model-turn-overhead ({rounds} × 4 steps of {turns} turns)…");
        let mut report = empty_report(&workspace, &args);
        report.model_turn_overhead = Some(model_turn::run(*turns, *rounds)?);
        return print_report(&report, args.json);
    }
    let wants = |bench: Bench| {
        args.only.contains(&bench)
            || (args.only.is_empty()
                && !matches!(
                    bench,
                    Bench::MainJob
                        | Bench::Workflows
                        | Bench::LoadCalibration
                        | Bench::BookstoreLoad
                ))
    };
    let needs_binary = wants(Bench::CliLatency)
        || wants(Bench::ConcurrentWriters)
        || wants(Bench::MainJob)
        || wants(Bench::Workflows)
        || (wants(Bench::BookstoreLoad) && args.project.is_none());
    let binary = match (&args.bin, needs_binary) {
        (Some(path), _) => {
            if !path.is_file() {
                bail!(
                    "--bin {}: expected an executable file, found none",
                    path.display()
                );
            }
            Some(path.canonicalize().unwrap_or_else(|_| path.clone()))
        }
        (None, true) => Some(build_binary(&workspace)?),
        (None, false) => None,
    };
    let plan = Plan::new(args.quick);
    let mut report = empty_report(&workspace, &args);
    report.binary_version = binary.as_deref().map(binary_version);
    if wants(Bench::CliLatency) {
        let binary = binary.as_deref().context("no binary")?;
        eprintln!(
            "running cli-latency ({} calls per command)…",
            plan.cli_iterations
        );
        report.cli_latency = Some(cli_latency::run(
            binary,
            plan.cli_iterations,
            plan.cli_warmup,
        )?);
    }
    if wants(Bench::EngineThroughput) {
        eprintln!(
            "running engine-throughput ({} × {} steps)…",
            plan.engine_phases, plan.engine_steps_per_phase
        );
        report.engine_throughput = Some(engine_throughput::run(
            plan.engine_phases,
            plan.engine_steps_per_phase,
        )?);
    }
    if wants(Bench::ConcurrentWriters) {
        let binary = binary.as_deref().context("no binary")?;
        eprintln!("running concurrent-writers…");
        report.concurrent_writers = Some(concurrent::run(
            binary,
            plan.writer_processes,
            plan.writer_threads,
            plan.puts_per_thread,
        )?);
    }
    if wants(Bench::MainJob) {
        let binary = binary.as_deref().context("no binary")?;
        eprintln!("running main-job (cold, then warm; minutes)…");
        report.main_job = Some(main_job::run(binary, &workspace)?);
    }
    if wants(Bench::Workflows) {
        let binary = binary.as_deref().context("no binary")?;
        eprintln!("running workflows (the first cold, then warm; minutes)…");
        report.workflows = Some(workflows::run(binary, &workspace)?);
    }
    if wants(Bench::LoadCalibration) {
        eprintln!("running load-calibration (wrk and the built-in generator, alternating)…");
        report.load_calibration = Some(load_calibration::run(32, 10, 3)?);
    }
    if wants(Bench::BookstoreLoad) {
        let source = match &args.project {
            Some(project) => {
                if !project.join("Cargo.toml").is_file() || !project.join("openapi.json").is_file()
                {
                    bail!(
                        "--project {}: expected a generated project (Cargo.toml and openapi.json), found none",
                        project.display()
                    );
                }
                bookstore_service::Source::Existing {
                    project: project.clone(),
                }
            }
            None => bookstore_service::Source::Generate {
                binary: binary.clone().context("no binary")?,
            },
        };
        eprintln!(
            "running bookstore-load (build, then wrk and the built-in generator, alternating)…"
        );
        report.bookstore_load = Some(bookstore_load::run(&source, &workspace, 3)?);
    }
    print_report(&report, args.json)
}

fn empty_report(workspace: &Path, args: &Args) -> report::Report {
    report::Report {
        command: command_line(),
        machine: machine::Machine::detect(workspace),
        quick: args.quick,
        binary_version: None,
        cli_latency: None,
        engine_throughput: None,
        concurrent_writers: None,
        main_job: None,
        workflows: None,
        load_calibration: None,
        bookstore_load: None,
        proxy_overhead: None,
        rollback_time: None,
        model_turn_overhead: None,
        serve_api: None,
    }
}

fn print_report(report: &report::Report, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).context("serializing the report")?
        );
    } else {
        print!("{}", report.markdown());
    }
    Ok(())
}

/// The workspace root (this crate is `crates/bench`).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// Builds `apiwright` in release mode (a no-op when it is up to date, so what is measured is
/// always the current source) and returns its path.
fn build_binary(workspace: &Path) -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    let binary = target.join("release").join("apiwright");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building apiwright (cargo build --release -p apiwright-cli)…");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "apiwright-cli"])
        .current_dir(workspace)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!(
            "`cargo build --release -p apiwright-cli` failed ({status}); fix the build or pass \
             --bin PATH"
        );
    }
    if !binary.is_file() {
        bail!(
            "expected {} after the build, found no file",
            binary.display()
        );
    }
    Ok(binary)
}

fn binary_version(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".into(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_string(),
        )
}

/// The command that reproduces this run.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    if words.is_empty() {
        "cargo run --release -p apiwright-bench".into()
    } else {
        format!(
            "cargo run --release -p apiwright-bench -- {}",
            cli_latency::shell_words(&words)
        )
    }
}
