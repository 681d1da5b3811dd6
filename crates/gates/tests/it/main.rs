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
use apiwright_workflow::Expect;
use apiwright_workflow::Gate;
use apiwright_workflow::MemoryCheck;
use apiwright_workflow::ScoreCheck;
use apiwright_workflow::TestsCheck;
use apiwright_workflow::TestsExpect;
use apiwright_workflow::template::Vars;

fn gate(id: &str) -> Gate {
    Gate {
        id: id.into(),
        criterion: String::new(),
        stage: None,
        command: None,
        tests: None,
        coverage: None,
        memory: None,
        score: None,
        approval: None,
        planned: None,
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
