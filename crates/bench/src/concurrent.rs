//! `concurrent-writers`: many writers on one database at once — `apiwright memory store`
//! processes, and threads with a `Store` each — and a check that no acknowledged write is
//! lost.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::Barrier;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use anyhow::anyhow;
use apiwright_store::MemoryWrite;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use apiwright_store::Value;

use crate::stats::Summary;

/// One scenario's results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scenario {
    /// What ran.
    pub name: String,
    /// Concurrent writers.
    pub writers: usize,
    /// Writes attempted in all.
    pub writes: usize,
    /// Writes whose writer reported failure.
    pub failed: usize,
    /// From the release of all writers to the end of the last, ms.
    pub total_ms: f64,
    /// Latency of one write (a whole process for the CLI scenarios).
    pub per_write: Summary,
    /// What the database holds afterwards, in words.
    pub found: String,
    /// Acknowledged writes missing from the database.
    pub lost: usize,
}

/// Results of the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Every scenario, in the order run.
    pub scenarios: Vec<Scenario>,
    /// 1-minute load average after the benchmark.
    pub load_after: String,
}

impl Results {
    /// Whether no scenario lost or failed a write.
    pub fn meets_target(&self) -> bool {
        self.scenarios.iter().all(|s| s.lost == 0 && s.failed == 0)
    }
}

/// Runs the scenarios: `processes` CLI writers (distinct keys, then one key), then
/// `threads` threads doing `puts` puts each (distinct keys, then one key).
pub fn run(
    binary: &Path,
    processes: usize,
    threads: usize,
    puts: usize,
) -> anyhow::Result<Results> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let db = dir.path().join("state.db");
    // Create the schema first, so the timed writers measure writes, not migrations.
    let init = cli_store(binary, dir.path(), &db, "bench/init", "1")
        .status()
        .context("initializing the database")?;
    if !init.success() {
        return Err(anyhow!(
            "`apiwright memory store` failed while initializing ({init})"
        ));
    }
    let scenarios = vec![
        cli_scenario(binary, dir.path(), &db, processes, false)?,
        cli_scenario(binary, dir.path(), &db, processes, true)?,
        thread_scenario(&db, threads, puts, false)?,
        thread_scenario(&db, threads, puts, true)?,
    ];
    Ok(Results {
        scenarios,
        load_after: crate::machine::Machine::load_now(),
    })
}

fn cli_store(binary: &Path, cwd: &Path, db: &Path, key: &str, value: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("--db")
        .arg(db)
        .args(["memory", "store", "--key", key, "--value", value])
        .current_dir(cwd)
        .env_remove("APIWRIGHT_DB")
        .env_remove("APIWRIGHT_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// What one writer reports: its latencies, the writes acknowledged (key, value), failures.
struct Outcome {
    latencies: Vec<Duration>,
    acknowledged: Vec<(String, serde_json::Value)>,
    errors: Vec<String>,
}

/// Starts `writers` threads that wait on one barrier, runs `work(index)` in each, and returns
/// the wall time from the first writer's release to the end of the last writer, with every
/// outcome. (Measured in the writers themselves: the main thread may be scheduled late.)
fn race(
    writers: usize,
    work: impl Fn(usize) -> Outcome + Send + Sync + 'static,
) -> anyhow::Result<(Duration, Vec<Outcome>)> {
    let barrier = Arc::new(Barrier::new(writers + 1));
    let work = Arc::new(work);
    let handles = (0..writers)
        .map(|index| {
            let barrier = Arc::clone(&barrier);
            let work = Arc::clone(&work);
            std::thread::Builder::new()
                .name(format!("writer-{index}"))
                .spawn(move || {
                    barrier.wait();
                    let released = Instant::now();
                    let outcome = work(index);
                    (released, Instant::now(), outcome)
                })
                .context("spawning a writer thread")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    barrier.wait();
    let mut outcomes = Vec::with_capacity(writers);
    let mut first_release: Option<Instant> = None;
    let mut last_end: Option<Instant> = None;
    for handle in handles {
        let (released, ended, outcome) = handle
            .join()
            .map_err(|_| anyhow!("a writer thread panicked"))?;
        first_release = Some(first_release.map_or(released, |first| first.min(released)));
        last_end = Some(last_end.map_or(ended, |last| last.max(ended)));
        outcomes.push(outcome);
    }
    let total = match (first_release, last_end) {
        (Some(first), Some(last)) => last.duration_since(first),
        _ => Duration::ZERO,
    };
    Ok((total, outcomes))
}

fn cli_scenario(
    binary: &Path,
    cwd: &Path,
    db: &Path,
    processes: usize,
    one_key: bool,
) -> anyhow::Result<Scenario> {
    let prefix = if one_key {
        "bench/cli-shared"
    } else {
        "bench/cli-distinct"
    };
    let (binary, cwd, path) = (binary.to_path_buf(), cwd.to_path_buf(), db.to_path_buf());
    let (total, outcomes) = race(processes, move |index| {
        let key = if one_key {
            prefix.to_string()
        } else {
            format!("{prefix}/w{index:03}")
        };
        let value = serde_json::json!({ "writer": index });
        let mut command = cli_store(&binary, &cwd, &path, &key, &value.to_string());
        let clock = Instant::now();
        let result = command.output();
        let elapsed = clock.elapsed();
        let (acknowledged, errors) = match result {
            Ok(output) if output.status.success() => (vec![(key, value)], Vec::new()),
            Ok(output) => (
                Vec::new(),
                vec![format!(
                    "writer {index}: {} {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )],
            ),
            Err(error) => (Vec::new(), vec![format!("writer {index}: {error}")]),
        };
        Outcome {
            latencies: vec![elapsed],
            acknowledged,
            errors,
        }
    })?;
    let name = format!(
        "{processes} × `apiwright memory store` processes, {}",
        if one_key { "one key" } else { "distinct keys" }
    );
    verify(
        db, name, processes, processes, one_key, prefix, total, outcomes,
    )
}

fn thread_scenario(
    db: &Path,
    threads: usize,
    puts: usize,
    one_key: bool,
) -> anyhow::Result<Scenario> {
    let prefix = if one_key {
        "bench/threads-shared"
    } else {
        "bench/threads-distinct"
    };
    let path = db.to_path_buf();
    let (total, outcomes) = race(threads, move |index| {
        let mut latencies = Vec::with_capacity(puts);
        let mut acknowledged = Vec::with_capacity(puts);
        // Each thread opens its own connection, as each process would.
        let store = match Store::open(&path, &StoreOptions::default()) {
            Ok(store) => store,
            Err(error) => {
                return Outcome {
                    latencies,
                    acknowledged,
                    errors: vec![format!("writer {index}: opening the store: {error}"); puts],
                };
            }
        };
        let mut errors = Vec::new();
        for put in 0..puts {
            let key = if one_key {
                prefix.to_string()
            } else {
                format!("{prefix}/t{index:03}/k{put:04}")
            };
            let value = serde_json::json!({ "writer": index, "put": put });
            let write = MemoryWrite {
                key: key.clone(),
                value: Value::Json(value.clone()),
                tags: [("who".to_string(), format!("thread-{index}"))].into(),
            };
            let clock = Instant::now();
            let result = store.memory_put(&write);
            latencies.push(clock.elapsed());
            match result {
                Ok(_) => acknowledged.push((key, value)),
                Err(error) => errors.push(format!("writer {index} put {put}: {error}")),
            }
        }
        Outcome {
            latencies,
            acknowledged,
            errors,
        }
    })?;
    let name = format!(
        "{threads} threads × {puts} `Store::memory_put`, {}",
        if one_key { "one key" } else { "distinct keys" }
    );
    verify(
        db,
        name,
        threads,
        threads * puts,
        one_key,
        prefix,
        total,
        outcomes,
    )
}

/// Reads the database back and counts the acknowledged writes it lacks.
#[allow(clippy::too_many_arguments)]
fn verify(
    db: &Path,
    name: String,
    writers: usize,
    writes: usize,
    one_key: bool,
    prefix: &str,
    total: Duration,
    outcomes: Vec<Outcome>,
) -> anyhow::Result<Scenario> {
    let store = Store::open(db, &StoreOptions::default()).context("reopening the store")?;
    let latencies: Vec<Duration> = outcomes
        .iter()
        .flat_map(|o| o.latencies.iter().copied())
        .collect();
    let errors: Vec<&String> = outcomes.iter().flat_map(|o| &o.errors).collect();
    for error in errors.iter().take(5) {
        eprintln!("  concurrent-writers: {error}");
    }
    let acknowledged: Vec<&(String, serde_json::Value)> =
        outcomes.iter().flat_map(|o| &o.acknowledged).collect();
    let (found, lost) = if one_key {
        let history = store
            .memory_history(prefix)
            .context("reading the key's history")?;
        let version = store
            .memory_get(prefix)
            .context("reading the key")?
            .map_or(0, |entry| entry.version);
        let written: BTreeSet<String> = history
            .iter()
            .filter_map(|row| match &row.value {
                Some(Value::Json(json)) => Some(json.to_string()),
                _ => None,
            })
            .collect();
        let lost = acknowledged
            .iter()
            .filter(|(_, value)| !written.contains(&value.to_string()))
            .count();
        let mut found = format!("history {} rows, version {version}", history.len());
        if history.len() != acknowledged.len()
            || usize::try_from(version).ok() != Some(history.len())
        {
            found.push_str(&format!(
                " (MISMATCH: {} writes acknowledged)",
                acknowledged.len()
            ));
        }
        (found, lost)
    } else {
        let entries = store.memory_list(Some(prefix)).context("listing memory")?;
        let stored: std::collections::BTreeMap<&str, String> = entries
            .iter()
            .map(|entry| (entry.key.as_str(), entry.value.to_text()))
            .collect();
        let lost = acknowledged
            .iter()
            .filter(|(key, value)| stored.get(key.as_str()) != Some(&value.to_string()))
            .count();
        (format!("{} keys", entries.len()), lost)
    };
    Ok(Scenario {
        name,
        writers,
        writes,
        failed: errors.len(),
        total_ms: total.as_secs_f64() * 1000.0,
        per_write: Summary::of(&latencies).context("no write was timed")?,
        found,
        lost,
    })
}
