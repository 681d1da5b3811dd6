//! Seeds 001 and 002 end to end with the built-in agents on the smallest example
//! (`examples/notes.yaml`, one resource): `develop-backend` and `api-orchestration-sop` run to
//! completion, their real gates (build, lint, tests, coverage, health) pass on the generated
//! project, and every check this version cannot run is recorded as not run — never as passed.
//! Both share the cargo target directory of the main job test, so the second project costs
//! little.

use serde_json::Value;

use crate::support::Sandbox;

/// (phase, gate, status) of every gate of the run's report.
fn gates(report: &Value) -> Vec<(String, String, String)> {
    report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|phase| {
            phase["gates"].as_array().unwrap().iter().map(move |gate| {
                (
                    phase["phase"].as_str().unwrap().to_string(),
                    gate["gate"].as_str().unwrap().to_string(),
                    gate["status"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect()
}

fn run(sandbox: &Sandbox, workflow: &str, params: &[&str]) -> (Option<i32>, String, Value) {
    let finished = sandbox.run_builtin_on_notes(workflow, workflow, params);
    (finished.code, finished.stderr, finished.report)
}

fn expect_gates(report: &Value, expected: &[(&str, &str, &str)]) {
    let actual = gates(report);
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(p, g, s)| (p.to_string(), g.to_string(), s.to_string()))
        .collect();
    pretty_assertions::assert_eq!(actual, expected, "{report:#}");
}

#[test]
fn develop_backend_escalates_on_a_stack_the_builtin_agents_cannot_generate() {
    let sandbox = Sandbox::new();
    let (_, stderr, report) = run(&sandbox, "develop-backend", &[]);
    assert_eq!(report["status"], "escalated", "{stderr}\n{report:#}");
    let escalation = &report["escalations"][0];
    assert_eq!(escalation["kind"], "clarification_needed", "{escalation}");
    let message = escalation["message"].as_str().unwrap();
    assert!(message.contains("tech_stack=node-express"), "{message}");
    assert!(
        message.contains("--param tech_stack=rust-axum --param database=sqlite"),
        "{message}"
    );
    assert!(
        !sandbox.path().join("develop-backend/Cargo.toml").exists(),
        "nothing is generated before a person decides"
    );
}

#[test]
fn develop_backend_and_api_orchestration_sop_complete_with_not_run_checks_reported() {
    let sandbox = Sandbox::new();
    let (code, stderr, report) = run(
        &sandbox,
        "develop-backend",
        &["tech_stack=rust-axum", "database=sqlite"],
    );
    assert_eq!(report["status"], "completed", "{stderr}\n{report:#}");
    assert_eq!(code, Some(0), "{stderr}");
    expect_gates(
        &report,
        &[
            ("clarification", "tech-stack-confirmed", "passed"),
            ("clarification", "client-types-identified", "passed"),
            ("clarification", "scalability-defined", "passed"),
            ("clarification", "security-clarified", "passed"),
            ("api-design", "endpoints-defined", "passed"),
            ("api-design", "versioning", "passed"),
            ("api-design", "rate-limiting", "passed"),
            ("api-design", "error-handling", "passed"),
            ("database", "schema-documented", "passed"),
            ("database", "indexing", "passed"),
            ("database", "migrations", "passed"),
            ("database", "validation-rules", "passed"),
            ("auth-security", "auth-implemented", "passed"),
            ("auth-security", "authorization-defined", "passed"),
            ("auth-security", "input-validation", "passed"),
            ("auth-security", "owasp", "passed"),
            ("architecture", "scaling", "passed"),
            ("architecture", "caching", "passed"),
            ("architecture", "circuit-breakers", "passed"),
            ("architecture", "service-boundaries", "passed"),
            ("testing", "unit-coverage", "passed"),
            ("testing", "integration-tests", "passed"),
            ("testing", "e2e-tests", "not_run"),
            ("testing", "ci-pipeline", "passed"),
            ("observability", "logging", "passed"),
            ("observability", "metrics", "passed"),
            ("observability", "tracing", "passed"),
            ("observability", "health-checks", "passed"),
            ("final-validation", "previous-gates", "passed"),
            ("final-validation", "coverage", "passed"),
            ("final-validation", "security-scan", "passed"),
            ("final-validation", "performance", "passed"),
            ("final-validation", "documentation", "passed"),
        ],
    );
    let workspace = sandbox.path().join("develop-backend");
    let validation: Value = serde_json::from_str(&sandbox.expect(
        &[
            "memory",
            "retrieve",
            "--key",
            "develop-backend/backend/phase-7/orchestrate-validation/validation-report",
            "--json",
        ],
        0,
    ))
    .unwrap_or(Value::Null);
    assert!(
        validation.to_string().contains("testing/e2e-tests"),
        "the validation report lists the not-run gates: {validation}"
    );
    assert!(workspace.join("docs/architecture.md").is_file());
    // The final validation's security scan and benchmarks are the gates' own reports.
    for (key, pointer) in [
        ("security-scan", "/evidence/probes"),
        ("benchmarks", "/evidence/scenarios/sustained/requests"),
    ] {
        let key = format!("develop-backend/backend/phase-7/orchestrate-validation/{key}");
        let entries: Value = serde_json::from_str(
            &sandbox.expect(&["memory", "retrieve", "--key", &key, "--json"], 0),
        )
        .unwrap_or(Value::Null);
        let value = &entries[0]["value"]["value"];
        assert_eq!(value["outcome"], "passed", "{key}: {value}");
        assert!(value.pointer(pointer).is_some(), "{key}: {value}");
    }

    let (code, stderr, report) = run(&sandbox, "api-orchestration-sop", &[]);
    assert_eq!(report["status"], "completed", "{stderr}\n{report:#}");
    assert_eq!(code, Some(0), "{stderr}");
    expect_gates(
        &report,
        &[
            ("intent-constraints", "requirements-extracted", "passed"),
            ("intent-constraints", "inferred-confirmed", "approved"),
            ("design", "contract-versioned", "passed"),
            ("design", "error-model", "passed"),
            ("build-delegate", "build", "passed"),
            ("build-delegate", "lint", "passed"),
            ("build-delegate", "tests", "passed"),
            ("safety-nets", "safety-plans", "passed"),
            ("validation-loop", "contract", "passed"),
            ("validation-loop", "load", "passed"),
            ("validation-loop", "security", "passed"),
            ("validation-loop", "rollback", "not_run"),
            ("delivery", "report", "passed"),
            ("delivery", "risks-owned", "approved"),
        ],
    );
    let delivery = std::fs::read_to_string(
        sandbox
            .path()
            .join("api-orchestration-sop/docs/delivery-report.md"),
    )
    .unwrap();
    assert!(
        delivery.contains("(ceiling: inference 0.70)"),
        "not-run checks cap the ceiling: {delivery}"
    );
}
