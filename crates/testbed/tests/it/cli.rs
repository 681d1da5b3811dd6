//! The `apiwright-testbed` binary.

use std::io::BufRead;
use std::io::BufReader;
use std::process::Command;
use std::process::Stdio;

use apiwright_testbed::Flaw;

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
