//! The runs API on a real server: workflows registered over HTTP and driven by the server's
//! workers with real child processes; approvals, cancel, resume, live events and a restart in
//! the middle of a run.

use std::time::Duration;
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::Value;
use serde_json::json;

use crate::TestServer;
use crate::problem;

/// A workflow whose steps sleep `pause` seconds, write a note, and wait for an approval
/// between its two phases; a command gate checks the workspace.
pub const DEMO: &str = r#"
name: server-demo
description: Writes a note, waits for approval, then checks it.
parameters:
  pause: {default: "0", description: seconds each step sleeps}
memory_pattern: "demo/{agent}/{deliverable}"
agents:
  - id: writer
    description: Writes a note.
    command: 'cat >/dev/null; sleep "$APIWRIGHT_TASK"; echo "$APIWRIGHT_STEP" >> steps.log; echo "\"hello\""'
phases:
  - id: write
    title: Write
    steps:
      - {id: write, agent: writer, task: "{pause}", writes: [note]}
    gates:
      - {id: logged, criterion: The step left its mark, command: {run: "grep -q write steps.log"}}
      - {id: ship-it, criterion: A person approves, approval: {prompt: "Ship the note?"}}
  - id: check
    title: Check
    steps:
      - {id: check, agent: writer, task: "{pause}", writes: [check]}
"#;

pub async fn register(server: &TestServer, token: &str, yaml: &str) {
    let response = server
        .client
        .post(server.url("/api/v1/workflows"))
        .bearer_auth(token)
        .json(&json!({ "yaml": yaml }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        "/api/v1/workflows/server-demo"
    );
}

async fn start(server: &TestServer, token: &str, body: Value) -> Value {
    let response = server
        .client
        .post(server.url("/api/v1/runs"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let run: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/runs/{}", run["id"].as_str().unwrap())
    );
    run
}

async fn get_run(server: &TestServer, token: &str, id: &str) -> Value {
    let response = server
        .client
        .get(server.url(&format!("/api/v1/runs/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Polls the run until `done` holds (at most 60 s).
async fn wait_for(
    server: &TestServer,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = get_run(server, token, id).await;
        if done(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "run never got there: {run:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Follows the run's events until its first step has started.
async fn wait_for_step_start(server: &TestServer, token: &str, id: &str) {
    let response = server
        .client
        .get(server.url(&format!("/api/v1/runs/{id}/events")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let events = read_events(response, |event| event == "step_started").await;
    assert_eq!(
        events.last().map(|(_, kind, _)| kind.as_str()),
        Some("step_started")
    );
}

fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |run| run["status"] == status
}

/// Reads server-sent events until `stop` holds for one (or the stream ends); returns (id,
/// event, data) triples.
async fn read_events(
    response: reqwest::Response,
    stop: impl Fn(&str) -> bool,
) -> Vec<(i64, String, Value)> {
    use futures_util::StreamExt as _;
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events arrive in time");
        let Some(chunk) = chunk else {
            return events;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (0, String::new(), String::new());
            for line in message.lines() {
                if let Some(value) = line
                    .strip_prefix("id: ")
                    .or_else(|| line.strip_prefix("id:"))
                {
                    id = value.trim().parse().unwrap_or(0);
                } else if let Some(value) = line
                    .strip_prefix("event: ")
                    .or_else(|| line.strip_prefix("event:"))
                {
                    event = value.trim().to_owned();
                } else if let Some(value) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    data.push_str(value);
                }
            }
            if event.is_empty() {
                continue; // a keep-alive comment
            }
            let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
            let finished = stop(&event);
            events.push((id, event, data));
            if finished {
                return events;
            }
        }
    }
}

#[tokio::test]
async fn a_run_started_over_http_is_watched_live_approved_and_completes() {
    let server = TestServer::start().await;
    let token = server.admin_tokens().await.access;
    register(&server, &token, DEMO).await;
    let run = start(
        &server,
        &token,
        json!({"workflow": "server-demo", "params": {"pause": 0}}),
    )
    .await;
    let id = run["id"].as_str().unwrap().to_owned();
    assert!(
        ["queued", "running"].contains(&run["status"].as_str().unwrap()),
        "{run}"
    );
    assert_eq!(run["started_by"], "admin@example.com");

    // Live events with the token in the query, as a browser's EventSource sends it.
    let events = server
        .client
        .get(server.url(&format!("/api/v1/runs/{id}/events?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let first = read_events(events, |event| event == "approval_requested").await;
    let kinds: Vec<&str> = first.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"run_started"), "{kinds:?}");
    assert!(
        kinds.contains(&"step_finished") && kinds.contains(&"gate_evaluated"),
        "{kinds:?}"
    );
    let seqs: Vec<i64> = first.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(
        seqs,
        (1..=i64::try_from(seqs.len()).unwrap()).collect::<Vec<_>>()
    );
    let (last_seq, _, last) = first.last().unwrap();
    assert_eq!(last["seq"], *last_seq);
    assert_eq!(last["payload"]["gate"], "ship-it");

    let waiting = wait_for(&server, &token, &id, status_is("waiting_approval")).await;
    assert_eq!(
        waiting["waiting"],
        json!({"kind": "approval", "id": "ship-it", "prompt": "Ship the note?"})
    );
    let approvals: Value = server
        .client
        .get(server.url("/api/v1/approvals"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        approvals["items"],
        json!([{"run_id": id, "workflow": "server-demo", "kind": "approval", "id": "ship-it", "prompt": "Ship the note?"}])
    );

    // Resuming the stream after the last event seen gives only what follows.
    let resumed = server
        .client
        .get(server.url(&format!("/api/v1/runs/{id}/events")))
        .bearer_auth(&token)
        .header("Last-Event-ID", last_seq.to_string())
        .send()
        .await
        .unwrap();
    let decision = server
        .client
        .post(server.url(&format!("/api/v1/runs/{id}/approvals/ship-it")))
        .bearer_auth(&token)
        .json(&json!({"decision": "approve", "reason": "looks right"}))
        .send()
        .await
        .unwrap();
    assert_eq!(decision.status(), StatusCode::OK);
    let rest = read_events(resumed, |event| event == "end").await;
    assert_eq!(rest.first().map(|(seq, _, _)| *seq), Some(last_seq + 1));
    let kinds: Vec<&str> = rest.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"approval_decided"), "{kinds:?}");
    assert!(kinds.ends_with(&["run_completed", "end"]), "{kinds:?}");
    assert_eq!(rest[0].2["payload"]["by"], "admin@example.com");

    let done = wait_for(&server, &token, &id, status_is("completed")).await;
    assert_eq!(done["waiting"], Value::Null);
    let phases: Vec<&str> = done["report"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|phase| phase["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["write", "check"]);

    // ETag: the same representation is not sent twice.
    let first = server
        .client
        .get(server.url(&format!("/api/v1/runs/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = server
        .client
        .get(server.url(&format!("/api/v1/runs/{id}")))
        .bearer_auth(&token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    let stale = server
        .client
        .get(server.url(&format!("/api/v1/runs/{id}")))
        .bearer_auth(&token)
        .header("If-None-Match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);

    // The run's workspace holds what its steps did.
    let log = std::fs::read_to_string(
        server
            .db_path
            .parent()
            .unwrap()
            .join("workspaces")
            .join(&id)
            .join("steps.log"),
    )
    .unwrap();
    assert_eq!(log, "write\ncheck\n");
}

#[tokio::test]
async fn runs_are_listed_with_filters_order_and_cursor_pages() {
    let server = TestServer::start().await;
    let token = server.admin_tokens().await.access;
    register(&server, &token, DEMO).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        // Through the seed's execute route, approvals automatic.
        let response = server
            .client
            .put(server.url("/api/v1/workflows/server-demo/execute"))
            .bearer_auth(&token)
            .json(&json!({"auto_approve": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let run: Value = response.json().await.unwrap();
        ids.push(run["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        wait_for(&server, &token, id, status_is("completed")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.url("/api/v1/runs?limit=2&sort=created_at&status=completed");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = server
            .client
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["status"], "completed");
            assert_eq!(item["workflow"], "server-demo");
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected, "oldest first, each once");
    let none: Value = server
        .client
        .get(server.url("/api/v1/runs?status=failed"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"], json!([]));
    for (query, field) in [
        ("status=done", "status:"),
        ("sort=name", "sort:"),
        ("limit=0", "limit:"),
        ("cursor=zz", "cursor:"),
    ] {
        let response = server
            .client
            .get(server.url(&format!("/api/v1/runs?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(
            body["detail"].as_str().unwrap().starts_with(field),
            "{body}"
        );
    }
}

#[tokio::test]
async fn bad_requests_are_refused_before_a_run_exists() {
    let server = TestServer::start().await;
    let token = server.admin_tokens().await.access;
    register(&server, &token, DEMO).await;
    let post = |body: Value| {
        server
            .client
            .post(server.url("/api/v1/runs"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let body = problem(
        post(json!({"workflow": "nope"})).await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no workflow named `nope`"),
        "{body}"
    );
    let body = problem(
        post(json!({"workflow": "server-demo", "params": {"colour": "red"}}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    let body = problem(
        post(json!({"workflow": "server-demo", "params": {"pause": [1]}}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("params.pause:"),
        "{body}"
    );
    let body = problem(
        post(json!({"workflow": "server-demo", "agents": "openai"}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("provider `openai`"),
        "{body}"
    );
    let listed: Value = server
        .client
        .get(server.url("/api/v1/runs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]), "nothing was created");

    // Workflows: validation lists every problem with its position; registration refuses
    // invalid definitions, taken names and built-in names.
    let report: Value = server
        .client
        .post(server.url("/api/v1/workflows/validate"))
        .bearer_auth(&token)
        .json(&json!({"yaml": "name: x\ndescription: d\nphases: []\n"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], false);
    assert!(
        report["errors"][0]["line"].as_u64().unwrap() >= 1,
        "{report}"
    );
    let again = server
        .client
        .post(server.url("/api/v1/workflows"))
        .bearer_auth(&token)
        .json(&json!({"yaml": DEMO}))
        .send()
        .await
        .unwrap();
    problem(again, StatusCode::CONFLICT).await;
    let builtin = apiwright_workflow::builtin::source("api-development").unwrap();
    let shadow = server
        .client
        .post(server.url("/api/v1/workflows"))
        .bearer_auth(&token)
        .json(&json!({"yaml": builtin}))
        .send()
        .await
        .unwrap();
    problem(shadow, StatusCode::CONFLICT).await;
    let got: Value = server
        .client
        .get(server.url("/api/v1/workflows/server-demo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["builtin"], false);
    assert_eq!(got["registered_by"], "admin@example.com");
    assert_eq!(got["definition"]["phases"][1]["id"], "check");
    let missing = server
        .client
        .get(server.url("/api/v1/workflows/nope"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    problem(missing, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_running_run_is_cancelled_and_a_rejection_needs_a_reason() {
    let server = TestServer::start().await;
    let token = server.admin_tokens().await.access;
    register(&server, &token, DEMO).await;
    let run = start(
        &server,
        &token,
        json!({"workflow": "server-demo", "params": {"pause": 30}}),
    )
    .await;
    let id = run["id"].as_str().unwrap().to_owned();
    wait_for_step_start(&server, &token, &id).await;
    let started = Instant::now();
    let response = server
        .client
        .post(server.url(&format!("/api/v1/runs/{id}/cancel")))
        .bearer_auth(&token)
        .json(&json!({"reason": "wrong parameters"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let cancelled = wait_for(&server, &token, &id, status_is("cancelled")).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 30 s step was stopped"
    );
    assert_eq!(
        cancelled["reason"],
        "cancelled by admin@example.com: wrong parameters"
    );
    assert_eq!(cancelled["cancelled_by"], "admin@example.com");
    let again = server
        .client
        .post(server.url(&format!("/api/v1/runs/{id}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    problem(again, StatusCode::CONFLICT).await;
    let resume = server
        .client
        .post(server.url(&format!("/api/v1/runs/{id}/resume")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    problem(resume, StatusCode::CONFLICT).await;

    // A paused run: rejecting needs a reason; with one, the run fails naming it.
    let run = start(&server, &token, json!({"workflow": "server-demo"})).await;
    let id = run["id"].as_str().unwrap().to_owned();
    wait_for(&server, &token, &id, status_is("waiting_approval")).await;
    let decide = |body: Value| {
        server
            .client
            .post(server.url(&format!("/api/v1/runs/{id}/approvals/ship-it")))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let body = problem(
        decide(json!({"decision": "reject"})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().starts_with("reason:"),
        "{body}"
    );
    let wrong_gate = server
        .client
        .post(server.url(&format!("/api/v1/runs/{id}/approvals/other-gate")))
        .bearer_auth(&token)
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    let body = problem(wrong_gate, StatusCode::CONFLICT).await;
    assert!(
        body["detail"].as_str().unwrap().contains("ship-it"),
        "{body}"
    );
    let rejected = decide(json!({"decision": "reject", "reason": "not today"}))
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::OK);
    let failed = wait_for(&server, &token, &id, status_is("failed")).await;
    assert!(
        failed["reason"].as_str().unwrap().contains("not today"),
        "{failed}"
    );
}

#[tokio::test]
async fn a_server_restarted_in_the_middle_of_a_run_resumes_it() {
    let server = TestServer::start().await;
    let token = server.admin_tokens().await.access;
    register(&server, &token, DEMO).await;
    let run = start(
        &server,
        &token,
        json!({"workflow": "server-demo", "params": {"pause": 2}, "auto_approve": true}),
    )
    .await;
    let id = run["id"].as_str().unwrap().to_owned();
    // Stop while the first step sleeps: the drive is interrupted and the step checkpointed
    // as started.
    wait_for_step_start(&server, &token, &id).await;
    let dir = server.stop_keeping_files().await;

    let server = TestServer::restart_in(dir).await;
    let token = server.admin_tokens().await.access;
    let done = wait_for(&server, &token, &id, status_is("completed")).await;
    assert_eq!(done["started_by"], "admin@example.com");
    let events: Vec<Value> = {
        let response = server
            .client
            .get(server.url(&format!("/api/v1/runs/{id}/events")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        read_events(response, |event| event == "end")
            .await
            .into_iter()
            .map(|(_, kind, data)| json!({"kind": kind, "step": data["payload"]["step"]}))
            .collect()
    };
    // The interrupted attempt of `write` was started twice and finished once.
    let write_starts = events
        .iter()
        .filter(|event| event["kind"] == "step_started" && event["step"] == "write")
        .count();
    let write_finishes = events
        .iter()
        .filter(|event| event["kind"] == "step_finished" && event["step"] == "write")
        .count();
    assert_eq!((write_starts, write_finishes), (2, 1), "{events:#?}");
}

#[tokio::test]
async fn a_queued_run_is_cancelled_at_once_and_a_full_queue_is_refused() {
    let server = TestServer::start_with(|config| {
        config.workers = 1;
        config.max_queued = 1;
    })
    .await;
    let token = server.admin_tokens().await.access;
    register(&server, &token, DEMO).await;
    let slow = json!({"workflow": "server-demo", "params": {"pause": 30}});
    let first = start(&server, &token, slow.clone()).await;
    let first = first["id"].as_str().unwrap().to_owned();
    wait_for_step_start(&server, &token, &first).await;
    // One worker, busy: the next run waits, and the one after finds the queue full.
    let second = start(&server, &token, slow.clone()).await;
    let second = second["id"].as_str().unwrap().to_owned();
    assert_eq!(get_run(&server, &token, &second).await["status"], "queued");
    let refused = server
        .client
        .post(server.url("/api/v1/runs"))
        .bearer_auth(&token)
        .json(&slow)
        .send()
        .await
        .unwrap();
    let body = problem(refused, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        body["detail"].as_str().unwrap().contains("queue is full"),
        "{body}"
    );

    let cancelled = server
        .client
        .post(server.url(&format!("/api/v1/runs/{second}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cancelled.status(),
        StatusCode::OK,
        "a queued run is cancelled at once"
    );
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["reason"],
        "cancelled by admin@example.com: no reason given"
    );
    assert_eq!(get_run(&server, &token, &first).await["status"], "running");
    let stopping = server
        .client
        .post(server.url(&format!("/api/v1/runs/{first}/cancel")))
        .bearer_auth(&token)
        .json(&json!({"reason": "enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stopping.status(), StatusCode::ACCEPTED);
    wait_for(&server, &token, &first, status_is("cancelled")).await;
}
