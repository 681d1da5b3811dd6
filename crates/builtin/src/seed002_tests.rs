//! Tests of seed 002's roles on the notes spec, in a temporary workspace, without cargo.

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::test_support::gate;
use crate::test_support::request_with;
use crate::test_support::step_with;

const RUST: [(&str, &str); 2] = [("tech_stack", "rust-axum"), ("database", "sqlite")];

fn fields(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn clarification_confirms_the_supported_stack_and_derives_the_rest_from_the_spec() {
    let workspace = tempfile::tempdir().unwrap();
    let writes = [
        "tech-stack",
        "client-types",
        "scalability-requirements",
        "security-requirements",
        "johari-context",
    ];
    let output = step_with(
        workspace.path(),
        "orchestrate-clarification",
        &writes,
        &RUST,
    );
    assert!(output.escalation.is_none());
    let stack = &output.deliverables["tech-stack"];
    assert_eq!(stack["confirmed"], true);
    assert_eq!(stack["framework"], "axum");
    let scalability = &output.deliverables["scalability-requirements"];
    assert_eq!(scalability["rps"], 500, "from the spec's slas");
    assert_eq!(scalability["p95_ms"], 200);
    let security = &output.deliverables["security-requirements"];
    assert_eq!(security["ownership"], serde_json::json!(["notes"]));
    assert_eq!(security["owasp"].as_array().unwrap().len(), 10);
    let johari = &output.deliverables["johari-context"];
    assert_eq!(
        fields(johari),
        ["blind", "hidden", "open", "quadrants", "unknown"]
    );
    let open = johari["open"].to_string();
    let hidden = johari["hidden"].to_string();
    assert!(
        open.contains("p95 < 200 ms"),
        "the notes spec states its SLAs: {open}"
    );
    assert!(
        hidden.contains("600 req/min"),
        "rate limits are defaulted: {hidden}"
    );
    assert!(
        workspace
            .path()
            .join("docs/agents/phase-orchestrate-clarification.md")
            .is_file()
    );
}

#[test]
fn clarification_escalates_on_a_stack_it_cannot_generate() {
    let workspace = tempfile::tempdir().unwrap();
    let output = step_with(
        workspace.path(),
        "orchestrate-clarification",
        &[
            "tech-stack",
            "client-types",
            "scalability-requirements",
            "security-requirements",
            "johari-context",
        ],
        &[("tech_stack", "node-express"), ("database", "postgresql")],
    );
    let escalation = output.escalation.expect("an escalation");
    assert_eq!(
        escalation.kind,
        apiwright_workflow::EscalationKind::ClarificationNeeded
    );
    assert!(
        escalation.message.contains("tech_stack=node-express"),
        "{}",
        escalation.message
    );
    assert!(
        escalation
            .message
            .contains("--param tech_stack=rust-axum --param database=sqlite"),
        "{}",
        escalation.message
    );
    assert_eq!(escalation.options.len(), 3);
    let stack = &output.deliverables["tech-stack"];
    assert_eq!(stack["confirmed"], false);
    assert_eq!(stack["unsupported"][0]["parameter"], "tech_stack");
    assert_eq!(stack["unsupported"][1]["requested"], "postgresql");
}

#[test]
fn synthesis_produces_what_each_phase_writes() {
    let workspace = tempfile::tempdir().unwrap();
    let api = step_with(
        workspace.path(),
        "orchestrate-synthesis",
        &[
            "api-contract",
            "versioning-strategy",
            "rate-limits",
            "error-model",
        ],
        &RUST,
    );
    assert!(workspace.path().join("openapi.json").is_file());
    let spec = apiwright_spec::load_str("notes.yaml", crate::test_support::NOTES).unwrap();
    assert_eq!(
        api.deliverables["api-contract"]["endpoint_count"],
        spec.endpoints().len()
    );
    assert_eq!(api.deliverables["rate-limits"]["exceeded"]["status"], 429);
    assert_eq!(
        api.deliverables["error-model"]["standard"],
        "RFC 9457 (problem details for HTTP APIs)"
    );
    let database = step_with(
        workspace.path(),
        "orchestrate-synthesis",
        &[
            "schema",
            "indexing-strategy",
            "migration-plan",
            "validation-rules",
        ],
        &RUST,
    );
    assert!(
        database.deliverables["schema"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "notes")
    );
    assert!(
        database.deliverables["migration-plan"]["down"]
            .as_str()
            .unwrap()
            .contains("DROP TABLE")
    );
    assert!(
        database.deliverables["indexing-strategy"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        database.deliverables["validation-rules"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "one rule per field of the note: title, body, done"
    );
    assert!(!database.deliverables.contains_key("api-contract"));
    let architecture = step_with(
        workspace.path(),
        "orchestrate-synthesis",
        &[
            "scaling-strategy",
            "caching-layers",
            "circuit-breakers",
            "service-boundaries",
        ],
        &RUST,
    );
    assert_eq!(
        architecture.deliverables["circuit-breakers"]["circuit_breakers"],
        serde_json::json!([])
    );
    assert_eq!(
        architecture.deliverables["service-boundaries"]["services"][0]["name"],
        "notes"
    );
}

#[test]
fn generation_writes_the_project_and_describes_its_security() {
    let workspace = tempfile::tempdir().unwrap();
    let output = step_with(
        workspace.path(),
        "orchestrate-generation",
        &[
            "auth-implementation",
            "authorization-rules",
            "input-validation",
            "owasp-review",
        ],
        &RUST,
    );
    for file in [
        "Cargo.toml",
        "src/auth.rs",
        "tests/auth.rs",
        "tests/notes.rs",
        "tests/platform.rs",
    ] {
        assert!(workspace.path().join(file).is_file(), "{file}");
    }
    assert_eq!(
        output.deliverables["auth-implementation"]["passwords"]["hashing"],
        "argon2id"
    );
    assert_eq!(
        output.deliverables["authorization-rules"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        output.deliverables["owasp-review"]["probing"]["status"],
        "not_run"
    );
    assert!(
        output.deliverables["owasp-review"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["probed"] == "not_run")
    );
}

#[test]
fn generation_reports_tests_ci_and_observability_from_the_files() {
    let workspace = tempfile::tempdir().unwrap();
    // Without a project there is nothing to run or describe: said so, nothing claimed.
    let empty = step_with(
        workspace.path(),
        "orchestrate-generation",
        &["test-report", "tracing", "health-checks"],
        &RUST,
    );
    assert_eq!(empty.deliverables["test-report"]["status"], "not_run");
    assert_eq!(empty.deliverables["health-checks"]["present"], false);
    // The project, then the phase 5 CI pipeline and the phase 6 descriptions.
    step_with(
        workspace.path(),
        "orchestrate-generation",
        &["auth-implementation"],
        &RUST,
    );
    let testing = step_with(
        workspace.path(),
        "orchestrate-generation",
        &["ci-pipeline"],
        &RUST,
    );
    assert!(workspace.path().join("ci.sh").is_file());
    assert!(workspace.path().join(".github/workflows/ci.yml").is_file());
    assert_eq!(
        testing.deliverables["ci-pipeline"]["entry_point"],
        "sh ci.sh ci"
    );
    let observability = step_with(
        workspace.path(),
        "orchestrate-generation",
        &["logging", "metrics", "tracing", "health-checks"],
        &RUST,
    );
    assert_eq!(
        observability.deliverables["logging"]["present"], true,
        "{}",
        observability.deliverables["logging"]
    );
    assert_eq!(
        observability.deliverables["metrics"]["present"], true,
        "{}",
        observability.deliverables["metrics"]
    );
    assert_eq!(
        observability.deliverables["health-checks"]["present"], true,
        "{}",
        observability.deliverables["health-checks"]
    );
    let tracing = &observability.deliverables["tracing"];
    assert_eq!(tracing["distributed_tracing"], true, "{tracing}");
    assert_eq!(tracing["request_ids"], true);

    // The deliverable reports what the code has: without trace context propagation there is
    // no distributed tracing to claim.
    let middleware = workspace.path().join("src/middleware.rs");
    let stripped = std::fs::read_to_string(&middleware)
        .unwrap()
        .replace("traceparent", "x-trace");
    std::fs::write(&middleware, stripped).unwrap();
    let observability = step_with(
        workspace.path(),
        "orchestrate-generation",
        &["tracing"],
        &RUST,
    );
    let tracing = &observability.deliverables["tracing"];
    assert_eq!(tracing["distributed_tracing"], false, "{tracing}");
}

#[test]
fn validation_reports_not_run_gates_as_not_run_and_failed_gates_as_failed() {
    let workspace = tempfile::tempdir().unwrap();
    let mut request = request_with(
        workspace.path(),
        "orchestrate-validation",
        &[
            "validation-report",
            "security-scan",
            "benchmarks",
            "documentation",
        ],
    );
    request.gates = std::sync::Arc::from(vec![
        gate("auth-security", "auth-implemented", "tests", "passed"),
        gate("auth-security", "owasp", "planned", "not_run"),
        gate("testing", "integration-tests", "tests", "failed"),
        gate("final-validation", "performance", "planned", "not_run"),
    ]);
    // The planned gates' evidence names their kind.
    let mut gates = request.gates.to_vec();
    gates[1].evidence = serde_json::json!({"planned": "security"});
    gates[3].evidence = serde_json::json!({"planned": "load"});
    request.gates = std::sync::Arc::from(gates);
    let output = crate::context::run_role("orchestrate-validation", &request).unwrap();
    let report = &output.deliverables["validation-report"];
    assert_eq!(
        report["passed"],
        serde_json::json!(["auth-security/auth-implemented"])
    );
    assert_eq!(
        report["failed"],
        serde_json::json!(["testing/integration-tests"])
    );
    assert_eq!(
        report["not_run"],
        serde_json::json!(["auth-security/owasp", "final-validation/performance"])
    );
    assert_eq!(report["all_verified"], false);
    assert_eq!(output.deliverables["security-scan"]["status"], "not_run");
    assert_eq!(output.deliverables["benchmarks"]["status"], "not_run");
    assert_eq!(output.deliverables["benchmarks"]["measured"], Value::Null);
    let documentation = &output.deliverables["documentation"];
    for file in documentation["files"].as_array().unwrap() {
        assert!(
            workspace.path().join(file.as_str().unwrap()).is_file(),
            "{file}"
        );
    }
    // A security gate that ran and failed is a failed scan.
    let mut failing = request.clone();
    let mut gates = failing.gates.to_vec();
    gates.push(gate(
        "final-validation",
        "security-scan",
        "command",
        "failed",
    ));
    failing.gates = std::sync::Arc::from(gates);
    let output = crate::context::run_role("orchestrate-validation", &failing).unwrap();
    assert_eq!(output.deliverables["security-scan"]["status"], "failed");
}
