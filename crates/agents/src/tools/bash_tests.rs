//! The `bash` tool against real `sh` process groups.

use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use serde_json::json;

use crate::tools::ToolBox;
use crate::tools::testing::config;

fn bash_toolbox(workspace: &Path, timeout: Duration, output_limit: usize) -> ToolBox {
    let mut config = config(workspace);
    config.env = vec![("APIWRIGHT_TOOL_TEST".into(), "from-config".into())];
    config.limits.bash_timeout = timeout;
    config.limits.bash_max_timeout = Duration::from_secs(5);
    config.limits.output_limit = output_limit;
    ToolBox::new(config).unwrap()
}

/// Whether a process is gone (a zombie waiting for its reaper counts as gone: it runs no
/// more code).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

async fn wait_until_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gone(pid)
}

#[tokio::test]
async fn runs_in_the_workspace_with_the_configured_env_and_reports_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = bash_toolbox(dir.path(), Duration::from_secs(10), 30_000);
    let outcome = toolbox
        .call(
            "bash",
            &json!({"command": "pwd; echo $APIWRIGHT_TOOL_TEST; echo oops >&2; exit 3"})
                .to_string(),
        )
        .await;
    assert!(
        !outcome.is_error,
        "a failing command is a result: {outcome:?}"
    );
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(
        outcome.content,
        format!("{}\nfrom-config\noops\nexit code: 3", root.display())
    );
    let silent = toolbox.call("bash", r#"{"command": "true"}"#).await;
    assert_eq!(silent.content, "(no output)\nexit code: 0");
    let stdin = toolbox
        .call("bash", r#"{"command": "cat; echo done"}"#)
        .await;
    assert_eq!(stdin.content, "done\nexit code: 0", "stdin is empty");
}

#[tokio::test]
async fn a_syntax_error_is_reported_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = bash_toolbox(dir.path(), Duration::from_secs(10), 30_000);
    let outcome = toolbox.call("bash", r#"{"command": "if then fi ("}"#).await;
    assert!(!outcome.is_error);
    assert!(
        outcome.content.contains("exit code: 2"),
        "{}",
        outcome.content
    );
    assert!(
        outcome.content.lines().count() >= 2,
        "the shell's message is kept"
    );
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = bash_toolbox(dir.path(), Duration::from_secs(1), 30_000);
    let started = Instant::now();
    let outcome = toolbox
        .call(
            "bash",
            r#"{"command": "sleep 30 & echo background=$!; sleep 30; wait"}"#,
        )
        .await;
    let elapsed = started.elapsed();
    assert!(outcome.is_error, "{outcome:?}");
    assert!(
        outcome.content.starts_with("timed out after 1 s"),
        "{}",
        outcome.content
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    let pid: u32 = outcome
        .content
        .split("background=")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("the output so far is kept: {}", outcome.content))
        .parse()
        .unwrap();
    assert!(
        wait_until_gone(pid, Duration::from_secs(2)).await,
        "background sleep {pid} survived"
    );
}

#[tokio::test]
async fn a_requested_timeout_is_clamped_to_the_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.limits.bash_max_timeout = Duration::from_secs(1);
    let toolbox = ToolBox::new(config).unwrap();
    let started = Instant::now();
    let outcome = toolbox
        .call("bash", r#"{"command": "sleep 30", "timeout_secs": 3600}"#)
        .await;
    assert!(
        outcome.content.starts_with("timed out after 1 s"),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn dropping_the_call_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = bash_toolbox(dir.path(), Duration::from_secs(60), 30_000);
    let call = toolbox.call("bash", r#"{"command": "sleep 30 & echo $! > pid; wait"}"#);
    let pid_file = dir.path().join("pid");
    // Poll the call until the background process has announced itself, then drop it.
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        let mut call = std::pin::pin!(call);
        loop {
            let written = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if written.ends_with('\n') {
                return written;
            }
            tokio::select! {
                outcome = &mut call => panic!("the call finished early: {outcome:?}"),
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    })
    .await
    .unwrap();
    let pid: u32 = waited.trim().parse().unwrap();
    assert!(
        !gone(pid),
        "the background sleep runs while the call is pending"
    );
    assert!(
        wait_until_gone(pid, Duration::from_secs(2)).await,
        "background sleep {pid} survived the dropped call"
    );
}

#[tokio::test]
async fn a_finished_command_does_not_wait_for_or_leave_background_processes() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = bash_toolbox(dir.path(), Duration::from_secs(20), 30_000);
    let started = Instant::now();
    let outcome = toolbox
        .call("bash", r#"{"command": "sleep 30 & echo started=$!"}"#)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!outcome.is_error, "{outcome:?}");
    let pid: u32 = outcome
        .content
        .split("started=")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(outcome.content.ends_with("exit code: 0"));
    assert!(wait_until_gone(pid, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn long_output_keeps_its_head_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = bash_toolbox(dir.path(), Duration::from_secs(20), 2000);
    let outcome = toolbox.call("bash", r#"{"command": "seq 1 100000"}"#).await;
    assert!(!outcome.is_error);
    assert!(outcome.content.len() <= 2000, "{}", outcome.content.len());
    assert!(
        outcome.content.starts_with("1\n2\n3\n"),
        "{}",
        outcome.content
    );
    assert!(
        outcome.content.ends_with("99999\n100000\nexit code: 0"),
        "{}",
        outcome.content
    );
    assert_eq!(outcome.content.matches("bytes cut").count(), 1);
}
