//! Every gate kind, each with cases where it passes and where it fails, against a real
//! SQLite store and real child processes.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;
use std::time::Instant;

use apiwright_gates::GateContext;
use apiwright_gates::GateError;
use apiwright_gates::GateOutcome;
use apiwright_gates::GateReport;
use apiwright_gates::evaluate;
use apiwright_store::MemoryWrite;
use apiwright_store::Store;
use apiwright_store::Value;
use apiwright_workflow::ApprovalCheck;
use apiwright_workflow::CommandCheck;
use apiwright_workflow::ContentCheck;
use apiwright_workflow::Expect;
use apiwright_workflow::Gate;
use apiwright_workflow::MemoryCheck;
use apiwright_workflow::ScoreCheck;
use apiwright_workflow::TestsCheck;
use apiwright_workflow::TestsExpect;
use apiwright_workflow::template::Vars;

mod deploy;
mod evidence;

fn gate(id: &str) -> Gate {
    Gate {
        id: id.into(),
        ..Gate::default()
    }
}

fn command(run: &str, expect: Expect, timeout_secs: Option<u64>) -> Gate {
    Gate {
        command: Some(CommandCheck {
            run: run.into(),
            timeout_secs,
            expect,
        }),
        ..gate("cmd")
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    vars: Vars,
}

impl Fixture {
    fn new() -> Fixture {
        let mut vars = Vars::new();
        vars.insert("api_id".into(), "books".into());
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            store: Store::open_in_memory().unwrap(),
            vars,
        }
    }

    async fn check(&self, gate: &Gate) -> Result<GateReport, GateError> {
        let env = vec![("FROM_ENGINE".to_string(), "yes".to_string())];
        let context = GateContext {
            attached: None,
            workspace: self.dir.path(),
            store: &self.store,
            vars: &self.vars,
            default_timeout: Duration::from_secs(30),
            env: &env,
        };
        evaluate(gate, &context).await
    }

    fn put(&self, key: &str, value: Value) {
        self.store
            .memory_put(&MemoryWrite {
                key: key.into(),
                value,
                tags: BTreeMap::new(),
            })
            .unwrap();
    }
}

#[tokio::test]
async fn command_gate_passes_on_exit_zero_in_the_workspace_and_keeps_evidence() {
    let fixture = Fixture::new();
    std::fs::write(fixture.dir.path().join("marker"), "x").unwrap();
    let report = fixture
        .check(&command(
            "test -f marker && echo {api_id} $FROM_ENGINE",
            Expect::Success,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(report.outcome, GateOutcome::Passed);
    assert_eq!(
        report.evidence["command"],
        "test -f marker && echo books $FROM_ENGINE"
    );
    assert_eq!(report.evidence["exit_code"], 0);
    assert_eq!(report.evidence["output_tail"], "books yes");
}

#[tokio::test]
async fn command_gate_fails_on_a_non_zero_exit_with_the_output_tail() {
    let fixture = Fixture::new();
    let report = fixture
        .check(&command(
            "echo 'test result: FAILED. 3 passed; 1 failed' >&2; exit 101",
            Expect::Success,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(report.evidence["exit_code"], 101);
    assert_eq!(
        report.evidence["output_tail"],
        "test result: FAILED. 3 passed; 1 failed"
    );
    assert!(report.summary.contains("exited 101"), "{}", report.summary);
}

#[tokio::test]
async fn red_check_passes_only_when_the_tests_really_fail() {
    let fixture = Fixture::new();
    let failing_tests = fixture
        .check(&command("exit 1", Expect::Failure, None))
        .await
        .unwrap();
    assert_eq!(failing_tests.outcome, GateOutcome::Passed);
    let passing_tests = fixture
        .check(&command("exit 0", Expect::Failure, None))
        .await
        .unwrap();
    assert_eq!(
        passing_tests.outcome,
        GateOutcome::Failed,
        "a test passing before its implementation fails the red check"
    );
    let missing_runner = fixture
        .check(&command("no-such-test-runner", Expect::Failure, None))
        .await
        .unwrap();
    assert_eq!(
        missing_runner.outcome,
        GateOutcome::Failed,
        "a command that cannot run is not a failing test"
    );
}

#[tokio::test]
async fn command_gate_times_out_and_fails() {
    let fixture = Fixture::new();
    let clock = Instant::now();
    let report = fixture
        .check(&command("sleep 20", Expect::Success, Some(1)))
        .await
        .unwrap();
    assert!(clock.elapsed() < Duration::from_secs(10));
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(report.evidence["timed_out"], true);
    let report = fixture
        .check(&command("sleep 20", Expect::Failure, Some(1)))
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        GateOutcome::Failed,
        "a timeout never counts as the expected failure"
    );
}

#[tokio::test]
async fn memory_gate_requires_every_key_and_pattern() {
    let fixture = Fixture::new();
    fixture.put(
        "api-development/books/phase-1/product-manager/requirements",
        Value::Text("r".into()),
    );
    let both = Gate {
        memory: Some(MemoryCheck {
            keys: vec![
                "api-development/{api_id}/phase-1/product-manager/requirements".into(),
                "api-development/{api_id}/phase-1/*/openapi-spec".into(),
            ],
            content: Vec::new(),
        }),
        ..gate("deliverables")
    };
    let report = fixture.check(&both).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        "missing api-development/books/phase-1/*/openapi-spec"
    );
    fixture.put(
        "api-development/books/phase-1/system-architect/openapi-spec",
        Value::Text("o".into()),
    );
    let report = fixture.check(&both).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Passed);
    assert_eq!(
        report.evidence["keys"][1]["matched"][0],
        "api-development/books/phase-1/system-architect/openapi-spec"
    );
}

#[tokio::test]
async fn memory_content_gate_fails_on_missing_empty_or_textual_deliverables() {
    let fixture = Fixture::new();
    let content = |key: &str, fields: &[&str]| ContentCheck {
        key: key.into(),
        fields: fields.iter().map(|field| field.to_string()).collect(),
        equals: Default::default(),
    };
    let check = Gate {
        memory: Some(MemoryCheck {
            keys: Vec::new(),
            content: vec![
                content(
                    "develop-backend/{api_id}/phase-0/clarify/tech-stack",
                    &["language", "framework", "database"],
                ),
                content(
                    "develop-backend/{api_id}/phase-0/clarify/notes/*",
                    &["file"],
                ),
            ],
        }),
        ..gate("tech-stack-confirmed")
    };
    // Nothing stored yet: both checks fail, the pattern for want of any match.
    let report = fixture.check(&check).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        "missing develop-backend/books/phase-0/clarify/tech-stack; missing develop-backend/books/phase-0/clarify/notes/*"
    );

    let tech = "develop-backend/books/phase-0/clarify/tech-stack";
    fixture.put(
        tech,
        Value::Json(serde_json::json!({"language": "rust", "framework": "", "database": null})),
    );
    fixture.put(
        "develop-backend/books/phase-0/clarify/notes/a",
        Value::Json(serde_json::json!({"file": "docs/a.md"})),
    );
    fixture.put(
        "develop-backend/books/phase-0/clarify/notes/b",
        Value::Text("to be decided".into()),
    );
    let report = fixture.check(&check).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        format!(
            "{tech}: expected field `framework` to be non-empty, found an empty string; \
             {tech}: expected field `database` to be set, found null; \
             develop-backend/books/phase-0/clarify/notes/b: expected a JSON object with field `file`, found plain text"
        )
    );
    let checked = &report.evidence["content"][0]["checked"][0]["fields"];
    assert_eq!(checked[0]["ok"], true);
    assert_eq!(checked[0]["found"], "4 characters");
    assert_eq!(checked[1]["ok"], false);

    fixture.put(
        tech,
        Value::Json(
            serde_json::json!({"language": "rust", "framework": "axum", "database": "sqlite"}),
        ),
    );
    fixture.put(
        "develop-backend/books/phase-0/clarify/notes/b",
        Value::Json(serde_json::json!({"file": "docs/b.md"})),
    );
    let report = fixture.check(&check).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Passed, "{}", report.summary);
    assert_eq!(
        report.summary,
        "all 5 required fields present and non-empty"
    );
    assert_eq!(report.evidence["content"][1]["count"], 2);
}

#[tokio::test]
async fn score_gate_compares_a_field_with_its_bounds() {
    let fixture = Fixture::new();
    let key = "backend-iteration/x/phase4/backend-developer/iteration-1";
    let score = |min: Option<f64>, max: Option<f64>| Gate {
        score: Some(ScoreCheck {
            key: key.into(),
            field: Some("backend_implementation.backend_score".into()),
            min,
            max,
        }),
        ..gate("score")
    };
    let missing = fixture.check(&score(Some(95.0), None)).await.unwrap();
    assert_eq!(missing.outcome, GateOutcome::Failed);
    assert_eq!(missing.summary, format!("no value at `{key}`"));

    fixture.put(
        key,
        Value::Json(serde_json::json!({"backend_implementation": {"backend_score": 91}})),
    );
    let low = fixture.check(&score(Some(95.0), None)).await.unwrap();
    assert_eq!(low.outcome, GateOutcome::Failed);
    assert_eq!(low.summary, "expected a value ≥ 95, found 91");
    assert_eq!(low.evidence["value"], 91.0);

    fixture.put(
        key,
        Value::Json(serde_json::json!({"backend_implementation": {"backend_score": 96}})),
    );
    assert_eq!(
        fixture
            .check(&score(Some(95.0), None))
            .await
            .unwrap()
            .outcome,
        GateOutcome::Passed
    );
    assert_eq!(
        fixture
            .check(&score(None, Some(0.0)))
            .await
            .unwrap()
            .outcome,
        GateOutcome::Failed
    );

    fixture.put(
        key,
        Value::Json(serde_json::json!({"backend_implementation": {"backend_score": "high"}})),
    );
    let wrong_type = fixture.check(&score(Some(95.0), None)).await.unwrap();
    assert_eq!(wrong_type.outcome, GateOutcome::Failed);
    assert_eq!(
        wrong_type.summary,
        "expected a number, found string \"high\""
    );
}

#[tokio::test]
async fn approval_and_malformed_gates_are_not_evaluated_here() {
    let fixture = Fixture::new();
    let approval = Gate {
        approval: Some(ApprovalCheck {
            prompt: "ok?".into(),
        }),
        ..gate("ship")
    };
    assert!(
        matches!(fixture.check(&approval).await, Err(GateError::NeedsPerson(id)) if id == "ship")
    );
    let empty = gate("nothing");
    assert!(matches!(
        fixture.check(&empty).await,
        Err(GateError::Malformed(_))
    ));
}

/// A one-file crate whose test body is `body`, checked with a real `cargo test`.
fn tiny_crate(fixture: &Fixture, body: &str) {
    let root = fixture.dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        format!("pub fn answer() -> i32 {{ 42 }}\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn it() {{ {body} }}\n    #[test]\n    fn other() {{ assert_eq!(super::answer(), 42); }}\n}}\n"),
    )
    .unwrap();
}

fn tests_gate(expect: TestsExpect) -> Gate {
    Gate {
        tests: Some(TestsCheck {
            run: "cargo test --offline --quiet".into(),
            timeout_secs: Some(300),
            expect,
            min_tests: None,
        }),
        ..gate("tests")
    }
}

/// Evaluates a gate in the fixture's crate, with its own cargo target directory.
async fn check_in_crate(fixture: &Fixture, gate: &Gate) -> GateReport {
    let target = fixture.dir.path().join("target");
    let env = vec![("CARGO_TARGET_DIR".to_string(), target.display().to_string())];
    let context = GateContext {
        attached: None,
        workspace: fixture.dir.path(),
        store: &fixture.store,
        vars: &fixture.vars,
        default_timeout: Duration::from_secs(600),
        env: &env,
    };
    evaluate(gate, &context).await.unwrap()
}

async fn check_tests(fixture: &Fixture, expect: TestsExpect) -> GateReport {
    check_in_crate(fixture, &tests_gate(expect)).await
}

#[tokio::test]
async fn tests_gate_reads_real_cargo_test_counts() {
    let fixture = Fixture::new();
    tiny_crate(&fixture, "assert_eq!(super::answer(), 42);");
    let green = check_tests(&fixture, TestsExpect::Pass).await;
    assert_eq!(green.outcome, GateOutcome::Passed, "{}", green.summary);
    assert_eq!(green.evidence["passed"], 2);
    assert_eq!(green.evidence["failed"], 0);
    let red = check_tests(&fixture, TestsExpect::Fail).await;
    assert_eq!(
        red.outcome,
        GateOutcome::Failed,
        "passing tests fail the red check"
    );
    assert_eq!(
        red.summary,
        "expected failing tests before the implementation, found 2 passed, 0 failed, 0 ignored"
    );
}

#[tokio::test]
async fn a_failing_test_is_red_and_not_green() {
    let fixture = Fixture::new();
    tiny_crate(&fixture, "assert_eq!(super::answer(), 41);");
    let red = check_tests(&fixture, TestsExpect::Fail).await;
    assert_eq!(red.outcome, GateOutcome::Passed, "{}", red.summary);
    assert_eq!(red.evidence["failed"], 1);
    assert_eq!(red.evidence["passed"], 1);
    let green = check_tests(&fixture, TestsExpect::Pass).await;
    assert_eq!(green.outcome, GateOutcome::Failed);
}

#[tokio::test]
async fn a_build_error_is_never_a_red_test() {
    let fixture = Fixture::new();
    tiny_crate(&fixture, "let x: i32 = \"not a number\"; assert_eq!(x, 1);");
    let red = check_tests(&fixture, TestsExpect::Fail).await;
    assert_eq!(
        red.outcome,
        GateOutcome::Failed,
        "a suite that does not compile proves nothing"
    );
    assert_eq!(red.evidence["build_failed"], true);
    assert!(
        red.summary.starts_with("expected test results, found none"),
        "{}",
        red.summary
    );
}

#[tokio::test]
async fn a_planned_gate_is_never_passed() {
    let fixture = Fixture::new();
    let planned = Gate {
        planned: Some(apiwright_workflow::PlannedCheck {
            kind: "load".into(),
            description: "1000 req/s at p95 < 200 ms".into(),
        }),
        ..gate("load")
    };
    let report = fixture.check(&planned).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::NotRun);
    assert_eq!(
        report.summary,
        "not run: load checks are not part of this version of apiwright"
    );
}

fn coverage_gate(min_lines: &str) -> Gate {
    Gate {
        coverage: Some(apiwright_workflow::CoverageCheck {
            min_lines: min_lines.into(),
            exclude: vec![],
            timeout_secs: Some(600),
        }),
        ..gate("coverage")
    }
}

#[tokio::test]
async fn coverage_gate_measures_lines_with_llvm_and_fails_below_the_minimum() {
    let fixture = Fixture::new();
    // `answer` is tested; `unused` is never called: 2 of its lines stay uncovered.
    tiny_crate(&fixture, "assert_eq!(super::answer(), 42);");
    let lib = fixture.dir.path().join("src/lib.rs");
    let mut source = std::fs::read_to_string(&lib).unwrap();
    source.push_str("pub fn unused(x: i32) -> i32 {\n    x * 2\n}\n");
    std::fs::write(&lib, source).unwrap();
    let strict = check_in_crate(&fixture, &coverage_gate("100")).await;
    assert_eq!(strict.outcome, GateOutcome::Failed, "{}", strict.summary);
    assert!(
        strict.summary.contains("expected at least 100%"),
        "{}",
        strict.summary
    );
    let covered = strict.evidence["covered"].as_u64().unwrap();
    let lines = strict.evidence["lines"].as_u64().unwrap();
    assert!(covered < lines, "{}", strict.evidence);
    let lenient = check_in_crate(&fixture, &coverage_gate("{api_id}")).await;
    assert_eq!(
        lenient.outcome,
        GateOutcome::Failed,
        "a minimum that is not a number is refused"
    );
    assert_eq!(
        lenient.summary,
        "expected a percentage for min_lines, found `books`"
    );
    let passing = check_in_crate(&fixture, &coverage_gate("50")).await;
    assert_eq!(passing.outcome, GateOutcome::Passed, "{}", passing.summary);
}

// ---------------------------------------------------------------------------------------
// openapi

/// A small axum service: sources under `src/` of the fixture's workspace.
const BOOKS_ROUTES: &str = r#"use axum::Router;
use axum::routing::{get, post};

const RECORD: &str = "/books/{id}";

pub fn app() -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/books", get(list).post(create))
        .route(RECORD, get(read).put(replace).delete(remove))
        .nest("/api", Router::new().route("/authors/:author_id", get(author)))
}
"#;

/// The OpenAPI document of [`BOOKS_ROUTES`], with different parameter names.
fn books_document() -> serde_json::Value {
    let ok = serde_json::json!({"200": {"description": "OK"}});
    let id = serde_json::json!([{"name": "book_id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "Books", "version": "1.0.0"},
        "paths": {
            "/health": {"get": {"operationId": "health", "responses": ok}},
            "/books": {
                "get": {"operationId": "list", "responses": ok},
                "post": {"operationId": "create", "responses": {"201": {"$ref": "#/components/responses/Created"}}}
            },
            "/books/{book_id}": {
                "parameters": id,
                "get": {"operationId": "read", "responses": ok},
                "put": {"operationId": "replace", "responses": ok},
                "delete": {"operationId": "remove", "responses": {"204": {"description": "Deleted"}}}
            },
            "/api/authors/{id}": {
                "get": {
                    "operationId": "author",
                    "parameters": [{"name": "id", "in": "path", "required": true}],
                    "responses": ok
                }
            }
        },
        "components": {"responses": {"Created": {"description": "Created"}}}
    })
}

fn write(fixture: &Fixture, path: &str, contents: &str) {
    let path = fixture.dir.path().join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn write_document(fixture: &Fixture, document: &serde_json::Value) {
    write(
        fixture,
        "openapi.json",
        &serde_json::to_string_pretty(document).unwrap(),
    );
}

fn openapi_gate(routes: apiwright_workflow::RoutesSource, ignore: &[&str]) -> Gate {
    Gate {
        openapi: Some(apiwright_workflow::OpenApiCheck {
            document: "openapi.json".into(),
            routes,
            ignore: ignore.iter().map(|path| (*path).to_string()).collect(),
            timeout_secs: Some(30),
        }),
        ..gate("contract-matches-routes")
    }
}

fn axum_gate(ignore: &[&str]) -> Gate {
    openapi_gate(
        apiwright_workflow::RoutesSource {
            axum: Some("src".into()),
            command: None,
        },
        ignore,
    )
}

fn command_routes_gate(command: &str) -> Gate {
    openapi_gate(
        apiwright_workflow::RoutesSource {
            axum: None,
            command: Some(command.into()),
        },
        &[],
    )
}

/// The fixture service and its document, both as written above.
fn books_service() -> Fixture {
    let fixture = Fixture::new();
    write(&fixture, "src/routes.rs", BOOKS_ROUTES);
    write_document(&fixture, &books_document());
    fixture
}

#[tokio::test]
async fn openapi_gate_passes_when_the_document_and_the_axum_routes_match() {
    let fixture = books_service();
    let report = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Passed, "{}", report.evidence);
    assert_eq!(
        report.summary,
        "7 operations documented, 7 served, all match"
    );
    assert_eq!(report.evidence["openapi"], "3.1.0");
    assert_eq!(report.evidence["documented_operations"], 7);
    assert_eq!(report.evidence["served_routes"], 7);
    assert_eq!(report.evidence["matched"], 7);
    assert_eq!(report.evidence["routes_from"]["axum"], "src");
    let routes = report.evidence["routes"].as_array().unwrap();
    assert!(
        routes.contains(&serde_json::json!({"method": "GET", "path": "/api/authors/{author_id}", "at": "src/routes.rs:11"})),
        "{routes:?}"
    );
    assert!(routes.contains(
        &serde_json::json!({"method": "PUT", "path": "/books/{id}", "at": "src/routes.rs:10"})
    ));
}

#[tokio::test]
async fn openapi_gate_fails_on_an_undocumented_route_unless_ignored() {
    let fixture = books_service();
    write(
        &fixture,
        "src/admin.rs",
        "pub fn admin() -> Router {\n    Router::new()\n        .route(\"/admin/debug\", get(debug))\n}\n",
    );
    let report = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        "1 undocumented route (GET /admin/debug at src/admin.rs:3)"
    );
    assert_eq!(
        report.evidence["undocumented"],
        serde_json::json!([{"method": "GET", "path": "/admin/debug", "at": "src/admin.rs:3"}])
    );
    let ignored = fixture.check(&axum_gate(&["/admin/debug"])).await.unwrap();
    assert_eq!(ignored.outcome, GateOutcome::Passed, "{}", ignored.summary);
    assert_eq!(ignored.evidence["ignored"][0]["path"], "/admin/debug");
}

#[tokio::test]
async fn openapi_gate_fails_on_a_documented_operation_that_is_not_served() {
    let fixture = books_service();
    let mut document = books_document();
    document["paths"]["/books/{book_id}"]["patch"] =
        serde_json::json!({"operationId": "update", "responses": {"200": {"description": "OK"}}});
    document["paths"]["/reviews"] = serde_json::json!({"get": {"operationId": "reviews", "responses": {"200": {"description": "OK"}}}});
    write_document(&fixture, &document);
    let report = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        "2 unserved operations (PATCH /books/{book_id}; GET /reviews)"
    );
    assert_eq!(report.evidence["matched"], 7);
    assert_eq!(
        report.evidence["unserved"][0],
        serde_json::json!({"method": "PATCH", "path": "/books/{book_id}", "pointer": "/paths/~1books~1{book_id}/patch"})
    );
}

#[tokio::test]
async fn openapi_gate_fails_when_the_methods_differ() {
    let fixture = books_service();
    write(
        &fixture,
        "src/routes.rs",
        &BOOKS_ROUTES.replace("put(replace)", "patch(replace)"),
    );
    let report = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        "1 undocumented route (PATCH /books/{id} at src/routes.rs:10), 1 unserved operation (PUT /books/{book_id})"
    );
}

#[tokio::test]
async fn openapi_gate_fails_on_an_invalid_document() {
    let fixture = books_service();
    let mut document = books_document();
    document["openapi"] = serde_json::json!("3.0.3");
    document["paths"]["/books/{book_id}"]
        .as_object_mut()
        .unwrap()
        .remove("parameters");
    document["paths"]["/books"]["post"]["responses"]["201"]["$ref"] =
        serde_json::json!("#/components/responses/Missing");
    document["paths"]["/health"]["get"]["operationId"] = serde_json::json!("list");
    write_document(&fixture, &document);
    let report = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    let problems: Vec<&str> = report.evidence["document_problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| problem.as_str().unwrap())
        .collect();
    let undeclared = |method: &str| {
        format!(
            "/paths/~1books~1{{book_id}}/{method}: path parameter `book_id` is not declared (expected an `in: path` parameter named `book_id` on the path item or the operation, found none)"
        )
    };
    assert_eq!(
        problems,
        [
            "/openapi: expected OpenAPI version `3.1.x`, found `3.0.3`".to_string(),
            undeclared("delete"),
            undeclared("get"),
            undeclared("put"),
            "/paths/~1health/get/operationId: expected a unique operationId, found `list`, already used at /paths/~1books/get".to_string(),
            "/paths/~1books/post/responses/201/$ref: expected `#/components/responses/Missing` to resolve, found no `Missing` in /components/responses".to_string(),
        ]
    );
    assert!(
        report.summary.starts_with(
            "6 document problems (/openapi: expected OpenAPI version `3.1.x`, found `3.0.3`; "
        ),
        "{}",
        report.summary
    );
    assert_eq!(report.evidence["openapi"], "3.0.3");

    write(&fixture, "openapi.json", "{\"openapi\": \"3.1.0\",");
    let unparsable = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(unparsable.outcome, GateOutcome::Failed);
    assert_eq!(
        unparsable.summary,
        "`openapi.json` is not valid JSON: EOF while parsing a value at line 1 column 20",
        "nothing is compared with a document that cannot be read"
    );
    std::fs::remove_file(fixture.dir.path().join("openapi.json")).unwrap();
    let missing = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(missing.outcome, GateOutcome::Failed);
    assert!(
        missing.summary.starts_with("cannot read `openapi.json`: ")
            && !missing.summary.contains(','),
        "{}",
        missing.summary
    );
}

#[tokio::test]
async fn openapi_gate_reads_yaml_documents_and_templated_paths() {
    let fixture = books_service();
    std::fs::remove_file(fixture.dir.path().join("openapi.json")).unwrap();
    let yaml = "openapi: 3.1.1\ninfo:\n  title: Health\n  version: '1'\npaths:\n  /health:\n    get:\n      responses:\n        200:\n          description: OK\n";
    write(&fixture, "docs/books.yaml", yaml);
    write(
        &fixture,
        "svc/main.rs",
        "fn app() -> Router { Router::new().route(\"/health\", get(h)) }\n",
    );
    let gate = Gate {
        openapi: Some(apiwright_workflow::OpenApiCheck {
            document: "docs/{api_id}.yaml".into(),
            routes: apiwright_workflow::RoutesSource {
                axum: Some("svc".into()),
                command: None,
            },
            ignore: vec![],
            timeout_secs: None,
        }),
        ..gate("yaml")
    };
    let report = fixture.check(&gate).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Passed, "{}", report.summary);
    assert_eq!(
        report.summary,
        "1 operation documented, 1 served, all match"
    );
    assert_eq!(report.evidence["document"], "docs/books.yaml");
}

#[tokio::test]
async fn openapi_gate_fails_on_a_route_path_it_cannot_read() {
    let fixture = books_service();
    write(
        &fixture,
        "src/dynamic.rs",
        "pub fn extra(base: &str) -> Router {\n    Router::new().route(&format!(\"{base}/export\"), get(export))\n}\n",
    );
    let report = fixture.check(&axum_gate(&[])).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        "1 route problem (cannot read route path at src/dynamic.rs:2: expected a string literal or a string constant, found `&format!(\"{base}/export\")`)"
    );
    assert_eq!(
        report.evidence["matched"], 7,
        "the readable routes still compare"
    );
}

#[tokio::test]
async fn openapi_gate_reads_routes_printed_by_a_command() {
    let fixture = books_service();
    write(
        &fixture,
        "routes.txt",
        "GET /health\nGET /books\nPOST /books\n\n# records\nGET /books/<id>\nPUT /books/:id\nDELETE /books/{pk}\nGET /api/authors/{a}\n",
    );
    let report = fixture
        .check(&command_routes_gate("echo noise >&2; cat routes.txt"))
        .await
        .unwrap();
    assert_eq!(report.outcome, GateOutcome::Passed, "{}", report.summary);
    assert_eq!(report.evidence["routes"][3]["at"], "line 6");
    assert_eq!(report.evidence["source"]["stderr_tail"], "noise");

    let failing = fixture
        .check(&command_routes_gate("cat routes.txt; exit 3"))
        .await
        .unwrap();
    assert_eq!(failing.outcome, GateOutcome::Failed);
    assert_eq!(
        failing.summary,
        "1 route problem (the routes command `cat routes.txt; exit 3` exited 3 (expected exit 0))"
    );
}

#[tokio::test]
async fn openapi_gate_fails_on_a_malformed_line_of_the_routes_command() {
    let fixture = books_service();
    write(
        &fixture,
        "routes.txt",
        "GET /health\nGET /books\nPOST /books\nGET /books/{id}\nPUT /books/{id}\nDELETE /books/{id}\nGET /api/authors/{id}\nRoutes: 7\n",
    );
    let report = fixture
        .check(&command_routes_gate("cat routes.txt"))
        .await
        .unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert_eq!(
        report.summary,
        "1 route problem (line 8 of the routes command's output: expected `METHOD /path` (e.g. `GET /books/{id}`), found `Routes: 7` (`Routes:` is not an HTTP method))"
    );
    assert_eq!(report.evidence["matched"], 7);
}

#[tokio::test]
async fn spec_gate_fails_on_a_missing_or_invalid_spec_and_passes_a_valid_one() {
    let fixture = Fixture::new();
    let key = "api-development/x/phase-1/product-manager/requirements";
    let spec_gate = Gate {
        spec: Some(apiwright_workflow::SpecCheck {
            key: key.into(),
            field: Some("spec".into()),
        }),
        ..gate("spec-valid")
    };
    let missing = fixture.check(&spec_gate).await.unwrap();
    assert_eq!(missing.outcome, GateOutcome::Failed);
    assert!(
        missing.summary.contains("found nothing stored"),
        "{}",
        missing.summary
    );

    // A field type the spec format does not know: the loader's diagnostic is the evidence.
    fixture.put(
        key,
        Value::Json(serde_json::json!({"spec": {
            "api": {"name": "notes", "version": "1.0.0"},
            "resources": [{"name": "note", "fields": [{"name": "body", "type": "strng"}]}]
        }})),
    );
    let invalid = fixture.check(&spec_gate).await.unwrap();
    assert_eq!(invalid.outcome, GateOutcome::Failed);
    assert_eq!(invalid.evidence["valid"], false);
    let diagnostics = invalid.evidence["diagnostics"].to_string();
    assert!(
        diagnostics.contains(&format!("{key}#spec:")),
        "{diagnostics}"
    );
    assert!(diagnostics.contains("strng"), "{diagnostics}");

    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/notes.yaml"),
    )
    .unwrap();
    let spec: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    fixture.put(key, Value::Json(serde_json::json!({ "spec": spec })));
    let valid = fixture.check(&spec_gate).await.unwrap();
    assert_eq!(valid.outcome, GateOutcome::Passed, "{}", valid.summary);
    assert_eq!(valid.evidence["api"], "notes");
}
