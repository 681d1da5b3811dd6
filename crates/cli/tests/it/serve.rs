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

    let mut server = KillOnDrop(
        sandbox
            .command(&["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut base = String::new();
    while base.is_empty() {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no `listening on URL`"
        );
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            base = url.to_owned();
        }
    }

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
    // JSON logs: one object per line, each request with its id, route template and status.
    let served: Vec<serde_json::Value> = rest
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["fields"]["message"] == "request served")
        .collect();
    let me_line = served
        .iter()
        .find(|entry| entry["span"]["route"] == "/api/v1/me")
        .unwrap_or_else(|| panic!("no JSON log of GET /api/v1/me in {rest}"));
    assert_eq!(me_line["fields"]["status"], 200);
    assert!(
        me_line["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("req")),
        "{me_line}"
    );
}
