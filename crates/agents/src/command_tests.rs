//! The command provider against real `sh` child processes.

use std::path::PathBuf;
use std::time::Duration;
use std::time::Instant;

use super::*;
use crate::WriteTarget;

fn request(workspace: PathBuf, writes: &[&str], timeout: Duration) -> StepRequest {
    StepRequest {
        run_id: "run-7".into(),
        workflow: "wf".into(),
        phase_id: "plan".into(),
        phase_number: 1,
        phase_title: "Plan".into(),
        step_id: "pm".into(),
        role: apiwright_workflow::AgentRole {
            id: "pm".into(),
            description: "Product manager".into(),
            focus: vec![],
            command: None,
        },
        task: "Write requirements".into(),
        params: Default::default(),
        concurrent: false,
        iteration: 1,
        item: None,
        stage: None,
        reads: vec![],
        missing_reads: vec![],
        siblings: vec![],
        handoffs: vec![],
        feedback: vec![],
        gates: std::sync::Arc::from(Vec::new()),
        writes: writes
            .iter()
            .map(|name| WriteTarget {
                name: name.to_string(),
                key: format!("wf/x/{name}"),
            })
            .collect(),
        workspace,
        db_path: None,
        workflow_dir: None,
        prompt: "PROMPT-BODY".into(),
        timeout,
        attempt: 1,
        services: Default::default(),
        env: vec![],
    }
}

fn agent(command: &str) -> CommandAgent {
    CommandAgent::new(CommandAgentConfig {
        command: command.into(),
        env: BTreeMap::new(),
    })
}

#[tokio::test]
async fn prompt_goes_to_stdin_and_stdout_becomes_the_deliverable() {
    let dir = tempfile::tempdir().unwrap();
    let output = agent(r#"body=$(cat); printf '{"prompt":"%s","phase":"%s","cwd":"%s"}' "$body" "$APIWRIGHT_PHASE" "$(pwd)""#)
        .run(request(dir.path().to_path_buf(), &["requirements"], Duration::from_secs(10)))
        .await
        .unwrap();
    let value = &output.deliverables["requirements"];
    assert_eq!(value["prompt"], "PROMPT-BODY");
    assert_eq!(value["phase"], "plan");
    assert_eq!(
        PathBuf::from(value["cwd"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        dir.path().canonicalize().unwrap()
    );
}

#[tokio::test]
async fn a_failing_program_is_fatal_with_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let error = agent("echo 'no model configured' >&2; exit 3")
        .run(request(
            dir.path().to_path_buf(),
            &["a"],
            Duration::from_secs(10),
        ))
        .await
        .unwrap_err();
    assert!(matches!(error, AgentError::Fatal(_)));
    assert!(
        error
            .to_string()
            .contains("exited with status 3: no model configured"),
        "{error}"
    );
}

#[tokio::test]
async fn a_hanging_program_is_killed_at_the_timeout_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let error = agent("sleep 30 & sleep 30; echo late")
        .run(request(
            dir.path().to_path_buf(),
            &["a"],
            Duration::from_millis(300),
        ))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(error.is_retryable());
    assert_eq!(error.to_string(), "agent `pm` timed out after 300 ms");
}

#[tokio::test]
async fn exit_75_asks_for_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let error = agent("exit 75")
        .run(request(
            dir.path().to_path_buf(),
            &["a"],
            Duration::from_secs(10),
        ))
        .await
        .unwrap_err();
    assert!(error.is_retryable());
}
