//! The `apiwright-fakemodel` binary: prints its URL, serves, writes the exchange log.

use std::process::Stdio;

use serde_json::Value;
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use tokio::io::BufReader;

use crate::script_file::HELLO_YAML;
use crate::support::post;

#[tokio::test]
async fn the_binary_prints_its_url_serves_and_logs() {
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("exchanges.jsonl");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_apiwright-fakemodel"))
        .args(["--script", HELLO_YAML, "--log"])
        .arg(&log)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("a first line");
    let base = line.strip_prefix("listening on ").expect("listening line");
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    assert_ne!(base, "http://127.0.0.1:0");

    let request =
        json!({ "model": "m", "messages": [{ "role": "user", "content": "hello there" }] });
    let reply = post(&format!("{base}/v1/chat/completions"), &request, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["choices"][0]["message"]["content"],
        "Hello! How can I help?"
    );

    child.kill().await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let entries: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{text}");
    assert_eq!(entries[0]["conversation"], "hello");
    assert_eq!(entries[0]["protocol"], "openai");
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[0]["violations"], json!([]));
}
