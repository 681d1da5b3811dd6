//! Seed 003 roles in a temporary workspace, without cargo: what each writes, where, and what
//! it says it did.

use std::path::Path;

use apiwright_agents::ContextEntry;
use apiwright_agents::GateRecord;
use apiwright_agents::StepOutput;
use apiwright_agents::StepRequest;
use apiwright_agents::WriteTarget;
use pretty_assertions::assert_eq;

use super::*;

fn spec_text(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../examples/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A request of `role` in `workflow` reading the spec, writing `writes`, with `params`.
fn request(
    workspace: &Path,
    workflow: &str,
    role: &str,
    spec: &str,
    writes: &[&str],
    params: &[(&str, &str)],
) -> StepRequest {
    let mut request = crate::context::tests::request(workspace, role);
    request.workflow = workflow.into();
    request.reads = vec![ContextEntry {
        key: format!("{workflow}/x/input/spec"),
        value: spec_text(spec),
    }];
    request.writes = writes
        .iter()
        .map(|name| WriteTarget {
            name: (*name).into(),
            key: format!("{workflow}/x/{role}/{name}"),
        })
        .collect();
    request.params = params
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    request
}

fn run(request: &StepRequest) -> StepOutput {
    crate::context::run_role(&request.role.id.clone(), request).unwrap()
}

fn step_of(request: &StepRequest) -> Step<'_> {
    Step {
        request,
        spec: apiwright_spec::load_str("spec", &request.reads[0].value).unwrap(),
    }
}

#[test]
fn a_parameter_naming_a_resource_targets_it_with_what_it_references() {
    let workspace = tempfile::tempdir().unwrap();
    for (value, items, resource) in [
        ("books", vec!["auth", "authors", "books"], Some("book")),
        ("book", vec!["auth", "authors", "books"], Some("book")),
        ("authors", vec!["auth", "authors"], Some("author")),
        (
            "workout-logging",
            vec!["auth", "authors", "books", "reviews"],
            None,
        ),
    ] {
        let request = request(
            workspace.path(),
            "sequential-feature",
            "api-designer",
            "bookstore",
            &[],
            &[("feature", value)],
        );
        let target = target(&step_of(&request));
        assert_eq!(target.items, items, "{value}");
        assert_eq!(target.resource.as_deref(), resource, "{value}");
    }
}

#[test]
fn the_baseline_leaves_out_the_feature_and_everything_that_needs_it() {
    let workspace = tempfile::tempdir().unwrap();
    let request = request(
        workspace.path(),
        "sequential-feature",
        "api-designer",
        "bookstore",
        &[],
        &[("feature", "authors")],
    );
    let step = step_of(&request);
    // Books reference authors and reviews reference books: neither works without authors.
    assert_eq!(baseline_items(&step.spec, &target(&step)), ["auth"]);
    // Without a named resource the spec describes the whole project.
    let whole = request_with(&request, &[("feature", "feature")]);
    let step = step_of(&whole);
    assert_eq!(
        baseline_items(&step.spec, &target(&step)),
        ["auth", "authors", "books", "reviews"]
    );
    let request = request_with(&request, &[("feature", "reviews")]);
    let step = step_of(&request);
    assert_eq!(
        baseline_items(&step.spec, &target(&step)),
        ["auth", "authors", "books"]
    );
}

fn request_with(request: &StepRequest, params: &[(&str, &str)]) -> StepRequest {
    let mut request = request.clone();
    request.params = params
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    request
}

#[test]
fn the_api_designer_writes_the_contract_and_the_baseline_when_there_is_no_project() {
    let workspace = tempfile::tempdir().unwrap();
    let request = request(
        workspace.path(),
        "sequential-feature",
        "api-designer",
        "bookstore",
        &["contract"],
        &[("feature", "reviews")],
    );
    let output = run(&request);
    let contract = &output.deliverables["contract"];
    assert_eq!(contract["document"], "openapi.json");
    assert_eq!(contract["openapi_version"], "3.1.0");
    assert!(contract["operations"].as_u64().unwrap() > 20, "{contract}");
    assert!(
        contract["paths"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("/api/v1/reviews/{id}"))
    );
    // Reviews with the authors and books they need: five operations each.
    assert_eq!(contract["feature_operations"].as_array().unwrap().len(), 15);
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace.path().join("openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        written,
        crate::openapi::openapi_document(&step_of(&request).spec)
    );
    for path in [
        "Cargo.toml",
        "ci.sh",
        "tests/authors.rs",
        "src/resources/books.rs",
    ] {
        assert!(workspace.path().join(path).is_file(), "{path}");
    }
    // The feature is left to the backend engineer.
    assert!(!workspace.path().join("src/resources/reviews.rs").exists());
    assert!(!workspace.path().join("tests/reviews.rs").exists());
    assert_eq!(mounted(workspace.path()), ["auth", "authors", "books"]);
    assert!(
        output
            .decisions
            .iter()
            .any(|d| d.contains("Rust/axum/SQLite"))
    );

    // With a project, the designer writes the contract only.
    std::fs::remove_file(workspace.path().join("tests/authors.rs")).unwrap();
    let output = run(&request);
    assert!(output.deliverables["contract"]["baseline_files"].is_null());
    assert!(!workspace.path().join("tests/authors.rs").exists());
}

#[test]
fn the_backend_engineer_implements_the_feature_with_its_tests_and_says_when_nothing_changed() {
    let workspace = tempfile::tempdir().unwrap();
    let designer = request(
        workspace.path(),
        "sequential-feature",
        "api-designer",
        "bookstore",
        &["contract"],
        &[("feature", "reviews")],
    );
    run(&designer);
    let mut engineer = request(
        workspace.path(),
        "sequential-feature",
        "python-backend-engineer",
        "bookstore",
        &["implementation"],
        &[("feature", "reviews")],
    );
    let output = run(&engineer);
    let implementation = &output.deliverables["implementation"];
    assert_eq!(
        implementation["newly_mounted"],
        serde_json::json!(["reviews"])
    );
    let mut files: Vec<&str> = implementation["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    files.sort_unstable();
    // Authors and books were in the baseline already: unchanged, not rewritten.
    assert_eq!(
        files,
        [
            "src/resources/mod.rs",
            "src/resources/reviews.rs",
            "tests/reviews.rs"
        ]
    );
    assert_eq!(
        mounted(workspace.path()),
        ["auth", "authors", "books", "reviews"]
    );
    assert!(output.escalation.is_none());

    // Again: nothing differs. In a later iteration of a loop that is an escalation, not a
    // silent retry.
    let output = run(&engineer);
    assert_eq!(
        output.deliverables["implementation"]["files"],
        serde_json::json!([])
    );
    assert!(
        output.summary.contains("nothing to change"),
        "{}",
        output.summary
    );
    assert!(output.escalation.is_none());
    engineer.iteration = 2;
    let output = run(&engineer);
    let escalation = output.escalation.unwrap();
    assert_eq!(escalation.kind, EscalationKind::TechnicalDebt);
    assert!(
        escalation.message.contains("nothing differs"),
        "{}",
        escalation.message
    );
}

#[test]
fn parallel_steps_never_write_the_same_file() {
    let workspace = tempfile::tempdir().unwrap();
    let params = [("task", "parallel-tasks")];
    let endpoint = request(
        workspace.path(),
        "parallel-tasks",
        "python-backend-engineer",
        "bookstore",
        &["endpoint"],
        &params,
    );
    let mut repository = endpoint.clone();
    repository.writes[0].name = "repository-method".into();
    let tests = request(
        workspace.path(),
        "parallel-tasks",
        "python-test-engineer",
        "bookstore",
        &["tests"],
        &params,
    );
    // Each step in its own empty workspace, as if the others had not started.
    let mut written: Vec<(String, Vec<String>)> = Vec::new();
    for step in [&endpoint, &repository, &tests] {
        let alone = tempfile::tempdir().unwrap();
        let mut step = step.clone();
        step.workspace = alone.path().to_path_buf();
        step.step_id = step.writes[0].name.clone();
        let output = run(&step);
        let mut files = Vec::new();
        for entry in walk(alone.path()) {
            if !entry.starts_with("docs/agents/") && !entry.starts_with(".apiwright-tmp") {
                files.push(entry);
            }
        }
        assert!(!files.is_empty(), "{}", step.writes[0].name);
        assert!(output.escalation.is_none());
        written.push((step.writes[0].name.clone(), files));
    }
    for (index, (name, files)) in written.iter().enumerate() {
        for (other, other_files) in &written[index + 1..] {
            let shared: Vec<&String> = files.iter().filter(|f| other_files.contains(f)).collect();
            assert!(
                shared.is_empty(),
                "{name} and {other} both write {shared:?}"
            );
        }
    }
    let (_, repository_files) = &written[1];
    assert_eq!(
        repository_files,
        &[
            "migrations/0001_init.down.sql",
            "migrations/0001_init.up.sql",
            "migrations/seed.sql"
        ]
    );
    let (_, test_files) = &written[2];
    assert_eq!(
        test_files,
        &[
            "tests/auth.rs",
            "tests/authors.rs",
            "tests/books.rs",
            "tests/reviews.rs"
        ]
    );
    // Together they make the whole project: every file the one-step build writes.
    let together: Vec<&String> = written.iter().flat_map(|(_, files)| files).collect();
    let whole_request = crate::context::tests::request(workspace.path(), "backend-developer");
    let whole = crate::development::whole_project(&Step {
        request: &whole_request,
        spec: step_of(&endpoint).spec,
    })
    .unwrap();
    for file in whole {
        assert!(together.contains(&&file.path), "missing {}", file.path);
    }
}

fn walk(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_bug_the_spec_does_not_name_is_escalated_not_invented() {
    let workspace = tempfile::tempdir().unwrap();
    let request = request(
        workspace.path(),
        "debug-fix-verify",
        "python-test-engineer",
        "bookstore",
        &["failing-test"],
        &[("task", "pagination-total")],
    );
    let output = run(&request);
    let escalation = output.escalation.unwrap();
    assert_eq!(escalation.kind, EscalationKind::ClarificationNeeded);
    assert!(
        escalation.message.contains("cannot find bugs"),
        "{}",
        escalation.message
    );
    assert_eq!(output.deliverables["failing-test"]["reproduced"], false);
    // Nothing was written but the agent's own records.
    assert_eq!(
        walk(workspace.path())
            .iter()
            .filter(|p| !p.starts_with("docs/agents/"))
            .count(),
        0
    );
}

#[test]
fn the_sprint_manager_writes_one_given_when_then_per_endpoint_and_the_baseline() {
    let workspace = tempfile::tempdir().unwrap();
    let request = request(
        workspace.path(),
        "sprint-task",
        "sprint-manager",
        "bookstore",
        &["requirements", "acceptance-criteria"],
        &[("task", "reviews")],
    );
    let output = run(&request);
    let requirements = &output.deliverables["requirements"];
    assert_eq!(requirements["feature"], "review");
    assert_eq!(
        requirements["items"],
        serde_json::json!(["auth", "authors", "books", "reviews"])
    );
    let endpoints = requirements["endpoints"].as_array().unwrap();
    // Auth (7) and the five of each of the three resources.
    assert_eq!(endpoints.len(), 7 + 15, "{requirements}");
    let criteria = &output.deliverables["acceptance-criteria"];
    assert_eq!(criteria["count"], 22);
    let first_review = criteria["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["endpoint"] == "GET /api/v1/reviews")
        .unwrap();
    assert_eq!(first_review["given"], "a caller who is authenticated");
    assert_eq!(first_review["when"], "they call GET /api/v1/reviews");
    assert!(first_review["then"].as_str().unwrap().contains("200"));
    assert!(workspace.path().join("Cargo.toml").is_file());
}

#[test]
fn sprint_docs_mark_the_task_complete_only_with_an_approved_review_and_passed_gates() {
    let workspace = tempfile::tempdir().unwrap();
    let mut request = request(
        workspace.path(),
        "sprint-task",
        "sprint-manager",
        "notes",
        &["sprint-docs"],
        &[("task", "sprint-4-task-3")],
    );
    let gate = |phase: &str, outcome: &str| GateRecord {
        phase: phase.into(),
        round: format!("{phase}#1"),
        gate: "tests".into(),
        kind: "tests".into(),
        outcome: outcome.into(),
        summary: format!("tests {outcome}"),
        evidence: serde_json::Value::Null,
    };
    request.reads.push(ContextEntry {
        key: "sprint-task/x/code-reviewer/review".into(),
        value: r#"{"approved": true}"#.into(),
    });
    // Failed, then passed on the retry: the latest outcome counts.
    request.gates = std::sync::Arc::from(vec![
        gate("implementation", "failed"),
        gate("implementation", "passed"),
    ]);
    let output = run(&request);
    let docs = &output.deliverables["sprint-docs"];
    assert_eq!(docs["path"], "docs/sprint/sprint-4-task-3.md");
    assert_eq!(docs["status"], "complete");
    let markdown =
        std::fs::read_to_string(workspace.path().join("docs/sprint/sprint-4-task-3.md")).unwrap();
    assert!(markdown.contains("Status: **complete**"), "{markdown}");

    request.gates = std::sync::Arc::from(vec![gate("tests", "failed")]);
    let output = run(&request);
    assert_eq!(output.deliverables["sprint-docs"]["status"], "blocked");
    assert_eq!(
        output.deliverables["sprint-docs"]["blockers"],
        serde_json::json!(["tests/tests: failed — tests failed"])
    );
}

#[test]
fn libtest_counts_add_up_over_suites_and_a_build_error_is_no_count() {
    let output = "running 2 tests\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                  running 3 tests\ntest result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out\n";
    assert_eq!(test_counts(output), Some((3, 2)));
    assert_eq!(test_counts("error[E0425]: cannot find value `x`"), None);
}

/// No cargo on this PATH: every run the role attempts fails to start, like a broken toolchain.
fn without_cargo(mut request: StepRequest) -> StepRequest {
    request.env = vec![("PATH".into(), "/nonexistent".into())];
    request
}

#[test]
fn tests_that_cannot_run_are_reported_as_issues_not_passes() {
    let workspace = tempfile::tempdir().unwrap();
    run(&request(
        workspace.path(),
        "iterative-refinement",
        "api-designer",
        "notes",
        &["contract"],
        &[("feature", "notes")],
    ));
    let output = run(&without_cargo(request(
        workspace.path(),
        "iterative-refinement",
        "python-test-engineer",
        "notes",
        &["test-report"],
        &[("feature", "notes")],
    )));
    let report = &output.deliverables["test-report"];
    assert_eq!(report["items"], serde_json::json!(["auth", "notes"]));
    // The baseline had auth's tests; notes' were missing and are written.
    assert_eq!(report["written"], serde_json::json!(["tests/notes.rs"]));
    assert_eq!(report["passed"], 0);
    assert_eq!(
        report["issues"],
        serde_json::json!([
            "auth: the tests did not compile or run",
            "notes: the tests did not compile or run"
        ])
    );
    assert_eq!(
        report["runs"][1]["run"]["command"],
        "cargo test --test notes"
    );
    assert_eq!(report["runs"][1]["run"]["success"], false);
}

#[test]
fn a_reproduction_that_does_not_run_is_escalated_and_the_test_is_kept() {
    let workspace = tempfile::tempdir().unwrap();
    let output = run(&without_cargo(request(
        workspace.path(),
        "debug-fix-verify",
        "python-test-engineer",
        "notes",
        &["failing-test"],
        &[("task", "notes-missing")],
    )));
    // `notes-missing` names no resource: escalated before anything is written.
    assert!(output.escalation.is_some());
    assert!(!workspace.path().join("Cargo.toml").exists());

    let output = run(&without_cargo(request(
        workspace.path(),
        "debug-fix-verify",
        "python-test-engineer",
        "notes",
        &["failing-test"],
        &[("task", "note")],
    )));
    let failing = &output.deliverables["failing-test"];
    assert_eq!(failing["file"], "tests/note.rs");
    assert_eq!(failing["resource"], "note");
    assert_eq!(failing["reproduced"], false);
    assert_eq!(failing["run"]["compiled"], false);
    let escalation = output.escalation.unwrap();
    assert_eq!(escalation.kind, EscalationKind::ClarificationNeeded);
    assert!(
        escalation.message.contains("do not compile or run"),
        "{}",
        escalation.message
    );
    // The baseline leaves the resource out, so the reproduction has something to find.
    assert!(workspace.path().join("tests/note.rs").is_file());
    assert_eq!(mounted(workspace.path()), ["auth"]);
}
