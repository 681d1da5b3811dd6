//! Blue/green deployments of the real testbed binary through apiwright's supervisor: good
//! releases shift with zero failed requests, bad ones (slow, 5xx on an endpoint, failing
//! health check) are rolled back automatically with blue serving throughout, and a manual
//! rollback returns traffic to blue. Every release shares one SQLite file and one token secret,
//! as blue and green of a real deployment do.

use std::net::SocketAddr;
use std::path::Path;

use apiwright_deploy::BACKEND_HEADER;
use apiwright_deploy::deployment::DeploymentDir;
use apiwright_deploy::deployment::ReleaseManifest;
use apiwright_deploy::supervisor::CanaryPlanSpec;
use apiwright_deploy::supervisor::DeployOutcome;
use apiwright_deploy::supervisor::DeployReport;
use apiwright_deploy::supervisor::DeployRequest;
use apiwright_deploy::supervisor::Supervisor;

const BINARY: &str = env!("CARGO_BIN_EXE_apiwright-testbed");

/// Keeps a release of the testbed with `flaw` in the deployment and returns its id.
fn release(dir: &DeploymentDir, flaw: &str) -> String {
    let (id, path) = dir.new_release().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/openapi.json"),
        path.join("openapi.json"),
    )
    .unwrap();
    let manifest = ReleaseManifest {
        id: id.clone(),
        created_unix_ms: 0,
        run: format!("exec '{BINARY}'"),
        port_env: "PORT".into(),
        env: [
            ("TESTBED_FLAW".to_string(), flaw.to_string()),
            // The steady client is one user at 40 req/s; the testbed's default is 10/s.
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
    };
    dir.write_manifest(&manifest).unwrap();
    id
}

fn request(release: &str) -> DeployRequest {
    DeployRequest {
        release: release.to_string(),
        plan: CanaryPlanSpec {
            steps: vec![(10, 2.0), (50, 2.0), (100, 0.0)],
            interval_secs: 0.25,
            max_error_rate_percent: 1.0,
            p95_ms: Some(150.0),
        },
        traffic_rps: 40.0,
        keep_blue_secs: 600,
    }
}

fn listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn assert_blue_never_failed(report: &DeployReport) {
    let steady = report.steady.as_ref().unwrap();
    assert_eq!(
        steady.failed_by_backend.get("blue"),
        None,
        "blue must serve throughout: {:?}",
        steady.failures
    );
    assert_eq!(
        steady.failed_by_backend.get("proxy"),
        None,
        "no request may go unanswered: {:?}",
        steady.failures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_releases_shift_without_a_failed_request_and_bad_ones_roll_back() {
    let state = tempfile::tempdir().unwrap();
    let dir = DeploymentDir::open(state.path(), "notes").unwrap();
    let mut supervisor = Supervisor::open(dir.clone(), "notes", listen())
        .await
        .unwrap();

    // First release: nothing to shift from; green serves everything, watched for a window.
    let v1 = release(&dir, "none");
    let first = supervisor.deploy(&request(&v1)).await.unwrap();
    assert_eq!(first.outcome, DeployOutcome::Promoted, "{}", first.summary);
    assert_eq!(
        first.steady.as_ref().unwrap().failed,
        0,
        "{:?}",
        first.steady
    );
    let proxy = first.proxy_url.clone().unwrap();

    // A good second release: 10% → 50% → 100% with the steady client, zero failures.
    let v2 = release(&dir, "none");
    let good = supervisor.deploy(&request(&v2)).await.unwrap();
    assert_eq!(good.outcome, DeployOutcome::Promoted, "{}", good.summary);
    let steady = good.steady.as_ref().unwrap();
    assert_eq!(steady.failed, 0, "zero downtime: {:?}", steady.failures);
    assert!(
        steady.sent >= 100,
        "the client drove traffic for the whole shift: {steady:?}"
    );
    assert!(
        steady.by_backend.get("blue").copied().unwrap_or(0) > 0
            && steady.by_backend.get("green").copied().unwrap_or(0) > 0,
        "both versions answered during the shift: {:?}",
        steady.by_backend
    );
    let steps: Vec<u32> = good
        .rollout
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.percent)
        .collect();
    assert_eq!(steps, [10, 50, 100]);
    assert_eq!(
        good.proxy_url.as_deref(),
        Some(proxy.as_str()),
        "the proxy keeps its address"
    );

    // A slow release: p95 over the 150 ms objective at 10% → back to blue (v2).
    let slow = release(&dir, "slow-endpoint");
    let report = supervisor.deploy(&request(&slow)).await.unwrap();
    assert_eq!(
        report.outcome,
        DeployOutcome::RolledBack,
        "{}",
        report.summary
    );
    assert!(report.summary.contains("p95"), "{}", report.summary);
    assert_blue_never_failed(&report);
    let rollback_ms = report.rollback_ms.unwrap();
    println!("slow release: rolled back {rollback_ms} ms after the first slow response");
    assert!(
        rollback_ms < 5_000,
        "decision within one interval of enough samples: {rollback_ms} ms"
    );

    // Traffic is on v2 (blue slot) again and the bad green is gone.
    let status = supervisor.status().unwrap();
    assert_eq!(status.live.as_ref().unwrap().release, v2);
    assert_eq!(status.weights, Some((100, 0)));
    let answer = reqwest::get(format!("{proxy}/health")).await.unwrap();
    assert_eq!(answer.headers()[BACKEND_HEADER], "blue");

    // Manual rollback: from v2 back to v1, kept as blue by the good deploy.
    let status = supervisor.rollback().await.unwrap();
    assert_eq!(status.live.as_ref().unwrap().release, v1);
    assert!(status.live.as_ref().unwrap().running);
    let answer = reqwest::get(format!("{proxy}/health")).await.unwrap();
    assert!(answer.status().is_success());
    assert_eq!(answer.headers()[BACKEND_HEADER], "blue");
    // Nothing further back is kept: a second rollback is refused, saying why.
    let refused = supervisor.rollback().await.unwrap_err().to_string();
    assert!(refused.contains("nothing to roll back to"), "{refused}");
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_fails_its_health_check_or_answers_5xx_never_keeps_traffic() {
    let state = tempfile::tempdir().unwrap();
    let dir = DeploymentDir::open(state.path(), "notes").unwrap();
    let mut supervisor = Supervisor::open(dir.clone(), "notes", listen())
        .await
        .unwrap();
    let v1 = release(&dir, "none");
    let first = supervisor.deploy(&request(&v1)).await.unwrap();
    assert_eq!(first.outcome, DeployOutcome::Promoted, "{}", first.summary);

    let unhealthy = release(&dir, "unhealthy");
    let report = supervisor.deploy(&request(&unhealthy)).await.unwrap();
    assert_eq!(
        report.outcome,
        DeployOutcome::Rejected,
        "{}",
        report.summary
    );
    assert!(
        report.summary.contains("never became ready"),
        "{}",
        report.summary
    );
    assert_eq!(report.startup["ready"], false);

    let broken = release(&dir, "server-error");
    let report = supervisor.deploy(&request(&broken)).await.unwrap();
    assert_eq!(
        report.outcome,
        DeployOutcome::RolledBack,
        "{}",
        report.summary
    );
    assert!(report.summary.contains("error rate"), "{}", report.summary);
    assert_blue_never_failed(&report);
    let rollback_ms = report.rollback_ms.unwrap();
    println!("5xx release: rolled back {rollback_ms} ms after the first failed response");
    assert!(
        rollback_ms <= 1_000,
        "within one 250 ms interval plus scheduling: {rollback_ms} ms"
    );

    let status = supervisor.status().unwrap();
    assert_eq!(status.live.as_ref().unwrap().release, v1);
    let kinds: Vec<&str> = status
        .history
        .iter()
        .map(|event| event.kind.as_str())
        .collect();
    assert_eq!(kinds, ["deployed", "rejected", "rolled_back"]);
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_a_slow_live_release_raises_the_latency_alerts() {
    use apiwright_deploy::monitor::AlertThresholds;
    use apiwright_deploy::monitor::Level;
    let state = tempfile::tempdir().unwrap();
    let dir = DeploymentDir::open(state.path(), "notes").unwrap();
    let mut supervisor = Supervisor::open(dir.clone(), "notes", listen())
        .await
        .unwrap();
    // Live without a latency objective, so the slow list is deployed and then watched.
    let slow = release(&dir, "slow-endpoint");
    let mut first = request(&slow);
    first.plan.p95_ms = None;
    let deployed = supervisor.deploy(&first).await.unwrap();
    assert_eq!(
        deployed.outcome,
        DeployOutcome::Promoted,
        "{}",
        deployed.summary
    );
    let thresholds = AlertThresholds {
        p95_warning_ms: 50.0,
        p95_critical_ms: 100.0,
        ..AlertThresholds::default()
    };
    let report = supervisor
        .monitor(std::time::Duration::from_secs(3), 20.0, &thresholds)
        .await
        .unwrap();
    assert!(report.figures.requests > 20, "{report:?}");
    assert!(report.figures.p95_ms > 100.0, "{report:?}");
    let p95: Vec<&apiwright_deploy::monitor::Alert> = report
        .alerts
        .iter()
        .filter(|alert| alert.metric == "p95_ms")
        .collect();
    assert_eq!(p95.len(), 1, "{:?}", report.alerts);
    assert_eq!(p95[0].level, Level::Critical);
    // Per endpoint: the slow list stands out, the reads do not.
    let list = report
        .endpoints
        .iter()
        .find(|endpoint| endpoint["method"] == "GET" && endpoint["route"] == "/api/v1/notes")
        .unwrap();
    assert!(list["p95_ms"].as_f64().unwrap() > 250.0, "{list}");
    let read = report
        .endpoints
        .iter()
        .find(|endpoint| endpoint["route"] == "/api/v1/notes/{id}")
        .unwrap();
    assert!(read["p95_ms"].as_f64().unwrap() < 100.0, "{read}");
    supervisor.shutdown().await;
}
