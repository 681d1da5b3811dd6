//! Approval gates and escalations pause a run until `apiwright approve` answers them.

use crate::support::Sandbox;
use crate::support::repo_root;

#[test]
fn an_approval_gate_pauses_the_run_until_approved_then_the_run_completes() {
    let sandbox = Sandbox::new();
    let example = repo_root().join("examples/workflows/feature-delivery.yaml");
    let output = sandbox.run(&["run", example.to_str().unwrap(), "--out", "ws"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("waits for approval `plan-approved`"));
    let run_id = sandbox.last_run_id();
    let report = sandbox.report(&run_id);
    assert_eq!(report["status"], "waiting_approval");
    assert_eq!(
        report["phases"].as_array().unwrap().len(),
        1,
        "nothing after the gate ran"
    );

    let wrong = sandbox.run(&["approve", &run_id, "some-other-gate"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains(
            "expected a decision on approval gate `plan-approved`, found `some-other-gate`"
        )
    );

    sandbox.expect(
        &[
            "approve",
            &run_id,
            "plan-approved",
            "--by",
            "lead",
            "--reason",
            "scope ok",
        ],
        0,
    );
    let report = sandbox.report(&run_id);
    assert_eq!(report["status"], "completed");
    assert_eq!(report["phases"][0]["gates"][1]["evidence"]["by"], "lead");
    assert_eq!(
        report["phases"][0]["gates"][1]["evidence"]["reason"],
        "scope ok"
    );
}

#[test]
fn a_rejected_approval_fails_the_phase_and_the_run() {
    let sandbox = Sandbox::new();
    let example = repo_root().join("examples/workflows/feature-delivery.yaml");
    sandbox.expect(&["run", example.to_str().unwrap(), "--out", "ws"], 3);
    let run_id = sandbox.last_run_id();
    sandbox.expect(
        &[
            "approve",
            &run_id,
            "plan-approved",
            "--reject",
            "--reason",
            "too big",
        ],
        4,
    );
    let report = sandbox.report(&run_id);
    assert_eq!(report["status"], "failed");
    assert!(
        report["failure"].as_str().unwrap().contains("too big"),
        "{report}"
    );
}

#[test]
fn an_agent_escalation_pauses_with_a_record_and_approval_continues() {
    let sandbox = Sandbox::new();
    let workflow = sandbox.write(
        "ask.yaml",
        r#"name: ask
description: an agent that needs a decision
memory_pattern: "ask/{agent}/{deliverable}"
agents:
  - id: designer
    description: asks which database to use
    command: 'cat >/dev/null; echo "{\"deliverables\": {\"design\": {\"db\": \"?\"}}, \"summary\": \"blocked\", \"escalation\": {\"kind\": \"clarification_needed\", \"message\": \"PostgreSQL or SQLite?\", \"options\": [\"PostgreSQL\", \"SQLite\"]}}"'
  - id: builder
    description: builds
    command: 'cat >/dev/null; echo built'
phases:
  - id: design
    title: Design
    steps: [{agent: designer, task: design, writes: [design]}]
  - id: build
    title: Build
    steps: [{agent: builder, task: build, reads: ["ask/designer/design"], writes: [result]}]
"#,
    );
    let output = sandbox.run(&["run", workflow.to_str().unwrap(), "--out", "ws"]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("escalated (clarification_needed) as `escalation-1`: PostgreSQL or SQLite?"),
        "{stderr}"
    );
    let run_id = sandbox.last_run_id();
    let report = sandbox.report(&run_id);
    assert_eq!(report["status"], "escalated");
    assert_eq!(report["escalations"][0]["raised_by"], "designer");
    // The deliverable written before the escalation is kept.
    sandbox.expect(&["memory", "retrieve", "--key", "ask/designer/design"], 0);

    sandbox.expect(
        &["approve", &run_id, "escalation-1", "--reason", "SQLite"],
        0,
    );
    let report = sandbox.report(&run_id);
    assert_eq!(report["status"], "completed");
    assert_eq!(report["escalations"][0]["status"], "approved");
}
