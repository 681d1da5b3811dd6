//! Tests of seed 001's roles on the notes spec, in a temporary workspace, without cargo.

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::test_support::gate;
use crate::test_support::request_with;
use crate::test_support::step_with;

#[test]
fn the_orchestrator_splits_hard_soft_and_inferred_requirements_from_the_spec() {
    let workspace = tempfile::tempdir().unwrap();
    let output = step_with(
        workspace.path(),
        "api-orchestrator",
        &["intent", "requirements"],
        &[("session", "s1")],
    );
    let intent = &output.deliverables["intent"];
    assert_eq!(intent["purpose"], "Private notes of each member.");
    assert_eq!(
        intent["mcp_tags"],
        json!({"WHO": "api-development-s1", "WHY": "skill-execution"})
    );
    let requirements = &output.deliverables["requirements"];
    let ids = |class: &str| -> Vec<String> {
        requirements[class]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    // The notes spec states its SLAs and auth roles but not rate limits.
    assert_eq!(
        ids("hard"),
        ["H-SLA", "H-AUTH", "H-AUTHZ-notes", "H-DATA-notes"]
    );
    assert_eq!(ids("soft"), ["S-LIST-notes"]);
    assert_eq!(
        ids("inferred"),
        ["I-RATE", "I-VERSION", "I-COMPAT", "I-STACK", "I-ERRORS"]
    );
}

#[test]
fn delegation_and_the_delivery_report_with_a_ceiling_from_gates() {
    let workspace = tempfile::tempdir().unwrap();
    let delegation = step_with(workspace.path(), "api-orchestrator", &["delegation"], &[]);
    let roles: Vec<&str> = delegation.deliverables["delegation"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["backend-developer", "test-engineer", "code-reviewer"]
    );

    let mut request = request_with(workspace.path(), "api-orchestrator", &["delivery-report"]);
    let mut load = gate("validation-loop", "load", "planned", "not_run");
    load.evidence = json!({"planned": "load"});
    request.gates = std::sync::Arc::from(vec![
        gate("build-delegate", "build", "command", "passed"),
        gate("build-delegate", "tests", "tests", "passed"),
        load,
        gate("validation-loop", "security", "command", "failed"),
    ]);
    let output = crate::context::run_role("api-orchestrator", &request).unwrap();
    let report = &output.deliverables["delivery-report"];
    assert_eq!(
        report["confidence"]["line"],
        "Confidence: 0.35 (ceiling: inference 0.70) - 2 of 4 gate checks verified by running them; 1 failed; 1 not run (load)"
    );
    assert_eq!(report["validation_evidence"]["load"]["status"], "not_run");
    assert_eq!(
        report["validation_evidence"]["security"]["status"],
        "failed"
    );
    assert_eq!(
        report["validation_evidence"]["contract"]["status"],
        "not_run"
    );
    let owners: Vec<&str> = report["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["owner"].as_str().unwrap())
        .collect();
    assert_eq!(
        owners,
        [
            "adversarial-validator",
            "backend-developer",
            "release-engineer"
        ]
    );
    let markdown =
        std::fs::read_to_string(workspace.path().join("docs/delivery-report.md")).unwrap();
    assert!(
        markdown.trim_end().ends_with("1 not run (load)"),
        "{markdown}"
    );
}

#[test]
fn the_test_engineer_counts_the_generated_tests_without_claiming_they_pass() {
    let workspace = tempfile::tempdir().unwrap();
    let empty = step_with(workspace.path(), "test-engineer", &["tests"], &[]);
    assert_eq!(empty.deliverables["tests"]["total"], 0);
    step_with(
        workspace.path(),
        "backend-developer",
        &["implementation"],
        &[],
    );
    assert!(
        workspace.path().join("ci.sh").is_file(),
        "CI is wired with the implementation"
    );
    let output = step_with(workspace.path(), "test-engineer", &["tests"], &[]);
    let tests = &output.deliverables["tests"];
    assert!(tests["total"].as_u64().unwrap() > 10, "{tests}");
    assert_eq!(tests["executed"], false);
    assert_eq!(tests["contract_tests"]["status"], "not_run");
}

#[test]
fn the_release_engineer_writes_plans_marked_as_plans() {
    let workspace = tempfile::tempdir().unwrap();
    let names = [
        "migration-plan",
        "feature-flags",
        "canary-plan",
        "rollback-plan",
        "secrets-and-quotas",
    ];
    let output = step_with(workspace.path(), "release-engineer", &names, &[]);
    for name in names {
        assert_eq!(output.deliverables[name]["status"], "plan", "{name}");
    }
    let stages: Vec<u64> = output.deliverables["canary-plan"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["traffic_percent"].as_u64().unwrap())
        .collect();
    assert_eq!(stages, [10, 50, 100]);
    assert!(
        output.deliverables["migration-plan"]["down"]
            .as_str()
            .unwrap()
            .contains("DROP TABLE")
    );
    assert_eq!(output.deliverables["rollback-plan"]["rehearsed"], false);
}

#[test]
fn the_adversarial_validator_reports_only_recorded_evidence() {
    let workspace = tempfile::tempdir().unwrap();
    let first = step_with(
        workspace.path(),
        "adversarial-validator",
        &["evidence"],
        &[],
    );
    for check in [
        "contract",
        "load",
        "security",
        "rollback",
        "fuzzing",
        "failure_drill",
    ] {
        assert_eq!(
            first.deliverables["evidence"][check]["status"], "not_run",
            "{check}"
        );
    }
    let mut request = request_with(workspace.path(), "adversarial-validator", &["evidence"]);
    // Iteration 1 sees only earlier phases: a passed gate named `contract-versioned` (a memory
    // gate of the design) is no contract test.
    request.gates = std::sync::Arc::from(vec![gate(
        "design",
        "contract-versioned",
        "memory",
        "passed",
    )]);
    let output = crate::context::run_role("adversarial-validator", &request).unwrap();
    assert_eq!(
        output.deliverables["evidence"]["contract"]["status"],
        "not_run"
    );
    let mut contract = gate("validation-loop", "contract", "planned", "not_run");
    contract.evidence = json!({"planned": "contract"});
    request.gates = std::sync::Arc::from(vec![
        // A passed memory gate whose id starts with `contract` is no contract test.
        gate("design", "contract-versioned", "memory", "passed"),
        contract,
        gate("validation-loop", "rollback", "command", "failed"),
        gate("validation-loop", "security", "command", "passed"),
    ]);
    let output = crate::context::run_role("adversarial-validator", &request).unwrap();
    let evidence = &output.deliverables["evidence"];
    assert_eq!(evidence["contract"]["status"], "not_run");
    assert_eq!(evidence["rollback"]["status"], "failed");
    assert_eq!(evidence["security"]["status"], "passed");
    assert_eq!(evidence["load"]["status"], "not_run");
    assert_eq!(
        evidence["gates"]["counts"],
        json!({"passed": 2, "failed": 1, "not_run": 1, "total": 4})
    );
}

#[test]
fn fixes_say_what_the_generator_cannot_fix() {
    let workspace = tempfile::tempdir().unwrap();
    let mut request = request_with(workspace.path(), "backend-developer", &["fixes"]);
    let mut load = gate("validation-loop", "load", "planned", "not_run");
    load.evidence = json!({"planned": "load"});
    request.gates = std::sync::Arc::from(vec![load]);
    request.feedback = vec!["gate load: not run".into()];
    let output = crate::context::run_role("backend-developer", &request).unwrap();
    let fixes = &output.deliverables["fixes"];
    assert_eq!(fixes["regenerated"], false);
    assert_eq!(fixes["fixed"], json!([]));
    assert_eq!(fixes["cannot_fix"][0]["gate"], "load");
    assert!(!workspace.path().join("Cargo.toml").exists());
    request.gates = std::sync::Arc::from(vec![gate("build-delegate", "tests", "tests", "failed")]);
    let output = crate::context::run_role("backend-developer", &request).unwrap();
    assert_eq!(output.deliverables["fixes"]["regenerated"], true);
    assert_eq!(
        output.deliverables["fixes"]["failed_gates"],
        json!(["tests"])
    );
    assert!(workspace.path().join("Cargo.toml").is_file());
}
