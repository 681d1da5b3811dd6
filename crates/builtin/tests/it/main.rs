//! The built-in agents' deliverables checked against each other by apiwright's own gates:
//! the service `apiwright-codegen` generates for `examples/bookstore.yaml` serves exactly the
//! operations of the OpenAPI document `openapi_document` writes for it, judged by the
//! `openapi` gate of the built-in `api-development` workflow (sources only, no build).

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use apiwright_gates::GateContext;
use apiwright_gates::GateOutcome;
use apiwright_gates::GateReport;
use apiwright_spec::Spec;
use apiwright_store::Store;
use apiwright_workflow::Gate;
use apiwright_workflow::template::Vars;
use pretty_assertions::assert_eq;

fn bookstore() -> Spec {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/bookstore.yaml");
    apiwright_spec::load_str("bookstore.yaml", &std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write(root: &Path, files: Vec<apiwright_codegen::GeneratedFile>) {
    for file in files {
        let path = root.join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.contents).unwrap();
    }
}

/// The generated project with the first `implemented` items of the TDD plan implemented,
/// and `openapi.json` as the built-in system architect writes it.
fn generated_project(spec: &Spec, implemented: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), apiwright_codegen::try_scaffold(spec).unwrap());
    let mut done = Vec::new();
    for item in apiwright_codegen::items(spec).into_iter().take(implemented) {
        done.push(item.clone());
        write(
            dir.path(),
            apiwright_codegen::try_implementation_for(spec, &item, &done).unwrap(),
        );
    }
    let document = apiwright_builtin::openapi_document(spec);
    std::fs::write(
        dir.path().join("openapi.json"),
        serde_json::to_string_pretty(&document).unwrap(),
    )
    .unwrap();
    dir
}

/// The `openapi` gate of the built-in api-development workflow, as shipped.
fn shipped_gate() -> Gate {
    let workflow = apiwright_workflow::builtin::load("api-development")
        .unwrap()
        .unwrap();
    workflow
        .phases
        .iter()
        .flat_map(|phase| &phase.gates)
        .find(|gate| gate.openapi.is_some())
        .cloned()
        .expect("api-development has an openapi gate")
}

async fn check(workspace: &Path, gate: &Gate) -> GateReport {
    let store = Store::open_in_memory().unwrap();
    let vars = Vars::new();
    let context = GateContext {
        attached: None,
        workspace,
        store: &store,
        vars: &vars,
        default_timeout: Duration::from_secs(60),
        env: &[],
    };
    apiwright_gates::evaluate(gate, &context).await.unwrap()
}

#[tokio::test]
async fn the_generated_bookstore_serves_exactly_its_openapi_document() {
    let spec = bookstore();
    let items = apiwright_codegen::items(&spec);
    let project = generated_project(&spec, items.len());
    let report = check(project.path(), &shipped_gate()).await;
    assert_eq!(
        report.outcome,
        GateOutcome::Passed,
        "{}\n{:#}",
        report.summary,
        report.evidence
    );
    // 7 auth operations, 5 per resource, /health and /metrics.
    let expected = 7 + 5 * spec.resources.len() + 2;
    assert_eq!(
        report.summary,
        format!("{expected} operations documented, {expected} served, all match")
    );
    assert_eq!(report.evidence["openapi"], "3.1.0");
    assert_eq!(report.evidence["document_problems"], serde_json::json!([]));
    assert_eq!(report.evidence["route_problems"], serde_json::json!([]));
    let routes = report.evidence["routes"].as_array().unwrap();
    assert!(
        routes
            .iter()
            .any(|route| route["path"] == "/api/v1/books/{id}"
                && route["method"] == "PATCH"
                && route["at"]
                    .as_str()
                    .unwrap()
                    .starts_with("src/resources/books.rs:")),
        "{routes:?}"
    );
}

#[tokio::test]
async fn a_generated_bookstore_missing_a_resource_fails_the_gate() {
    let spec = bookstore();
    let items = apiwright_codegen::items(&spec);
    // Everything but the last resource of the plan.
    let project = generated_project(&spec, items.len() - 1);
    let missing = items.last().unwrap();
    let report = check(project.path(), &shipped_gate()).await;
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report.summary.starts_with("5 unserved operations ("),
        "{}",
        report.summary
    );
    let unserved: Vec<&str> = report.evidence["unserved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|operation| operation["path"].as_str().unwrap())
        .collect();
    assert!(
        unserved
            .iter()
            .all(|path| path.starts_with(&format!("/api/v1/{missing}"))),
        "{unserved:?}"
    );
}
