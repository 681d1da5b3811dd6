//! The `apiwright-testbed` binary.

use std::io::BufRead;
use std::io::BufReader;
use std::path::Path;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;

use apiwright_testbed::Flaw;
use serde_json::Value;
use serde_json::json;

use crate::support::PASSWORD;

const BINARY: &str = env!("CARGO_BIN_EXE_apiwright-testbed");

#[test]
fn an_unknown_flaw_fails_and_lists_the_valid_ones() {
    let output = Command::new(BINARY)
        .args(["--flaw", "nope"])
        .env_remove("TESTBED_FLAW")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unknown flaw `nope`"), "{stderr}");
    for flaw in Flaw::ALL {
        assert!(
            stderr.contains(flaw.name()),
            "{flaw} missing from: {stderr}"
        );
    }
}

#[test]
fn an_empty_or_none_flaw_is_the_clean_service() {
    for name in ["", "none"] {
        let mut child = Command::new(BINARY)
            .env("PORT", "0")
            .env("TESTBED_FLAW", name)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            line.starts_with("listening on http://127.0.0.1:"),
            "{name:?}: {line}"
        );
    }
}

#[test]
fn prints_its_address_and_serves_the_flaw_from_the_environment() {
    let mut child = Command::new(BINARY)
        .env("PORT", "0")
        .env("TESTBED_FLAW", "undocumented-route")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base_url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{line}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let health = agent.get(format!("{base_url}/health")).call().unwrap();
    let debug = agent
        .get(format!("{base_url}/api/v1/debug"))
        .call()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(debug.status(), 200);
}

/// A testbed process on a free port, killed when dropped.
struct Process {
    child: Child,
    base_url: String,
    agent: ureq::Agent,
}

impl Process {
    /// Starts the clean binary on `database` with `secret` (what blue and green share).
    fn start(database: &Path, secret: &str) -> Process {
        let mut child = Command::new(BINARY)
            .env("PORT", "0")
            .env_remove("TESTBED_FLAW")
            .env("DATABASE_PATH", database)
            .env("JWT_SECRET", secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{line}"))
            .to_owned();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Process {
            child,
            base_url,
            agent,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base_url));
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let result = match body {
            None => self.agent.run(builder.body(()).unwrap()),
            Some(body) => self.agent.run(
                builder
                    .header("content-type", "application/json")
                    .body(body.to_string().into_bytes())
                    .unwrap(),
            ),
        };
        let response = result.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
        };
        (status, value)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Blue and green of a deployment: two processes on one SQLite file and one JWT secret see
/// the same accounts, tokens and notes, and write concurrently without `database is locked`.
#[test]
fn two_processes_share_one_database_file_and_one_jwt_secret() {
    let scratch = tempfile::tempdir().unwrap();
    let database = scratch.path().join("notes.sqlite");
    let secret = "blue-green-shared-secret-0123456789abcdef";
    // Started together: both create the schema and switch to WAL at the same time.
    let (blue, green) = std::thread::scope(|scope| {
        let blue = scope.spawn(|| Process::start(&database, secret));
        let green = scope.spawn(|| Process::start(&database, secret));
        (blue.join().unwrap(), green.join().unwrap())
    });
    let credentials = json!({ "email": "alice@example.com", "password": PASSWORD });
    let (status, _) = blue.call(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(credentials.clone()),
    );
    assert_eq!(status, 201);
    // Registered through blue, signs in through green; a token issued by blue works on green.
    let (status, _) = green.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(credentials.clone()),
    );
    assert_eq!(status, 200);
    let (status, tokens) = blue.call("POST", "/api/v1/auth/login", None, Some(credentials));
    assert_eq!(status, 200);
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, me) = green.call("GET", "/api/v1/auth/me", Some(&token), None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "alice@example.com");
    // A note created through blue is read through green, and the other way round.
    let (status, note) = blue.call(
        "POST",
        "/api/v1/notes",
        Some(&token),
        Some(json!({ "title": "from blue", "body": "written by process 1" })),
    );
    assert_eq!(status, 201, "{note}");
    let (status, read) = green.call(
        "GET",
        &format!("/api/v1/notes/{}", note["id"]),
        Some(&token),
        None,
    );
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, note);
    let (status, note) = green.call(
        "POST",
        "/api/v1/notes",
        Some(&token),
        Some(json!({ "title": "from green" })),
    );
    assert_eq!(status, 201, "{note}");
    let (status, read) = blue.call(
        "GET",
        &format!("/api/v1/notes/{}", note["id"]),
        Some(&token),
        None,
    );
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["title"], "from green");
    // A refresh token issued by blue is spent on green, once.
    let refresh = json!({ "refresh_token": tokens["refresh_token"] });
    let (status, refreshed) =
        green.call("POST", "/api/v1/auth/refresh", None, Some(refresh.clone()));
    assert_eq!(status, 200, "{refreshed}");
    let (status, _) = blue.call("POST", "/api/v1/auth/refresh", None, Some(refresh));
    assert_eq!(status, 401);
    // Both write at once: the busy timeout serialises them, nothing is lost.
    let token = refreshed["access_token"].as_str().unwrap().to_owned();
    std::thread::scope(|scope| {
        for (name, process) in [("blue", &blue), ("green", &green)] {
            let token = &token;
            scope.spawn(move || {
                for index in 0..25 {
                    let (status, body) = process.call(
                        "POST",
                        "/api/v1/notes",
                        Some(token),
                        Some(json!({ "title": format!("{name} {index}") })),
                    );
                    assert_eq!(status, 201, "{name} {index}: {body}");
                }
            });
        }
    });
    for process in [&blue, &green] {
        let (status, list) = process.call("GET", "/api/v1/notes?limit=100", Some(&token), None);
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["items"].as_array().unwrap().len(), 52, "{list}");
    }
    // Signing out through green ends the session on blue too.
    let (status, _) = green.call("POST", "/api/v1/auth/logout", Some(&token), None);
    assert_eq!(status, 204);
    let (status, _) = blue.call("GET", "/api/v1/auth/me", Some(&token), None);
    assert_eq!(status, 401);
}
