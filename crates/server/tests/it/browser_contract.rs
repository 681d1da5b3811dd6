//! The dashboard's views over the runs, approvals, event-stream, memory and analytics API
//! *contract*, with those routes faked at the browser's network boundary (CDP `Fetch`), while
//! sign-in and workflows go to the real server. The same scenario against the real runs API
//! is `browser_runs.rs`; this one pins what the page sends and how it renders the answers.

use std::sync::Arc;
use std::sync::Mutex;

use pretty_assertions::assert_eq;
use serde_json::Value;
use serde_json::json;

use crate::ADMIN_EMAIL;
use crate::ADMIN_PASSWORD;
use crate::browser::Dashboard;
use crate::cdp::Page;

const RUN_ID: &str = "run_01";
const GATE_ID: &str = "plan-approved";

/// One request the page sent to a faked route.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query, from `/api/v1/`.
    path: String,
    authorization: Option<String>,
    body: Option<Value>,
}

/// The faked routes: a run waiting for an approval until the page approves it.
#[derive(Default)]
struct FakeApi {
    approved: bool,
    seen: Vec<Seen>,
}

fn report(approved: bool) -> Value {
    let approval = if approved {
        json!({"round": "1", "gate": GATE_ID, "kind": "approval", "criterion": "a lead approves the plan",
               "status": "approved", "summary": "approved by admin", "evidence": {"by": ADMIN_EMAIL, "decision": "approve"}, "duration_ms": 0})
    } else {
        json!({"round": "1", "gate": GATE_ID, "kind": "approval", "criterion": "a lead approves the plan",
               "status": "waiting", "summary": "waiting for a decision", "evidence": {}, "duration_ms": 0})
    };
    json!({
        "run_id": RUN_ID, "workflow": "feature-delivery", "params": {"feature": "search"},
        "status": if approved { "completed" } else { "waiting_approval" },
        "started_at": 1_795_316_400_000_i64, "updated_at": 1_795_316_460_000_i64,
        "phases": [{
            "phase": "plan", "title": "Plan the feature", "mode": "sequential", "visit": 1,
            "status": if approved { "completed" } else { "running" },
            "started_at": 1_795_316_400_000_i64, "rounds": 1,
            "steps": [{"round": "1", "step": "write-plan", "agent": "planner", "status": "finished", "attempts": 1,
                       "duration_ms": 1250, "summary": "plan written", "deliverables": ["plan/doc"], "provider": "builtin",
                       "usage": {"input_tokens": 1200, "output_tokens": 340, "cost_usd": 0.0123}}],
            "gates": [
                {"round": "1", "gate": "plan-exists", "kind": "memory", "criterion": "the plan is stored",
                 "status": "passed", "summary": "1 key", "evidence": {"keys": ["plan/doc"], "count": 1}, "duration_ms": 3},
                approval,
            ],
        }],
        "escalations": [], "loops": [], "steps_finished": 1, "step_attempts": 1, "tdd": [],
        "usage": {"total": {"input_tokens": 1200, "output_tokens": 340, "cost_usd": 0.0123},
                  "by_role": {"planner": {"input_tokens": 1200, "output_tokens": 340, "cost_usd": 0.0123}}, "attempts": 1},
    })
}

fn run(approved: bool) -> Value {
    json!({
        "id": RUN_ID, "workflow": "feature-delivery",
        "status": if approved { "completed" } else { "waiting_approval" },
        "created_at": "2026-11-22T03:00:00Z", "updated_at": "2026-11-22T03:01:00Z",
        "events": if approved { 9 } else { 7 }, "started_by": "usr_admin",
        "waiting": if approved { Value::Null } else { json!({"kind": "approval", "id": GATE_ID, "prompt": "Approve the plan?"}) },
        "reason": null,
        "report": report(approved),
    })
}

fn sse(events: &[(u64, &str, Value)]) -> String {
    let mut text = String::from("retry: 600000\n\n");
    for (seq, kind, payload) in events {
        let data =
            json!({"seq": seq, "kind": kind, "at": "2026-11-22T03:01:00Z", "payload": payload});
        text.push_str(&format!("id: {seq}\nevent: {kind}\ndata: {data}\n\n"));
    }
    text
}

impl FakeApi {
    /// The answer to one request: status, headers, body.
    fn answer(&mut self, request: &Value) -> (u16, Vec<(&'static str, String)>, String) {
        let url = request["url"].as_str().unwrap();
        let path = url.split_once("/api/v1/").unwrap().1.to_owned();
        let method = request["method"].as_str().unwrap().to_owned();
        let header = |name: &str| {
            request["headers"].as_object().and_then(|headers| {
                headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .and_then(|(_, value)| value.as_str().map(str::to_owned))
            })
        };
        let body = request["postData"]
            .as_str()
            .map(|text| serde_json::from_str(text).unwrap());
        self.seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            authorization: header("authorization"),
            body,
        });
        let json_body = |status: u16, value: Value| {
            (
                status,
                vec![("content-type", "application/json".to_owned())],
                value.to_string(),
            )
        };
        let route = path.split('?').next().unwrap();
        match (method.as_str(), route) {
            ("GET", "runs") => {
                let mut summary = run(self.approved);
                for field in ["waiting", "reason", "report"] {
                    summary.as_object_mut().unwrap().remove(field);
                }
                // Two pages: this run, then an older one after the cursor.
                if path.contains("cursor=c2") {
                    summary["id"] = json!("run_00");
                    summary["status"] = json!("failed");
                    json_body(200, json!({"items": [summary], "next_cursor": null}))
                } else {
                    json_body(200, json!({"items": [summary], "next_cursor": "c2"}))
                }
            }
            ("POST", "runs") => {
                let (_, mut headers, body) = json_body(202, run(false));
                headers.push(("location", format!("/api/v1/runs/{RUN_ID}")));
                (202, headers, body)
            }
            ("GET", "approvals") => {
                let items = if self.approved {
                    json!([])
                } else {
                    json!([{"run_id": RUN_ID, "id": GATE_ID, "kind": "approval", "prompt": "Approve the plan?"}])
                };
                json_body(200, json!({"items": items}))
            }
            ("GET", route) if route == format!("runs/{RUN_ID}") => {
                let etag = format!("\"run-etag-{}\"", u8::from(self.approved));
                if header("if-none-match").as_deref() == Some(etag.as_str()) {
                    return (304, vec![("etag", etag)], String::new());
                }
                let (status, mut headers, body) = json_body(200, run(self.approved));
                headers.push(("etag", etag));
                (status, headers, body)
            }
            ("GET", route) if route == format!("runs/{RUN_ID}/events") => (
                200,
                vec![("content-type", "text/event-stream".to_owned())],
                sse(&[
                    (6, "gate_evaluated", json!({"gate": "plan-exists", "passed": true})),
                    (7, "approval_requested", json!({"gate": GATE_ID})),
                ]),
            ),
            ("POST", route) if route == format!("runs/{RUN_ID}/approvals/{GATE_ID}") => {
                self.approved = true;
                json_body(200, run(true))
            }
            ("GET", "memory") => json_body(
                200,
                json!({"items": [{"key": "plan/doc", "version": 2}, {"key": "spec/api", "version": 1}]}),
            ),
            ("GET", "memory/entries/plan/doc") => json_body(
                200,
                json!({"key": "plan/doc", "value": {"title": "Plan", "steps": ["index", "query"]}, "version": 2}),
            ),
            ("GET", "memory/history/plan/doc") => json_body(
                200,
                json!({"items": [
                    {"version": 1, "written_at": "2026-11-22T02:00:00Z", "by": "planner"},
                    {"version": 2, "written_at": "2026-11-22T03:00:00Z", "by": "planner"},
                ]}),
            ),
            ("GET", "analytics/dashboard") => json_body(
                200,
                json!({
                    "runs_total": 4,
                    "runs_by_status": {"completed": 3, "failed": 1},
                    "gate_pass_rates": {"plan-exists": 1.0, "tests-pass": 0.5},
                    "phase_durations": [{"phase": "plan", "p50_ms": 1200, "p95_ms": 3400}],
                    "tdd_adherence": {"verified": 3, "items": 4, "rate": 0.75},
                    "usage": {"input_tokens": 12000, "output_tokens": 3400, "cost_usd": 0.42},
                }),
            ),
            _ => (
                404,
                vec![("content-type", "application/problem+json".to_owned())],
                json!({"type": "about:blank", "title": "Not Found", "status": 404, "detail": format!("no fake for {method} {path}")})
                    .to_string(),
            ),
        }
    }
}

/// Answers the faked routes of `page` until the browser goes away.
async fn fake_api(page: &Page) -> Arc<Mutex<FakeApi>> {
    let fake = Arc::new(Mutex::new(FakeApi::default()));
    let mut paused = page
        .intercept(&[
            "*/api/v1/runs*",
            "*/api/v1/approvals*",
            "*/api/v1/memory*",
            "*/api/v1/analytics/*",
        ])
        .await;
    let (responder_page, responder_fake) = (page.clone(), Arc::clone(&fake));
    tokio::spawn(async move {
        while let Some(paused) = paused.recv().await {
            let (status, headers, body) = responder_fake.lock().unwrap().answer(&paused["request"]);
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            responder_page
                .fulfill(
                    paused["requestId"].as_str().unwrap(),
                    status,
                    &headers,
                    &body,
                )
                .await;
        }
    });
    fake
}

fn seen(fake: &Mutex<FakeApi>, method: &str, path_prefix: &str) -> Vec<Seen> {
    fake.lock()
        .unwrap()
        .seen
        .iter()
        .filter(|seen| seen.method == method && seen.path.starts_with(path_prefix))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_memory_and_analytics_views_follow_the_api_contract() {
    let dashboard = Dashboard::open().await;
    let page = &dashboard.page;
    let fake = fake_api(page).await;
    dashboard.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    dashboard.wait_for_view("runs").await;
    let access = page
        .eval("JSON.parse(sessionStorage.getItem('apiwright.tokens')).access")
        .await;
    let bearer = format!("Bearer {}", access.as_str().unwrap());

    // The runs list and the pending approvals.
    page.wait_for(&format!(
        "document.querySelector('[data-testid=run-row][data-run-id={}] [data-testid=run-row-status]')",
        json!(RUN_ID)
    ))
    .await;
    page.wait_for(&Page::visible("approval-item")).await;
    assert_eq!(
        seen(&fake, "GET", "runs?")[0].path,
        "runs?sort=-created_at&limit=25"
    );
    page.click("runs-load-more").await;
    page.wait_for("document.querySelector('[data-testid=run-row][data-run-id=run_00]')")
        .await;
    assert_eq!(
        page.eval("[document.querySelectorAll('[data-testid=run-row]').length, document.querySelector('[data-testid=runs-load-more]').hidden]")
            .await,
        json!([2, true])
    );
    assert!(
        seen(&fake, "GET", "runs?")
            .iter()
            .any(|seen| seen.path == "runs?sort=-created_at&limit=25&cursor=c2"),
        "{:?}",
        seen(&fake, "GET", "runs?")
    );
    page.choose("runs-status-filter", "waiting_approval").await;
    page.wait_for(
        "document.querySelectorAll('[data-testid=run-row]').length === 1 \
         && !document.querySelector('[data-testid=runs-load-more]').hidden",
    )
    .await;
    page.screenshot("08-runs-list").await;
    assert!(
        seen(&fake, "GET", "runs?")
            .iter()
            .any(|seen| seen.path == "runs?status=waiting_approval&sort=-created_at&limit=25"),
        "{:?}",
        seen(&fake, "GET", "runs?")
    );

    // Starting a run sends exactly the contract's body, then shows the run.
    page.click("nav-start").await;
    dashboard.wait_for_view("start").await;
    page.wait_for("document.querySelectorAll('[data-testid=workflow-option]').length > 0")
        .await;
    page.fill(
        "start-params",
        "feature=search\n\n# a comment\nowner = team-a",
    )
    .await;
    page.fill("start-inputs", "brief=Add a search endpoint")
        .await;
    page.choose("start-builtin-agents", "true").await;
    page.choose("start-auto-approve", "true").await;
    page.click("start-submit").await;
    dashboard.wait_for_view("run").await;
    let started = seen(&fake, "POST", "runs");
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].body,
        Some(json!({
            "workflow": apiwright_workflow::builtin::NAMES[0],
            "params": {"feature": "search", "owner": "team-a"},
            "inputs": {"brief": "Add a search endpoint"},
            "auto_approve": true,
            "agents": "builtin",
        }))
    );

    // The run: phases, steps, gates, waiting for the approval, events from the stream.
    page.wait_for(
        "document.querySelector('[data-testid=run-status]').dataset.status === 'waiting_approval'",
    )
    .await;
    assert_eq!(page.text("run-waiting-id").await, GATE_ID);
    assert_eq!(page.text("run-waiting-prompt").await, "Approve the plan?");
    page.wait_for("document.querySelector('[data-testid=run-events-count]').textContent === '2'")
        .await;
    let kinds = page
        .eval("[...document.querySelectorAll('[data-testid=run-event]')].map((node) => node.dataset.kind)")
        .await;
    assert_eq!(kinds, json!(["gate_evaluated", "approval_requested"]));
    let rows = page
        .eval(
            "[...document.querySelectorAll('[data-testid=gate-row]')].map((row) => \
               [row.dataset.gate, row.querySelector('[data-testid=gate-status]').textContent])",
        )
        .await;
    assert_eq!(
        rows,
        json!([["plan-exists", "passed"], [GATE_ID, "waiting"]])
    );
    assert_eq!(
        page.eval("document.querySelectorAll('[data-testid=step-row]').length")
            .await,
        json!(1)
    );
    page.wait_for(&Page::visible("gate-evidence")).await;
    page.eval("document.querySelector('[data-testid=gate-evidence] summary').click(), true")
        .await;
    let evidence = page.text("gate-evidence-json").await;
    assert_eq!(
        evidence,
        "{\n  \"count\": 1,\n  \"keys\": [\n    \"plan/doc\"\n  ]\n}"
    );
    let stream = seen(&fake, "GET", &format!("runs/{RUN_ID}/events"));
    assert_eq!(
        stream[0].path,
        format!(
            "runs/{RUN_ID}/events?access_token={}",
            access.as_str().unwrap()
        )
    );
    page.screenshot("09-run-waiting").await;

    // Rejecting needs a reason (nothing sent); approving answers the gate and the run ends.
    page.click("reject-button").await;
    let (title, _) = dashboard.error_shown().await;
    assert_eq!(title, "A reason is required");
    assert!(seen(&fake, "POST", &format!("runs/{RUN_ID}/approvals")).is_empty());
    page.click("approve-button").await;
    page.wait_for(
        "document.querySelector('[data-testid=run-status]').dataset.status === 'completed'",
    )
    .await;
    let decisions = seen(&fake, "POST", &format!("runs/{RUN_ID}/approvals/{GATE_ID}"));
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].body, Some(json!({"decision": "approve"})));
    assert_eq!(
        page.eval("document.querySelector('[data-testid=run-waiting]').hidden")
            .await,
        json!(true)
    );
    page.wait_for(&format!(
        "document.querySelector('[data-testid=gate-row][data-gate={}] [data-testid=gate-status]').textContent === 'approved'",
        json!(GATE_ID)
    ))
    .await;
    // The evidence the reader opened stays open across the update.
    assert_eq!(
        page.eval("document.querySelector('[data-testid=gate-evidence]').open")
            .await,
        json!(true)
    );
    page.screenshot("10-run-completed").await;

    // Memory: list, then a key's value and history.
    page.click("nav-memory").await;
    dashboard.wait_for_view("memory").await;
    page.fill("memory-pattern", "plan/*").await;
    page.click("memory-list").await;
    page.wait_for("document.querySelector('[data-testid=memory-key][data-key=\"plan/doc\"]')")
        .await;
    page.eval(
        "document.querySelector('[data-testid=memory-key][data-key=\"plan/doc\"]').click(), true",
    )
    .await;
    page.wait_for("document.querySelector('[data-testid=memory-value]').textContent.includes('\"title\": \"Plan\"')")
        .await;
    assert_eq!(
        page.eval(
            "document.querySelectorAll('[data-testid=memory-history-table] tbody tr').length"
        )
        .await,
        json!(2)
    );
    assert_eq!(
        seen(&fake, "GET", "memory?")[0].path,
        "memory?pattern=plan%2F*&limit=200"
    );
    page.screenshot("11-memory-entry").await;

    // Analytics: number maps of one scale as bar charts (runs by status, gate pass rates), lists
    // of objects as tables, the rest (TDD adherence, usage: counts mixed with rates) as numbers.
    page.click("nav-analytics").await;
    dashboard.wait_for_view("analytics").await;
    page.wait_for(
        "document.querySelectorAll('[data-testid=analytics] svg[data-testid=chart]').length === 2",
    )
    .await;
    let bars = page
        .eval("[...document.querySelectorAll('[data-testid=analytics-runs_by_status] rect')].map((bar) => [bar.dataset.label, Number(bar.getAttribute('width'))])")
        .await;
    assert_eq!(bars, json!([["completed", 420], ["failed", 140]]));
    assert_eq!(
        page.eval("document.querySelectorAll('[data-testid=analytics-phase_durations] [data-testid=analytics-table] tbody tr').length")
            .await,
        json!(1)
    );
    let adherence = page
        .eval("[...document.querySelectorAll('[data-testid=analytics-tdd_adherence] [data-testid=analytics-stat]')].map((node) => node.textContent)")
        .await;
    assert_eq!(adherence, json!(["4Items", "0.750Rate", "3Verified"]));
    page.screenshot("12-analytics").await;

    // Every faked call carried the access token as a bearer header, except the event stream
    // (`EventSource` cannot send one: the token is in its query).
    for call in fake.lock().unwrap().seen.iter() {
        if call.path.contains("/events?") {
            assert_eq!(call.authorization, None, "{call:?}");
        } else {
            assert_eq!(
                call.authorization.as_deref(),
                Some(bearer.as_str()),
                "{call:?}"
            );
        }
    }
    dashboard.assert_no_page_errors().await;
    dashboard.close().await;
}
