//! The main job end to end: `apiwright run api-development --spec examples/bookstore.yaml`
//! from an empty output directory, then the generated service is started and a real HTTP
//! client registers, logs in, creates, lists, filters, updates and deletes records, and is
//! refused another user's record.
//!
//! It compiles the generated project, so it shares one cargo target directory with the code
//! generator's tests (`target/generated`) to build the dependencies once.

use std::net::TcpListener;
use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use serde_json::Value;
use serde_json::json;

use crate::support::Sandbox;
use crate::support::repo_root;
use crate::support::whole_workflow_lock;

fn shared_target() -> PathBuf {
    repo_root().join("target/generated")
}

/// Kills the service when the test ends, however it ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = match body {
            Some(body) => self.agent.run(
                request
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .unwrap(),
            ),
            None => self.agent.run(request.body(()).unwrap()),
        }
        .unwrap();
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn token(&self, path: &str, email: &str, password: &str, expected: u16) -> String {
        let (status, body) = self.call(
            "POST",
            path,
            None,
            Some(json!({"email": email, "password": password})),
        );
        assert_eq!(status, expected, "{path} {email}: {body}");
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_service(binary: &Path, dir: &Path) -> (Service, Client) {
    let port = free_port();
    let child = Command::new(binary)
        .current_dir(dir)
        .env("PORT", port.to_string())
        .env("DATABASE_PATH", dir.join("e2e.db"))
        .env("ADMIN_EMAIL", "admin@example.com")
        .env("ADMIN_PASSWORD", "admin-password-1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let service = Service(child);
    let client = Client {
        base: format!("http://127.0.0.1:{port}"),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .agent
            .get(format!("{}/health", client.base))
            .call()
            .map(|r| r.status().as_u16());
        if matches!(ready, Ok(200)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the generated service did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (service, client)
}

#[test]
fn the_main_job_builds_a_working_api_from_the_bookstore_spec() {
    let one_at_a_time = whole_workflow_lock();
    let sandbox = Sandbox::new();
    let spec = repo_root().join("examples/bookstore.yaml");
    let out = sandbox.path().join("out");
    let _stop = sandbox.stop_deployments_on_drop();
    // Seed 000 watches the canary steps for 5 and 10 minutes; seconds here.
    let output = sandbox
        .command(&[
            "run",
            "api-development",
            "--spec",
            spec.to_str().unwrap(),
            "--yes",
            "--out",
            out.to_str().unwrap(),
            "--param",
            "canary_watch_10_secs=3",
            "--param",
            "canary_watch_50_secs=3",
            "--param",
            "monitor_window_secs=5",
        ])
        .env("APIWRIGHT_TARGET_DIR", shared_target())
        .output()
        .unwrap();
    drop(one_at_a_time);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Contract, security and load evidence is measured in phase 4, the validator says GO,
    // the release passes staging, goes live behind the proxy with a measured zero-failure
    // shift, and monitoring raises no critical alert.
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = sandbox.report(&sandbox.last_run_id());
    let phases: Vec<(&str, &str)> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["phase"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        vec![
            ("planning", "completed"),
            ("foundation", "completed"),
            ("tdd-implementation", "completed"),
            ("testing-documentation", "completed"),
            ("release-decision", "completed"),
            ("deployment", "completed"),
            ("handoff", "completed"),
        ]
    );
    the_service_is_live_behind_the_proxy(&sandbox, &report);
    // TDD was verified, not claimed: every batch red before green.
    let tdd = report["tdd"].as_array().unwrap();
    let items: Vec<&str> = tdd
        .iter()
        .map(|row| row["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, vec!["auth", "authors", "books", "reviews"]);
    for row in tdd {
        assert_eq!(row["red"][0], row["red"][1], "{row}");
        assert_eq!(row["green"][0], row["green"][1], "{row}");
    }
    // Coverage is measured, not claimed: LLVM line coverage of the service, at least 90 %.
    let coverage = report["phases"][3]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|gate| gate["gate"] == "coverage")
        .cloned()
        .unwrap();
    assert_eq!(coverage["status"], "passed", "{coverage}");
    assert!(
        coverage["evidence"]["line_percent"].as_f64().unwrap() >= 90.0,
        "{coverage}"
    );
    assert!(
        coverage["evidence"]["lines"].as_u64().unwrap() > 500,
        "{coverage}"
    );
    evidence_gates_ran_against_the_service(&sandbox, &report);
    let written = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        written.contains("4 of 4 items were seen failing before their implementation"),
        "{written}"
    );
    assert!(written.contains("Decision **GO**"), "{written}");
    assert!(written.contains("- Intent: Bookstore API"), "{written}");
    assert!(written.contains("- Contract: 24 endpoints"), "{written}");
    assert!(written.contains("(ceiling: observation 0.95)"), "{written}");
    for file in [
        "openapi.json",
        "Dockerfile",
        "ci.sh",
        "k8s/deployment.yaml",
        "RUNBOOK.md",
        "docs/api/reference.md",
        "migrations/0001_init.down.sql",
    ] {
        assert!(out.join(file).exists(), "{file} was not written");
    }

    // The generated service works over real HTTP. Build it here (incremental) so the binary
    // is this project's even if another generated `bookstore` shared the target directory.
    let build = Command::new("cargo")
        .args(["build", "--quiet"])
        .current_dir(&out)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("CARGO_INCREMENTAL", "0")
        .status()
        .unwrap();
    assert!(build.success());
    let binary = shared_target().join("debug/bookstore");
    let (_service, client) = start_service(&binary, sandbox.path());
    let alice = client.token(
        "/api/v1/auth/register",
        "alice@example.com",
        "alice-password-1",
        201,
    );
    client.token(
        "/api/v1/auth/login",
        "alice@example.com",
        "alice-password-1",
        200,
    );
    let admin = client.token(
        "/api/v1/auth/login",
        "admin@example.com",
        "admin-password-1",
        200,
    );

    let (status, author) = client.call(
        "POST",
        "/api/v1/authors",
        Some(&admin),
        Some(json!({"name": "Ursula K. Le Guin"})),
    );
    assert_eq!(status, 201, "{author}");
    let (status, refused) = client.call(
        "POST",
        "/api/v1/authors",
        Some(&alice),
        Some(json!({"name": "Not an admin"})),
    );
    assert_eq!(
        status, 403,
        "members cannot curate the catalogue: {refused}"
    );
    let (status, book) = client.call(
        "POST",
        "/api/v1/books",
        Some(&admin),
        Some(json!({"title": "The Dispossessed", "isbn": "9780061054884", "price": "9.99", "genre": "fiction", "author_id": author["id"]})),
    );
    assert_eq!(status, 201, "{book}");
    let (status, page) = client.call("GET", "/api/v1/books?genre=fiction", None, None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"][0]["title"], "The Dispossessed");
    let (_, none) = client.call("GET", "/api/v1/books?genre=history", None, None);
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0), "{none}");
    let book_path = format!("/api/v1/books/{}", book["id"].as_str().unwrap());
    let (status, updated) = client.call(
        "PATCH",
        &book_path,
        Some(&admin),
        Some(json!({"price": "12.50"})),
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["price"], "12.50");

    let (status, review) = client.call(
        "POST",
        "/api/v1/reviews",
        Some(&alice),
        Some(json!({"book_id": book["id"], "rating": 5, "body": "Anarres!"})),
    );
    assert_eq!(status, 201, "{review}");
    let review_path = format!("/api/v1/reviews/{}", review["id"].as_str().unwrap());
    let bob = client.token(
        "/api/v1/auth/register",
        "bob@example.com",
        "bob-password-12",
        201,
    );
    let (status, _) = client.call("GET", &review_path, Some(&bob), None);
    assert_eq!(status, 404, "another user's review is refused");
    let (status, _) = client.call(
        "PATCH",
        &review_path,
        Some(&bob),
        Some(json!({"rating": 1})),
    );
    assert_eq!(status, 404, "and cannot be changed");
    let (_, bobs) = client.call("GET", "/api/v1/reviews", Some(&bob), None);
    assert_eq!(bobs["total"], 0, "{bobs}");
    let (status, _) = client.call("DELETE", &review_path, Some(&alice), None);
    assert_eq!(status, 204);
    let (status, _) = client.call("GET", &review_path, Some(&alice), None);
    assert_eq!(status, 404);
    let (status, _) = client.call("DELETE", &book_path, Some(&admin), None);
    assert_eq!(status, 204);
}

/// Phase 5 deployed the release: staging smoke tests passed, the production gate shifted
/// traffic with zero failed requests, monitoring measured the live service, and the service
/// still answers through the proxy after the run ended.
fn the_service_is_live_behind_the_proxy(sandbox: &Sandbox, report: &Value) {
    let deployment = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|phase| phase["phase"] == "deployment")
        .unwrap();
    let gate = |id: &str| {
        deployment["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|gate| gate["gate"] == id)
            .cloned()
            .unwrap()
    };
    let staging = gate("staging");
    assert_eq!(staging["status"], "passed", "{staging}");
    assert_eq!(staging["evidence"]["smoke"]["passed"], true, "{staging}");
    let deploy = gate("deploy");
    assert_eq!(deploy["status"], "passed", "{deploy}");
    let evidence = &deploy["evidence"];
    assert_eq!(evidence["decision"], "GO");
    assert_eq!(evidence["zero_downtime"]["failed"], 0, "{deploy}");
    assert!(
        evidence["zero_downtime"]["steady_requests"]
            .as_u64()
            .unwrap()
            > 10,
        "{deploy}"
    );
    let monitoring = gate("monitoring");
    assert_eq!(monitoring["status"], "passed", "{monitoring}");
    assert!(
        monitoring["evidence"]["p95_ms"].as_f64().is_some(),
        "{monitoring}"
    );
    assert!(
        !monitoring["evidence"]["endpoints"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{monitoring}"
    );
    // The run has ended; the supervisor keeps the release live.
    let status = sandbox
        .command(&["deploy", "status", "--json"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["live"]["running"], true, "{status}");
    let proxy = status["proxy_url"].as_str().unwrap();
    let response = ureq::get(&format!("{proxy}/health")).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers().get("x-apiwright-backend").unwrap(),
        "green"
    );
    // The first release has nothing to roll back to, and says so.
    let rollback = sandbox.command(&["deploy", "rollback"]).output().unwrap();
    assert_eq!(rollback.status.code(), Some(7));
    assert!(
        String::from_utf8_lossy(&rollback.stderr).contains("nothing to roll back to"),
        "{}",
        String::from_utf8_lossy(&rollback.stderr)
    );
}

/// Phase 4's contract, security and load gates started the generated service and drove real
/// traffic at it; their reports are the phase's deliverables in memory.
fn evidence_gates_ran_against_the_service(sandbox: &Sandbox, report: &Value) {
    let gates = report["phases"][3]["gates"].as_array().unwrap();
    let gate = |id: &str| {
        gates
            .iter()
            .find(|gate| gate["gate"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no gate {id} in {gates:?}"))
    };
    let contract = gate("contract");
    assert_eq!(contract["status"], "passed", "{contract}");
    let evidence = &contract["evidence"];
    assert_eq!(evidence["violation_count"], 0, "{contract}");
    assert_eq!(evidence["server_errors"], 0, "{contract}");
    assert!(
        evidence["requests_sent"].as_u64().unwrap() > 100,
        "{contract}"
    );
    let exercised = evidence["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|operation| operation["skipped"].is_null())
        .count();
    assert!(exercised >= 20, "{contract}");

    let security = gate("security");
    assert_eq!(security["status"], "passed", "{security}");
    let findings = security["evidence"]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .all(|finding| !["high", "critical"].contains(&finding["severity"].as_str().unwrap())),
        "{security}"
    );
    let ran = security["evidence"]["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|probe| probe["status"] == "ran")
        .count();
    assert!(ran >= 10, "{security}");

    let load = gate("performance");
    assert_eq!(load["status"], "passed", "{load}");
    let sustained = &load["evidence"]["scenarios"]["sustained"];
    assert!(sustained["requests"].as_u64().unwrap() >= 9_900, "{load}");
    assert!(
        sustained["latency_ms"]["p95"].as_f64().unwrap() < 200.0,
        "{load}"
    );
    assert!(
        load["evidence"]["max_rss_mb"].as_f64().unwrap() > 0.0,
        "{load}"
    );
    for scenario in ["stress", "spike"] {
        assert!(
            load["evidence"]["scenarios"][scenario]["requests"]
                .as_u64()
                .unwrap()
                > 0,
            "{load}"
        );
    }

    for (key, field) in [
        ("qa-engineer/e2e-results", "/evidence/operations"),
        ("security-specialist/audit-report", "/evidence/probes"),
        (
            "performance-analyst/benchmarks",
            "/evidence/scenarios/sustained",
        ),
    ] {
        let key = format!("api-development/bookstore/phase-4/{key}");
        let text = sandbox.expect(&["memory", "retrieve", "--key", &key, "--json"], 0);
        let entries: Value = serde_json::from_str(&text).unwrap();
        let value = &entries[0]["value"]["value"];
        assert_eq!(value["outcome"], "passed", "{key}: {value}");
        assert!(value.pointer(field).is_some(), "{key}: {value}");
    }
}
