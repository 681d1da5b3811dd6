//! `rollback-time`: how long a bad release keeps traffic. The real testbed binary is deployed
//! through apiwright's supervisor (a good release first, then a bad one as green, again and
//! again) with a steady client at 40 req/s through the proxy; each bad release is judged every
//! `interval`. Measured per round: from green's first bad response (5xx, or slower than the
//! objective) to blue having all traffic again, and how many requests green failed meanwhile.

use std::net::SocketAddr;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use apiwright_deploy::deployment::DeploymentDir;
use apiwright_deploy::deployment::ReleaseManifest;
use apiwright_deploy::supervisor::CanaryPlanSpec;
use apiwright_deploy::supervisor::DeployOutcome;
use apiwright_deploy::supervisor::DeployRequest;
use apiwright_deploy::supervisor::Supervisor;
use serde::Serialize;

/// One bad release's rollback.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub fault: String,
    pub outcome: String,
    pub breach: String,
    /// First bad response → weights back to blue.
    pub rollback_ms: Option<u64>,
    /// Requests green failed before the rollback.
    pub green_failures: u64,
    pub blue_failures: u64,
}

/// All rounds.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackTime {
    pub interval_ms: u64,
    pub rps: f64,
    pub rounds: Vec<Round>,
}

/// Builds the testbed in release mode and returns its path.
fn testbed(workspace: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "apiwright-testbed"])
        .current_dir(workspace)
        .status()
        .context("running cargo build -p apiwright-testbed")?;
    anyhow::ensure!(
        status.success(),
        "cargo build --release -p apiwright-testbed failed"
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    Ok(target.join("release").join("apiwright-testbed"))
}

fn release(
    dir: &DeploymentDir,
    binary: &Path,
    document: &Path,
    flaw: &str,
) -> anyhow::Result<String> {
    let (id, path) = dir.new_release()?;
    std::fs::copy(document, path.join("openapi.json")).context("copying the testbed's document")?;
    dir.write_manifest(&ReleaseManifest {
        id: id.clone(),
        created_unix_ms: 0,
        run: format!("exec '{}'", binary.display()),
        port_env: "PORT".into(),
        env: [
            ("TESTBED_FLAW".to_string(), flaw.to_string()),
            ("RATE_LIMIT_PER_USER".to_string(), "100000".to_string()),
        ]
        .into_iter()
        .collect(),
        secret_env: vec!["JWT_SECRET".into()],
        database_env: Some("DATABASE_PATH".into()),
        admin_env: Some(("ADMIN_EMAIL".into(), "ADMIN_PASSWORD".into())),
        ready: "/health".into(),
        startup_secs: 20,
        openapi: "openapi.json".into(),
        source: format!("testbed --flaw {flaw}"),
    })?;
    Ok(id)
}

pub fn run(workspace: &Path, rounds: usize, interval: Duration) -> anyhow::Result<RollbackTime> {
    let binary = testbed(workspace)?;
    let document = workspace.join("crates/testbed/src/openapi.json");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let rps = 40.0;
    runtime.block_on(async move {
        let state = tempfile::tempdir()?;
        let dir = DeploymentDir::open(state.path(), "notes")?;
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut supervisor = Supervisor::open(dir.clone(), "notes", listen).await?;
        let request = |release: String| DeployRequest {
            release,
            plan: CanaryPlanSpec {
                steps: vec![(10, 20.0), (50, 20.0), (100, 0.0)],
                interval_secs: interval.as_secs_f64(),
                max_error_rate_percent: 1.0,
                p95_ms: Some(150.0),
            },
            traffic_rps: rps,
            keep_blue_secs: 3600,
        };
        let good = release(&dir, &binary, &document, "none")?;
        let first = supervisor.deploy(&request(good)).await?;
        anyhow::ensure!(
            first.outcome == DeployOutcome::Promoted,
            "the good release did not go live: {}",
            first.summary
        );
        let mut measured = Vec::new();
        for round in 0..rounds {
            let fault = if round % 2 == 0 {
                "server-error"
            } else {
                "slow-endpoint"
            };
            let bad = release(&dir, &binary, &document, fault)?;
            eprintln!("  round {}: {fault}", round + 1);
            let report = supervisor.deploy(&request(bad)).await?;
            let steady = report.steady.clone().unwrap_or_default();
            measured.push(Round {
                fault: fault.to_string(),
                outcome: format!("{:?}", report.outcome),
                breach: report
                    .rollout
                    .as_ref()
                    .and_then(|rollout| rollout.rollback.as_ref())
                    .map(|rollback| rollback.breach.describe())
                    .unwrap_or_else(|| report.summary.clone()),
                rollback_ms: report.rollback_ms,
                green_failures: steady.failed_by_backend.get("green").copied().unwrap_or(0),
                blue_failures: steady.failed_by_backend.get("blue").copied().unwrap_or(0),
            });
        }
        supervisor.shutdown().await;
        Ok(RollbackTime {
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            rps,
            rounds: measured,
        })
    })
}

/// The Markdown table.
pub fn render(result: &RollbackTime, header: &str) -> String {
    let mut out = format!(
        "### rollback-time\n\n{header}Steady client {} req/s through the proxy; green judged every {} ms; canary 10% (objective p95 150 ms, error rate 1%).\n\n| round | fault | outcome | rollback (first bad response → blue has all traffic) | green failures | blue failures | breach |\n|---|---|---|---|---|---|---|\n",
        result.rps, result.interval_ms
    );
    for (index, round) in result.rounds.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            index + 1,
            round.fault,
            round.outcome,
            round
                .rollback_ms
                .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms")),
            round.green_failures,
            round.blue_failures,
            round.breach
        ));
    }
    out
}
