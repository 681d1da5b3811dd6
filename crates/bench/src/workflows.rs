//! `workflows`: wall time of the eight other built-in workflows (seeds 001–004) played by the
//! built-in agents on `examples/notes.yaml`, each from an empty output directory, sharing one
//! cargo target directory. The first run is cold (every dependency of the generated service
//! is compiled, plain and instrumented for coverage); the rest are warm, and the first
//! workflow runs again warm so the two can be compared. Each run is checked: it must complete
//! (exit 0), and its gate outcomes are counted from `runs show --json`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;
use anyhow::bail;

/// The workflows and the parameters the built-in agents need (a resource to work on; the
/// one stack they generate).
const RUNS: [(&str, &[&str]); 8] = [
    ("sequential-feature", &["feature=notes"]),
    (
        "develop-backend",
        &["tech_stack=rust-axum", "database=sqlite"],
    ),
    ("api-orchestration-sop", &[]),
    ("parallel-tasks", &[]),
    ("iterative-refinement", &["feature=notes"]),
    ("debug-fix-verify", &["task=notes"]),
    ("sprint-task", &["task=notes"]),
    ("backend-iteration", &[]),
];

/// One measured run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Workflow name.
    pub workflow: String,
    /// `cold` or `warm`.
    pub kind: String,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Gates passed (approvals included), failed and not run.
    pub gates: (u64, u64, u64),
    /// Steps finished.
    pub steps: u64,
}

/// All rows, in run order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Cold first, then warm.
    pub rows: Vec<Row>,
}

fn one_run(
    binary: &Path,
    dir: &Path,
    target: &Path,
    spec: &Path,
    (workflow, params): (&str, &[&str]),
    kind: &str,
) -> anyhow::Result<Row> {
    let out = dir.join(format!("{workflow}-{kind}"));
    let db = dir.join(format!("{workflow}-{kind}.db"));
    let mut command = Command::new(binary);
    command
        .current_dir(dir)
        .arg("--db")
        .arg(&db)
        .args(["run", workflow, "--spec"])
        .arg(spec)
        .args(["--yes", "--out"])
        .arg(&out)
        .env("APIWRIGHT_TARGET_DIR", target)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for param in params {
        command.args(["--param", param]);
    }
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("running {workflow}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let report = crate::main_job::last_run_report(binary, &db)?;
    if status.code() != Some(0) || report["status"] != "completed" {
        bail!(
            "{workflow} ({kind}) did not complete: exit {:?}, status {} (database {})",
            status.code(),
            report["status"],
            db.display()
        );
    }
    let mut gates = (0, 0, 0);
    for phase in report["phases"].as_array().into_iter().flatten() {
        for gate in phase["gates"].as_array().into_iter().flatten() {
            match gate["status"].as_str() {
                Some("passed" | "approved") => gates.0 += 1,
                Some("not_run") => gates.2 += 1,
                _ => gates.1 += 1,
            }
        }
    }
    Ok(Row {
        workflow: workflow.to_string(),
        kind: kind.to_string(),
        seconds,
        gates,
        steps: report["steps_finished"].as_u64().unwrap_or(0),
    })
}

pub fn run(binary: &Path, workspace: &Path) -> anyhow::Result<Results> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let target = dir.path().join("cargo-target");
    let spec = workspace.join("examples/notes.yaml");
    let mut rows = Vec::new();
    for (index, entry) in RUNS.iter().enumerate() {
        let kind = if index == 0 { "cold" } else { "warm" };
        eprintln!("  {} ({kind})…", entry.0);
        rows.push(one_run(binary, dir.path(), &target, &spec, *entry, kind)?);
    }
    eprintln!("  {} (warm)…", RUNS[0].0);
    rows.push(one_run(
        binary,
        dir.path(),
        &target,
        &spec,
        RUNS[0],
        "warm",
    )?);
    Ok(Results { rows })
}
