//! Seed 004's iteration: the score follows the evidence, the deliverable has seed 004's
//! fields, and only missing parts are written. No cargo runs here: the role's cargo calls are
//! given a `PATH` without cargo, so they fail the way a missing toolchain does.

use apiwright_agents::ContextEntry;
use apiwright_agents::StepRequest;
use apiwright_agents::WriteTarget;
use pretty_assertions::assert_eq;

use super::*;

fn perfect() -> Evidence {
    Evidence {
        spec_endpoints: 14,
        documented: 14,
        implemented: 14,
        resources: 1,
        tables: 1,
        down_migration: true,
        fmt_clean: true,
        clippy_clean: true,
        tests: Some((40, 0)),
        auth_mounted: true,
        rate_limiting: true,
    }
}

#[test]
fn the_score_follows_the_evidence() {
    assert_eq!(score(&perfect()).backend_score, 100.0);
    let clippy_fails = Evidence {
        clippy_clean: false,
        ..perfect()
    };
    let scores = score(&clippy_fails);
    assert_eq!(scores.lint, 50.0);
    assert_eq!(scores.backend_score, 93.0);
    assert!(
        scores.backend_score < 95.0,
        "a failing clippy must fail the gate"
    );
    let red = Evidence {
        tests: Some((30, 10)),
        ..perfect()
    };
    let scores = score(&red);
    assert_eq!((scores.tests, scores.security_integration), (75.0, 67.0));
    assert_eq!(scores.backend_score, 89.0);
    let broken = Evidence {
        tests: None,
        fmt_clean: false,
        clippy_clean: false,
        ..perfect()
    };
    assert_eq!(score(&broken).backend_score, 55.0);
    let half = Evidence {
        implemented: 7,
        documented: 7,
        ..perfect()
    };
    assert_eq!(score(&half).backend_score, 85.0);
}

fn request(workspace: &std::path::Path, iteration: u32) -> StepRequest {
    let mut request = crate::context::tests::request(workspace, "backend-developer");
    request.iteration = iteration;
    request.reads = vec![ContextEntry {
        key: "backend-iteration/p/input/spec".into(),
        value: std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/notes.yaml"
        ))
        .unwrap(),
    }];
    request.writes = vec![WriteTarget {
        name: format!("iteration-{iteration}"),
        key: format!("backend-iteration/p/phase4/backend-developer/iteration-{iteration}"),
    }];
    // No cargo on this PATH: every check the agent runs fails to start.
    request.env = vec![("PATH".into(), "/nonexistent".into())];
    request
}

#[test]
fn an_iteration_builds_the_project_and_scores_what_it_could_measure() {
    let workspace = tempfile::tempdir().unwrap();
    let request = request(workspace.path(), 1);
    let output = crate::context::run_role("backend-developer", &request).unwrap();
    let document = &output.deliverables["iteration-1"];
    for field in [
        "agent",
        "phase",
        "iteration",
        "timestamp",
        "input_references",
        "backend_implementation",
        "api_specification",
        "database_implementation",
        "service_architecture",
        "security_implementation",
        "performance_optimization",
        "external_integrations",
        "iteration_status",
        "next_iteration_focus",
        "cross_phase_traceability",
        "server_strengths",
        "performance_improvements",
        "recommendation",
        "next_steps",
        "evidence",
    ] {
        assert!(!document[field].is_null(), "missing {field}: {document}");
    }
    assert_eq!(document["agent"], "backend-developer");
    assert_eq!(document["phase"], "phase4");
    assert_eq!(document["iteration"], 1);
    assert_eq!(
        document["input_references"],
        serde_json::json!(["backend-iteration/p/input/spec"])
    );
    let timestamp = document["timestamp"].as_str().unwrap();
    assert_eq!(timestamp.len(), 20, "{timestamp}");
    assert!(timestamp.starts_with("20") && timestamp.ends_with('Z'));
    let scores = &document["backend_implementation"];
    // The files are all there (API, service, database full marks) but nothing could be
    // built, linted or tested: 0.15 * 300 + 0.15 * 67 (auth mounted, rate limiting) = 55.
    assert_eq!(scores["api_design"], 100.0);
    assert_eq!(scores["service_architecture"], 100.0);
    assert_eq!(scores["database_implementation"], 100.0);
    assert_eq!(scores["tests"], 0.0);
    assert_eq!(scores["lint"], 0.0);
    assert_eq!(scores["backend_score"], 55.0);
    assert!(scores["performance_optimization"].is_null());
    assert_eq!(document["performance_optimization"]["measured"], false);
    assert!(
        document["iteration_status"]
            .as_str()
            .unwrap()
            .starts_with("NEEDS WORK")
    );
    let evidence = document["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 3);
    assert!(evidence.iter().all(|run| run["success"] == false));
    assert!(workspace.path().join("Cargo.toml").is_file());
    assert!(workspace.path().join("openapi.json").is_file());
    assert!(workspace.path().join("ci.sh").is_file());
    assert!(!document["changes"].as_array().unwrap().is_empty());

    // Iteration 2 writes nothing over the existing project, and sees iteration 1.
    let readme = workspace.path().join("README.md");
    std::fs::write(&readme, "mine").unwrap();
    let mut second = self::request(workspace.path(), 2);
    second.reads.push(ContextEntry {
        key: "backend-iteration/p/phase4/backend-developer/iteration-1".into(),
        value: document.to_string(),
    });
    let output = crate::context::run_role("backend-developer", &second).unwrap();
    let document = &output.deliverables["iteration-2"];
    assert_eq!(document["changes"], serde_json::json!([]));
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), "mine");
    assert_eq!(
        document["previous_iterations"],
        serde_json::json!([{"iteration": 1, "backend_score": 55.0}])
    );
}

#[test]
fn a_missing_contract_and_an_unmounted_batch_lower_the_score_and_are_written_next() {
    let workspace = tempfile::tempdir().unwrap();
    let request = request(workspace.path(), 1);
    crate::context::run_role("backend-developer", &request).unwrap();
    let spec = apiwright_spec::load_str("spec", &request.reads[0].value).unwrap();
    let complete = inspect(&spec, workspace.path());
    assert_eq!(
        (complete.documented, complete.implemented),
        (complete.spec_endpoints, complete.spec_endpoints)
    );
    std::fs::remove_file(workspace.path().join("openapi.json")).unwrap();
    std::fs::remove_file(workspace.path().join("src/resources/notes.rs")).unwrap();
    let registry = apiwright_codegen::try_implementation_for(&spec, "auth", &["auth".to_string()])
        .unwrap()
        .into_iter()
        .find(|file| file.path == "src/resources/mod.rs")
        .unwrap();
    std::fs::write(
        workspace.path().join("src/resources/mod.rs"),
        registry.contents,
    )
    .unwrap();
    let gaps = inspect(&spec, workspace.path());
    assert_eq!(gaps.documented, 0);
    assert_eq!(gaps.implemented, complete.spec_endpoints - 5);
    let step = Step {
        request: &request,
        spec,
    };
    let mut missing: Vec<String> = missing_parts(&step)
        .unwrap()
        .into_iter()
        .map(|file| file.path)
        .collect();
    missing.sort();
    assert_eq!(
        missing,
        [
            "openapi.json",
            "src/resources/mod.rs",
            "src/resources/notes.rs"
        ]
    );
}
