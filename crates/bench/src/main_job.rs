//! `main-job`: wall time of the main job, `apiwright run api-development --spec
//! examples/bookstore.yaml --yes`, from an empty output directory — cold (an empty cargo target
//! directory: every dependency of the generated service is compiled) and warm (a second run
//! into a new output directory sharing that target directory). Each run is checked: the
//! report must show four TDD batches verified red before green and the run must end where this
//! version ends it (exit 4: contract, security and load evidence is measured and the decision
//! is GO, but deployment and monitoring are not run, so the handoff gate fails).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;
use anyhow::bail;

/// One measured run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// `cold` or `warm`.
    pub kind: String,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Exit code of `apiwright run`.
    pub exit_code: Option<i32>,
    /// TDD items verified red then green, and their count.
    pub tdd_verified: (u64, u64),
    /// Steps finished.
    pub steps: u64,
}

/// All rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Cold, then warm.
    pub rows: Vec<Row>,
}

fn one_run(
    binary: &Path,
    dir: &Path,
    target: &Path,
    spec: &Path,
    kind: &str,
) -> anyhow::Result<Row> {
    let out = dir.join(format!("out-{kind}"));
    let db = dir.join("state.db");
    let started = Instant::now();
    let status = Command::new(binary)
        .current_dir(dir)
        .arg("--db")
        .arg(&db)
        .args(["run", "api-development", "--spec"])
        .arg(spec)
        .args(["--yes", "--out"])
        .arg(&out)
        .env("APIWRIGHT_TARGET_DIR", target)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("running the main job")?;
    let seconds = started.elapsed().as_secs_f64();
    let report = last_run_report(binary, &db)?;
    let tdd = report["tdd"].as_array().cloned().unwrap_or_default();
    let verified = tdd
        .iter()
        .filter(|row| {
            row["red"][0] == row["red"][1]
                && row["green"][0] == row["green"][1]
                && row["red"][0] != 0
        })
        .count() as u64;
    if status.code() != Some(4) || verified != 4 || tdd.len() != 4 {
        bail!(
            "{kind} main job did not do its work: exit {:?}, {verified}/{} TDD items verified (report: {report})",
            status.code(),
            tdd.len()
        );
    }
    Ok(Row {
        kind: kind.to_string(),
        seconds,
        exit_code: status.code(),
        tdd_verified: (verified, tdd.len() as u64),
        steps: report["steps_finished"].as_u64().unwrap_or(0),
    })
}

/// `runs show --json` of the latest run in the database `db`.
pub(crate) fn last_run_report(binary: &Path, db: &Path) -> anyhow::Result<serde_json::Value> {
    let listed = Command::new(binary)
        .arg("--db")
        .arg(db)
        .args(["runs", "list", "--json"])
        .output()
        .context("listing runs")?;
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).context("runs list")?;
    let run_id = runs[0]["id"].as_str().context("a run")?.to_string();
    let shown = Command::new(binary)
        .arg("--db")
        .arg(db)
        .args(["runs", "show", &run_id, "--json"])
        .output()
        .context("showing the run")?;
    serde_json::from_slice(&shown.stdout).context("runs show")
}

pub fn run(binary: &Path, workspace: &Path) -> anyhow::Result<Results> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let target = dir.path().join("cargo-target");
    let spec = workspace.join("examples/bookstore.yaml");
    let cold = one_run(binary, dir.path(), &target, &spec, "cold")?;
    let warm = one_run(binary, dir.path(), &target, &spec, "warm")?;
    Ok(Results {
        rows: vec![cold, warm],
    })
}
