//! `apiwright deploy` as a user types it: a workflow whose production `deploy` gate releases
//! the testbed binary, run twice (the first release, then a blue/green shift), then `deploy
//! status`, `deploy rollback` (traffic back to blue), and `deploy stop`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::BIN;
use crate::support::Sandbox;
use crate::support::repo_root;

/// The testbed's binary, built beside apiwright's (built here when only this package is
/// tested).
fn testbed_binary() -> PathBuf {
    let binary = PathBuf::from(BIN).with_file_name("apiwright-testbed");
    if !binary.exists() {
        let built = Command::new(env!("CARGO"))
            .args(["build", "-p", "apiwright-testbed"])
            .current_dir(repo_root())
            .status()
            .unwrap();
        assert!(built.success(), "cargo build -p apiwright-testbed failed");
    }
    binary
}

fn workflow(sandbox: &Sandbox) -> PathBuf {
    let document = repo_root().join("crates/testbed/src/openapi.json");
    let path = sandbox.path().join("release.yaml");
    std::fs::write(
        &path,
        format!(
            r#"name: release-notes
description: Releases the notes service behind the proxy.
memory_pattern: release/{{agent}}/{{deliverable}}
parameters:
  api_id:
    default: notes
  flaw:
    default: none
  watch:
    default: "1"
agents:
  - id: devops-engineer
    description: Releases.
    command: 'cat >/dev/null; echo ready to release'
phases:
  - id: release
    title: Release
    steps:
      - agent: devops-engineer
        task: Release the notes service.
    gates:
      - id: deploy
        record: release/deploy
        deploy:
          environment: production
          service:
            run: exec '{binary}'
            admin:
              email_env: ADMIN_EMAIL
              password_env: ADMIN_PASSWORD
            env:
              TESTBED_FLAW: "{{flaw}}"
              RATE_LIMIT_PER_USER: "100000"
          release:
            package: cp '{document}' "$APIWRIGHT_RELEASE/openapi.json"
            secret_env: [JWT_SECRET]
            database_env: DATABASE_PATH
          openapi: '{document}'
          rollout:
            steps:
              - percent: 10
                watch_secs: "{{watch}}"
              - percent: 50
                watch_secs: "{{watch}}"
              - percent: 100
                watch_secs: "0"
            interval_secs: "0.25"
            p95_ms: "500"
            traffic_rps: "30"
"#,
            binary = testbed_binary().display(),
            document = document.display()
        ),
    )
    .unwrap();
    path
}

fn status(sandbox: &Sandbox) -> Value {
    let output = sandbox
        .command(&["deploy", "status", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn answering_backend(proxy: &str) -> String {
    let response = ureq::get(&format!("{proxy}/health")).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.headers()["x-apiwright-backend"]
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_second_release_shifts_and_deploy_rollback_returns_traffic_to_blue() {
    let sandbox = Sandbox::new();
    let _stop = sandbox.stop_deployments_on_drop();
    let workflow = workflow(&sandbox);
    let workflow = workflow.to_str().unwrap();
    // Nothing deployed yet: status says so.
    let nothing = sandbox.command(&["deploy", "status"]).output().unwrap();
    assert_eq!(
        nothing.status.code(),
        Some(1),
        "no deployment directory yet"
    );
    for _ in 0..2 {
        let run = sandbox
            .command(&["run", workflow, "--yes"])
            .output()
            .unwrap();
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let recorded = sandbox
        .command(&["memory", "retrieve", "--key", "release/deploy", "--json"])
        .output()
        .unwrap();
    let recorded: Value = serde_json::from_slice(&recorded.stdout).unwrap();
    let evidence = &recorded[0]["value"]["value"]["evidence"];
    assert_eq!(evidence["decision"], "GO", "{recorded}");
    assert_eq!(evidence["zero_downtime"]["failed"], 0, "{recorded}");
    let steps: Vec<u64> = evidence["report"]["rollout"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["percent"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [10, 50, 100], "{recorded}");

    let before = status(&sandbox);
    let second = before["live"]["release"].as_str().unwrap().to_string();
    let first = before["blue"]["release"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(
        before["blue"]["running"], true,
        "blue is kept running for rollback"
    );
    let proxy = before["proxy_url"].as_str().unwrap().to_string();
    assert_eq!(answering_backend(&proxy), "green");

    let rollback = sandbox.command(&["deploy", "rollback"]).output().unwrap();
    assert!(
        rollback.status.success(),
        "{}",
        String::from_utf8_lossy(&rollback.stderr)
    );
    assert!(String::from_utf8_lossy(&rollback.stdout).contains("rolled back"));
    let after = status(&sandbox);
    assert_eq!(after["live"]["release"], first.as_str(), "{after}");
    assert_eq!(after["weights"], serde_json::json!([100, 0]));
    assert_eq!(answering_backend(&proxy), "blue");

    // A bad release (500s under traffic) is rolled back by the gate: the run fails, the record
    // says NO-GO with the evidence, and the live release is unchanged.
    let bad = sandbox
        .command(&[
            "run",
            workflow,
            "--yes",
            "--param",
            "flaw=server-error",
            "--param",
            "watch=5",
        ])
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let recorded = sandbox
        .command(&["memory", "retrieve", "--key", "release/deploy", "--json"])
        .output()
        .unwrap();
    let recorded: Value = serde_json::from_slice(&recorded.stdout).unwrap();
    let record = &recorded[0]["value"]["value"];
    assert_eq!(record["outcome"], "failed", "{record}");
    assert_eq!(record["evidence"]["decision"], "NO-GO", "{record}");
    assert_eq!(record["evidence"]["status"], "ROLLED_BACK", "{record}");
    assert!(
        record["summary"].as_str().unwrap().contains("error rate"),
        "{record}"
    );
    assert_eq!(
        record["evidence"]["zero_downtime"]["failed_by_backend"]["blue"],
        Value::Null,
        "blue served throughout: {record}"
    );
    assert_eq!(status(&sandbox)["live"]["release"], first.as_str());
    assert_eq!(answering_backend(&proxy), "blue");

    let stop = sandbox.command(&["deploy", "stop"]).output().unwrap();
    assert!(stop.status.success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let stopped = sandbox.command(&["deploy", "status"]).output().unwrap();
    assert_eq!(
        stopped.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
}
