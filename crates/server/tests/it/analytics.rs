//! The dashboard over runs written straight into the store: events committed through
//! `Store::commit` (checked against the engine's `Event` type), with their times set
//! afterwards so durations are exact.

use apiwright_engine::Event;
use apiwright_store::Commit;
use apiwright_store::NewEvent;
use apiwright_store::NewRun;
use apiwright_store::RunStatus;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::Value;
use serde_json::json;

use crate::TestServer;
use crate::problem;

const SHOP: &str = r#"
name: shop
description: analytics fixture
memory_pattern: "shop/{agent}/{deliverable}"
agents: [{id: dev, description: develops}, {id: tester, description: tests}]
phases:
  - id: build
    title: Build
    steps: [{id: code, agent: dev, task: code, writes: [code]}]
    gates:
      - {id: tests, command: {run: "true"}}
  - id: tdd
    title: TDD
    mode: {tdd: {items_from: shop/dev/code}}
    steps:
      - {id: write-tests, agent: tester, task: tests, stage: red}
      - {id: implement, agent: dev, task: impl, stage: green}
    gates:
      - {id: red-fails, stage: red, command: {run: "false", expect: failure}}
      - {id: green-passes, stage: green, command: {run: "true"}}
"#;

const OPS: &str = r#"
name: ops
description: analytics fixture
memory_pattern: "ops/{agent}/{deliverable}"
agents: [{id: tester, description: tests}]
phases:
  - id: build
    title: Build
    steps: [{id: check, agent: tester, task: check, writes: [report]}]
    gates:
      - {id: lint, command: {run: "true"}}
      - {id: review, approval: {prompt: "ship?"}}
"#;

/// 2023-11-14T22:13:20Z: runs A to C are created after it, run D long before.
const SINCE_MS: i64 = 1_700_000_000_000;

fn round(phase: &str, visit: u32, item: Option<usize>, stage: Option<&str>) -> Value {
    json!({"phase": phase, "visit": visit, "iteration": 1, "item": item, "stage": stage})
}

fn phase_started(phase: &str, visit: u32) -> Value {
    json!({"kind": "phase_started", "phase": phase, "visit": visit})
}

fn round_started(round: &Value) -> Value {
    json!({"kind": "round_started", "round": round})
}

fn step_started(round: &Value, step: &str) -> Value {
    json!({"kind": "step_started", "round": round, "step": step, "attempt": 1, "provider": "command"})
}

fn step_finished(round: &Value, step: &str, agent: &str, usage: (u64, u64, f64)) -> Value {
    json!({
        "kind": "step_finished", "round": round, "step": step, "agent": agent, "attempt": 1,
        "summary": "done", "deliverables": [], "duration_ms": 5,
        "usage": {"input_tokens": usage.0, "output_tokens": usage.1, "cost_usd": usage.2},
    })
}

fn step_failed(round: &Value, step: &str, usage: (u64, u64, f64)) -> Value {
    json!({
        "kind": "step_failed", "round": round, "step": step, "attempt": 1, "error": "broke",
        "retryable": false, "duration_ms": 5,
        "usage": {"input_tokens": usage.0, "output_tokens": usage.1, "cost_usd": usage.2},
    })
}

fn gate(round: &Value, gate: &str, outcome: &str) -> Value {
    json!({
        "kind": "gate_evaluated", "round": round, "gate": gate, "gate_kind": "command",
        "outcome": outcome, "summary": outcome, "evidence": {}, "duration_ms": 1,
    })
}

fn phase_completed(phase: &str, visit: u32) -> Value {
    json!({"kind": "phase_completed", "phase": phase, "visit": visit})
}

fn phase_failed(phase: &str, visit: u32) -> Value {
    json!({"kind": "phase_failed", "phase": phase, "visit": visit, "reason": "a gate failed"})
}

fn run_started(workflow: &str) -> Value {
    json!({"kind": "run_started", "workflow": workflow, "params": {}, "auto_approve": true, "inputs": []})
}

fn open_store(server: &TestServer) -> Store {
    Store::open(&server.db_path, &StoreOptions::default()).unwrap()
}

/// Sets the time of event `seq` of `run_id` (the store stamps events with the commit time).
fn set_event_time(server: &TestServer, run_id: &str, seq: i64, at: i64) {
    let conn = rusqlite::Connection::open(&server.db_path).unwrap();
    let changed = conn
        .execute(
            "UPDATE events SET at = ?3 WHERE run_id = ?1 AND seq = ?2",
            rusqlite::params![run_id, seq, at],
        )
        .unwrap();
    assert_eq!(changed, 1, "{run_id} #{seq}");
}

/// Sets when `run_id` was created (what `since` filters on).
fn set_created_at(server: &TestServer, run_id: &str, created_at: i64) {
    let conn = rusqlite::Connection::open(&server.db_path).unwrap();
    let changed = conn
        .execute(
            "UPDATE runs SET created_at = ?2 WHERE id = ?1",
            rusqlite::params![run_id, created_at],
        )
        .unwrap();
    assert_eq!(changed, 1, "{run_id}");
}

/// Appends `events` (`(at, payload)`, each checked to be an engine `Event`) to a run in one
/// commit, then gives each event its time.
fn append(server: &TestServer, run_id: &str, status: RunStatus, events: &[(i64, Value)]) {
    let store = open_store(server);
    let first_seq = store.run(run_id).unwrap().unwrap().last_seq + 1;
    let new_events = events
        .iter()
        .map(|(_, payload)| {
            let event: Event = serde_json::from_value(payload.clone())
                .unwrap_or_else(|err| panic!("{payload}: {err}"));
            NewEvent {
                kind: event.kind().to_owned(),
                payload: serde_json::to_value(&event).unwrap(),
            }
        })
        .collect();
    let commit = Commit {
        events: new_events,
        status: Some(status),
        ..Commit::default()
    };
    store.commit(run_id, &commit).unwrap();
    for (seq, (at, _)) in (first_seq..).zip(events) {
        set_event_time(server, run_id, seq, *at);
    }
}

/// Creates a run of `workflow_yaml` created at `created_at`.
fn create(server: &TestServer, run_id: &str, workflow: &str, workflow_yaml: &str, created_at: i64) {
    let run = NewRun {
        id: run_id.to_owned(),
        workflow_name: workflow.to_owned(),
        workflow_yaml: workflow_yaml.to_owned(),
        params: json!({}),
        workspace: "/nonexistent/workspace".to_owned(),
    };
    open_store(server).create_run(&run, &[]).unwrap();
    set_created_at(server, run_id, created_at);
}

/// Four runs: A (shop, completed, with a TDD phase), B (shop, failed, build failed once),
/// C (ops, running, an approval) and D (shop, completed, created long before `SINCE_MS`).
fn record_runs(server: &TestServer) {
    // A: build 0..1000 ms, TDD 1000..4000 ms; item 1 verified red then green, item 2's
    // tests did not fail first.
    create(server, "run-a", "shop", SHOP, SINCE_MS + 1);
    let build = round("build", 1, None, None);
    let mut events = vec![
        (0, run_started("shop")),
        (0, phase_started("build", 1)),
        (0, round_started(&build)),
        (0, step_started(&build, "code")),
        (400, step_finished(&build, "code", "dev", (100, 50, 0.01))),
        (900, gate(&build, "tests", "passed")),
        (1000, phase_completed("build", 1)),
        (1000, phase_started("tdd", 1)),
        (
            1000,
            json!({"kind": "items_resolved", "phase": "tdd", "items": ["GET /a", "POST /a"]}),
        ),
    ];
    for (item, red) in [(0, "passed"), (1, "failed")] {
        let red_round = round("tdd", 1, Some(item), Some("red"));
        let green_round = round("tdd", 1, Some(item), Some("green"));
        events.extend([
            (2000, round_started(&red_round)),
            (2000, gate(&red_round, "red-fails", red)),
            (3000, round_started(&green_round)),
            (3000, gate(&green_round, "green-passes", "passed")),
        ]);
    }
    events.extend([
        (4000, phase_completed("tdd", 1)),
        (4000, json!({"kind": "run_completed"})),
    ]);
    append(server, "run-a", RunStatus::Completed, &events);

    // B: build visit 1 fails (its failed attempt's tokens still count), visit 2 takes 2000 ms.
    create(server, "run-b", "shop", SHOP, SINCE_MS + 2);
    let first = round("build", 1, None, None);
    let second = round("build", 2, None, None);
    append(
        server,
        "run-b",
        RunStatus::Failed,
        &[
            (0, run_started("shop")),
            (0, phase_started("build", 1)),
            (0, round_started(&first)),
            (0, step_started(&first, "code")),
            (300, step_failed(&first, "code", (200, 100, 0.02))),
            (500, gate(&first, "tests", "failed")),
            (600, phase_failed("build", 1)),
            (
                600,
                json!({"kind": "looped_back", "from": "build", "to": "build", "count": 1,
                       "max": 2, "loop_kind": "retry"}),
            ),
            (1000, phase_started("build", 2)),
            (1000, round_started(&second)),
            (2500, gate(&second, "tests", "passed")),
            (3000, phase_completed("build", 2)),
            (3000, json!({"kind": "run_failed", "reason": "stopped"})),
        ],
    );

    // C: ops build visit 1 fails lint (review never asked), visit 2 passes lint, is approved
    // and takes 4000 ms; the run is still going.
    create(server, "run-c", "ops", OPS, SINCE_MS + 3);
    let first = round("build", 1, None, None);
    let second = round("build", 2, None, None);
    append(
        server,
        "run-c",
        RunStatus::Running,
        &[
            (0, run_started("ops")),
            (0, phase_started("build", 1)),
            (0, round_started(&first)),
            (0, step_started(&first, "check")),
            (
                100,
                step_finished(&first, "check", "tester", (1000, 0, 0.5)),
            ),
            (200, gate(&first, "lint", "failed")),
            (500, phase_failed("build", 1)),
            (1000, phase_started("build", 2)),
            (1000, round_started(&second)),
            (1500, gate(&second, "lint", "passed")),
            (
                1600,
                json!({"kind": "approval_requested", "round": second, "gate": "review",
                       "prompt": "ship?"}),
            ),
            (
                4900,
                json!({"kind": "approval_decided", "round": second, "gate": "review",
                       "approved": true, "by": "user:admin@example.com"}),
            ),
            (5000, phase_completed("build", 2)),
        ],
    );

    // D: long ago; build takes 10 s.
    create(server, "run-d", "shop", SHOP, 1_000);
    let build = round("build", 1, None, None);
    append(
        server,
        "run-d",
        RunStatus::Completed,
        &[
            (0, run_started("shop")),
            (0, phase_started("build", 1)),
            (0, round_started(&build)),
            (9000, gate(&build, "tests", "passed")),
            (10_000, phase_completed("build", 1)),
            (10_000, json!({"kind": "run_completed"})),
        ],
    );
}

async fn dashboard(server: &TestServer, token: &str, query: &str) -> Value {
    let response = server
        .client
        .get(server.url(&format!("/api/v1/analytics/dashboard{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body: Value = response.json().await.unwrap();
    assert!(body["generated_at"].as_i64().unwrap() > SINCE_MS);
    body["generated_at"] = json!(0);
    body
}

fn statuses(running: u64, completed: u64, failed: u64) -> Value {
    json!({"running": running, "waiting_approval": 0, "escalated": 0, "completed": completed,
           "failed": failed})
}

#[tokio::test]
async fn the_dashboard_counts_statuses_gates_durations_tdd_and_usage() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;
    let (_, viewer) = server.api_key(&admin, "viewer").await;

    let empty = dashboard(&server, &viewer, "").await;
    assert_eq!(
        empty,
        json!({
            "generated_at": 0,
            "filters": {"workflow": null, "since": null},
            "runs": {"total": 0, "by_status": statuses(0, 0, 0), "unreadable": 0,
                     "truncated": false},
            "gates": [],
            "phases": [],
            "tdd": {"overall": {"items": 0, "verified": 0, "rate": null}, "by_workflow": {}},
            "usage": {"total": {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0},
                      "by_role": {}, "by_workflow": {}},
        })
    );

    record_runs(&server);
    let tdd = json!({"items": 2, "verified": 1, "rate": 0.5});
    assert_eq!(
        dashboard(&server, &viewer, "").await,
        json!({
            "generated_at": 0,
            "filters": {"workflow": null, "since": null},
            "runs": {"total": 4, "by_status": statuses(1, 2, 1), "unreadable": 0,
                     "truncated": false},
            "gates": [
                {"gate": "green-passes", "kind": "command", "evaluated": 2, "passed": 2,
                 "failed": 0, "pass_rate": 1.0},
                {"gate": "lint", "kind": "command", "evaluated": 2, "passed": 1, "failed": 1,
                 "pass_rate": 0.5},
                {"gate": "red-fails", "kind": "command", "evaluated": 2, "passed": 1,
                 "failed": 1, "pass_rate": 0.5},
                // Not asked in C's first visit: only the approval counts.
                {"gate": "review", "kind": "approval", "evaluated": 1, "passed": 1,
                 "failed": 0, "pass_rate": 1.0},
                {"gate": "tests", "kind": "command", "evaluated": 4, "passed": 3, "failed": 1,
                 "pass_rate": 0.75},
            ],
            // Completed visits only: 1000 (A), 2000 (B's second), 4000 (C's second), 10000 (D).
            "phases": [
                {"phase": "build", "completed_visits": 4, "p50_ms": 2000, "p95_ms": 10_000},
                {"phase": "tdd", "completed_visits": 1, "p50_ms": 3000, "p95_ms": 3000},
            ],
            "tdd": {"overall": tdd, "by_workflow": {"shop": tdd}},
            "usage": {
                "total": {"input_tokens": 1300, "output_tokens": 150, "cost_usd": 0.53},
                "by_role": {
                    "dev": {"input_tokens": 300, "output_tokens": 150, "cost_usd": 0.03},
                    "tester": {"input_tokens": 1000, "output_tokens": 0, "cost_usd": 0.5},
                },
                "by_workflow": {
                    "ops": {"input_tokens": 1000, "output_tokens": 0, "cost_usd": 0.5},
                    "shop": {"input_tokens": 300, "output_tokens": 150, "cost_usd": 0.03},
                },
            },
        })
    );

    // Filters: shop runs since SINCE_MS are A and B (as RFC 3339 and as milliseconds).
    let dev = json!({"input_tokens": 300, "output_tokens": 150, "cost_usd": 0.03});
    let filtered = json!({
        "generated_at": 0,
        "filters": {"workflow": "shop", "since": SINCE_MS},
        "runs": {"total": 2, "by_status": statuses(0, 1, 1), "unreadable": 0,
                 "truncated": false},
        "gates": [
            {"gate": "green-passes", "kind": "command", "evaluated": 2, "passed": 2,
             "failed": 0, "pass_rate": 1.0},
            {"gate": "red-fails", "kind": "command", "evaluated": 2, "passed": 1, "failed": 1,
             "pass_rate": 0.5},
            {"gate": "tests", "kind": "command", "evaluated": 3, "passed": 2, "failed": 1,
             "pass_rate": 0.6667},
        ],
        "phases": [
            {"phase": "build", "completed_visits": 2, "p50_ms": 1000, "p95_ms": 2000},
            {"phase": "tdd", "completed_visits": 1, "p50_ms": 3000, "p95_ms": 3000},
        ],
        "tdd": {"overall": tdd, "by_workflow": {"shop": tdd}},
        "usage": {"total": dev, "by_role": {"dev": dev}, "by_workflow": {"shop": dev}},
    });
    assert_eq!(
        dashboard(
            &server,
            &viewer,
            "?workflow=shop&since=2023-11-14T22:13:20Z"
        )
        .await,
        filtered
    );
    assert_eq!(
        dashboard(
            &server,
            &viewer,
            &format!("?since={SINCE_MS}&workflow=shop")
        )
        .await,
        filtered
    );
    let ops = dashboard(&server, &viewer, "?workflow=ops").await;
    assert_eq!(ops["runs"]["by_status"], statuses(1, 0, 0));
    assert_eq!(
        ops["tdd"]["overall"],
        json!({"items": 0, "verified": 0, "rate": null})
    );
    server.stop().await;
}

#[tokio::test]
async fn reports_are_cached_until_a_run_moves_on_and_unreadable_runs_are_counted() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;
    record_runs(&server);
    let build = |body: &Value| body["phases"][0].clone();
    let before = dashboard(&server, &admin, "").await;
    assert_eq!(
        build(&before),
        json!({"phase": "build", "completed_visits": 4, "p50_ms": 2000, "p95_ms": 10_000})
    );

    // D's build now ends at 20 s, behind the cache's back (its last_seq is unchanged): the
    // cached report is served.
    set_event_time(&server, "run-d", 5, 20_000);
    assert_eq!(dashboard(&server, &admin, "").await, before);

    // A new event moves D's last_seq on: its report is rebuilt and sees the new time.
    append(
        &server,
        "run-d",
        RunStatus::Completed,
        &[(20_000, json!({"kind": "run_completed"}))],
    );
    assert_eq!(
        build(&dashboard(&server, &admin, "").await),
        json!({"phase": "build", "completed_visits": 4, "p50_ms": 2000, "p95_ms": 20_000})
    );

    // A run whose workflow snapshot does not load counts by status and as unreadable only.
    create(&server, "run-e", "broken", "name: [unclosed", SINCE_MS + 5);
    append(
        &server,
        "run-e",
        RunStatus::Running,
        &[(0, run_started("broken"))],
    );
    let broken = dashboard(&server, &admin, "?workflow=broken").await;
    assert_eq!(
        broken["runs"],
        json!({"total": 1, "by_status": statuses(1, 0, 0), "unreadable": 1, "truncated": false})
    );
    assert_eq!(broken["gates"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn percentiles_cover_more_runs_than_one_build_batch() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;
    // 130 runs (three batches of reports) whose builds take 10, 20, … 1300 ms.
    for n in 1..=130_i64 {
        let run_id = format!("run-{n:03}");
        create(&server, &run_id, "shop", SHOP, SINCE_MS + n);
        let build = round("build", 1, None, None);
        append(
            &server,
            &run_id,
            RunStatus::Completed,
            &[
                (0, phase_started("build", 1)),
                (0, round_started(&build)),
                (n * 10, phase_completed("build", 1)),
            ],
        );
    }
    let body = dashboard(&server, &admin, "").await;
    assert_eq!(body["runs"]["by_status"], statuses(0, 130, 0));
    // Nearest rank: the 65th and the 124th of 130.
    assert_eq!(
        body["phases"],
        json!([{"phase": "build", "completed_visits": 130, "p50_ms": 650, "p95_ms": 1240}])
    );
    // Never evaluated in any round: listed, with no rate.
    assert_eq!(
        body["gates"],
        json!([{"gate": "tests", "kind": "command", "evaluated": 0, "passed": 0, "failed": 0,
                "pass_rate": null}])
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_filters_are_422_naming_the_parameter() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;
    let cases = [
        ("?since=yesterday", "since: expected an RFC 3339 timestamp"),
        ("?since=2026-01-31", "since: expected an RFC 3339 timestamp"),
        (
            "?workflow=",
            "workflow: expected a workflow name, found an empty value",
        ),
        ("?status=failed", "unknown field `status`"),
    ];
    for (query, detail) in cases {
        let response = server
            .client
            .get(server.url(&format!("/api/v1/analytics/dashboard{query}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let found = body["detail"].as_str().unwrap();
        assert!(found.contains(detail), "{query}: {found}");
    }
    server.stop().await;
}
