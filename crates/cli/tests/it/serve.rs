//! `apiwright admin create` and `apiwright serve`: a real process, logged into over HTTP,
//! stopped with SIGINT.

use std::io::BufRead as _;
use std::io::BufReader;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;

use crate::support::Sandbox;
use crate::support::whole_workflow_lock;

fn create_admin(sandbox: &Sandbox, email: &str, password: &str) -> std::process::Output {
    let mut child = sandbox
        .command(&["admin", "create", "--email", email, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Kills the server if the test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `apiwright serve` on a free port; returns the process, its stderr after the
/// `listening on URL` line, and the URL.
fn serve(
    sandbox: &Sandbox,
    extra: &[&str],
) -> (KillOnDrop, BufReader<std::process::ChildStderr>, String) {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend(extra);
    let mut server = KillOnDrop(
        sandbox
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no `listening on URL`"
        );
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            let url = url.to_owned();
            return (server, stderr, url);
        }
    }
}

#[test]
fn admin_create_refuses_short_passwords_and_missing_stdin_flag() {
    let sandbox = Sandbox::new();
    let output = create_admin(&sandbox, "admin@example.com", "short");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("expected at least 12 characters, found 5"),
        "{stderr}"
    );
    let output = sandbox
        .command(&["admin", "create", "--email", "admin@example.com"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("expected --password-stdin"));
}

#[test]
fn serve_logs_in_the_created_admin_and_stops_on_sigint() {
    // argon2 hashing is CPU-heavy: kept off the other tests' load gates.
    let _one_at_a_time = whole_workflow_lock();
    let sandbox = Sandbox::new();
    let password = "correct horse battery staple";
    let output = create_admin(&sandbox, "admin@example.com", password);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("created admin admin@example.com"));
    let again = create_admin(&sandbox, "admin@example.com", password);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{again:?}"
    );

    let (mut server, mut stderr, base) = serve(&sandbox, &["--log-format", "json"]);

    let secret = sandbox.path().join("server-secret");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let agent = ureq::Agent::new_with_defaults();
    let login: serde_json::Value = agent
        .post(&format!("{base}/api/v1/auth/login"))
        .send_json(serde_json::json!({"email": "admin@example.com", "password": password}))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let access = login["access_token"].as_str().unwrap();
    let me: serde_json::Value = agent
        .get(&format!("{base}/api/v1/me"))
        .header("authorization", &format!("Bearer {access}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(me["email"], "admin@example.com");
    assert_eq!(me["role"], "admin");
    let anonymous = agent
        .get(&format!("{base}/api/v1/me"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let status = std::process::Command::new("kill")
        .args(["-INT", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.0.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "serve exits 0 after Ctrl-C");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
    // JSON logs: one object per line; a refused request at info with its id, route template
    // and status (successes are logged at debug, with -vv).
    let served: Vec<serde_json::Value> = rest
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["fields"]["message"] == "request served")
        .collect();
    let me_line = served
        .iter()
        .find(|entry| entry["span"]["route"] == "/api/v1/me")
        .unwrap_or_else(|| panic!("no JSON log of GET /api/v1/me in {rest}"));
    assert_eq!(me_line["fields"]["status"], 401);
    assert!(
        me_line["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("req")),
        "{me_line}"
    );
}

/// A workflow whose role is a shell command (no configuration needed), with an approval gate.
const DEMO: &str = r#"
name: served-demo
description: Writes a note and waits for approval.
memory_pattern: "served/{agent}/{deliverable}"
agents:
  - id: writer
    description: Writes a note.
    command: 'cat >/dev/null; echo "\"hello\""'
phases:
  - id: write
    title: Write
    steps:
      - {id: write, agent: writer, task: write a note, writes: [note]}
    gates:
      - {id: ship-it, criterion: A person approves, approval: {prompt: "Ship it?"}}
"#;

#[test]
fn a_run_is_started_approved_and_reported_over_http_as_apiwright_run_would() {
    let _one_at_a_time = whole_workflow_lock();
    let sandbox = Sandbox::new();
    let password = "correct horse battery staple";
    assert!(
        create_admin(&sandbox, "admin@example.com", password)
            .status
            .success()
    );
    let (_server, stderr, base) = serve(&sandbox, &[]);
    std::thread::spawn(move || for _ in stderr.lines() {});
    let agent = ureq::Agent::new_with_defaults();
    let login: serde_json::Value = agent
        .post(&format!("{base}/api/v1/auth/login"))
        .send_json(serde_json::json!({"email": "admin@example.com", "password": password}))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let registered = agent
        .post(&format!("{base}/api/v1/workflows"))
        .header("authorization", &bearer)
        .send_json(serde_json::json!({ "yaml": DEMO }))
        .unwrap();
    assert_eq!(registered.status(), 201);
    let started: serde_json::Value = agent
        .put(&format!("{base}/api/v1/workflows/served-demo/execute"))
        .header("authorization", &bearer)
        .send_json(serde_json::json!({}))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let id = started["id"].as_str().unwrap().to_owned();
    let get = |agent: &ureq::Agent| -> serde_json::Value {
        agent
            .get(&format!("{base}/api/v1/runs/{id}"))
            .header("authorization", &bearer)
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut run = get(&agent);
    while run["status"] != "waiting_approval" {
        assert!(std::time::Instant::now() < deadline, "{run:#}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        run = get(&agent);
    }
    assert_eq!(run["waiting"]["id"], "ship-it");
    let decided = agent
        .post(&format!("{base}/api/v1/runs/{id}/approvals/ship-it"))
        .header("authorization", &bearer)
        .send_json(serde_json::json!({"decision": "approve"}))
        .unwrap();
    assert_eq!(decided.status(), 200);
    while run["status"] != "completed" {
        assert!(std::time::Instant::now() < deadline, "{run:#}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        run = get(&agent);
    }
    // The server's host wrote the report as `apiwright run` does, and the CLI sees the run.
    let report = std::fs::read_to_string(
        sandbox
            .path()
            .join("workspaces")
            .join(&id)
            .join("REPORT.md"),
    )
    .unwrap();
    assert!(report.contains("served-demo"), "{report}");
    let shown = sandbox.expect(&["runs", "show", &id, "--json"], 0);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["status"], "completed");
    let metrics = agent
        .get(&format!("{base}/metrics"))
        .header("authorization", &bearer)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    for line in [
        "apiwright_runs{status=\"completed\"} 1",
        "apiwright_steps_total{outcome=\"finished\"} 1",
        "apiwright_runs_ended_total{status=\"completed\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing in\n{metrics}"
        );
    }
}
