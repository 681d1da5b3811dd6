//! The `command` provider: runs an external program (any agent CLI or script) for a step.
//!
//! The program runs through `sh -c` in the workspace directory, gets the rendered prompt on
//! stdin and the step's coordinates in `APIWRIGHT_*` environment variables, and prints its
//! deliverable (or a JSON envelope) on stdout. It runs in its own process group so a timeout
//! kills everything it started.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::Agent;
use crate::envelope::parse_output;
use crate::request::AgentError;
use crate::request::StepOutput;
use crate::request::StepRequest;

/// Most bytes of stdout kept; an agent printing more is refused.
const MAX_STDOUT: usize = 16 * 1024 * 1024;
/// Bytes of stderr kept for error messages.
const STDERR_TAIL: usize = 2048;
/// Exit code (EX_TEMPFAIL) by which a program says "try me again".
const EXIT_TEMPFAIL: i32 = 75;

/// How to run one external agent program.
#[derive(Debug, Clone)]
pub struct CommandAgentConfig {
    /// Shell command line.
    pub command: String,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
}

/// An agent backed by an external program.
#[derive(Debug, Clone)]
pub struct CommandAgent {
    config: CommandAgentConfig,
}

impl CommandAgent {
    /// An agent running `config.command` for every step.
    pub fn new(config: CommandAgentConfig) -> CommandAgent {
        CommandAgent { config }
    }
}

impl Agent for CommandAgent {
    fn provider(&self) -> &str {
        "command"
    }

    async fn run(&self, request: StepRequest) -> Result<StepOutput, AgentError> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.config.command)
            .current_dir(&request.workspace)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        for (name, value) in &request.env {
            command.env(name, value);
        }
        for (name, value) in step_environment(&request) {
            command.env(name, value);
        }
        for (name, value) in &self.config.env {
            command.env(name, value);
        }
        let mut child = command.spawn().map_err(|error| {
            AgentError::Fatal(format!(
                "cannot start agent command `{}` in {}: {error}",
                self.config.command,
                request.workspace.display()
            ))
        })?;
        let pid = child.id();
        let mut stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let prompt = request.prompt.clone();
        let work = async {
            let feed = async {
                if let Some(mut stdin) = stdin.take() {
                    // A program that does not read its prompt closes the pipe early; that is
                    // its choice, not an error.
                    let _ = stdin.write_all(prompt.as_bytes()).await;
                    let _ = stdin.shutdown().await;
                }
            };
            let read_out = async {
                let mut buffer = Vec::new();
                if let Some(stdout) = stdout.as_mut() {
                    let _ = stdout
                        .take(u64::try_from(MAX_STDOUT + 1).unwrap_or(u64::MAX))
                        .read_to_end(&mut buffer)
                        .await;
                }
                buffer
            };
            let read_err = async {
                let mut buffer = Vec::new();
                if let Some(stderr) = stderr.as_mut() {
                    let _ = stderr.read_to_end(&mut buffer).await;
                }
                buffer
            };
            let ((), out, err) = tokio::join!(feed, read_out, read_err);
            let status = child.wait().await;
            (status, out, err)
        };
        let (status, out, err) = match tokio::time::timeout(request.timeout, work).await {
            Ok(result) => result,
            Err(_) => {
                kill_group(pid).await;
                return Err(AgentError::Retryable(format!(
                    "agent `{}` timed out after {}",
                    request.role.id,
                    describe(request.timeout)
                )));
            }
        };
        let status = status.map_err(|error| {
            AgentError::Retryable(format!("waiting for agent `{}`: {error}", request.role.id))
        })?;
        let stderr_tail = tail(&err);
        if !status.success() {
            let message = match status.code() {
                Some(code) => format!(
                    "agent `{}` (`{}`) exited with status {code}: {stderr_tail}",
                    request.role.id, self.config.command
                ),
                None => format!(
                    "agent `{}` (`{}`) was killed by a signal: {stderr_tail}",
                    request.role.id, self.config.command
                ),
            };
            return Err(match status.code() {
                Some(EXIT_TEMPFAIL) | None => AgentError::Retryable(message),
                Some(_) => AgentError::Fatal(message),
            });
        }
        if out.len() > MAX_STDOUT {
            return Err(AgentError::RespondToAgent(format!(
                "expected at most {MAX_STDOUT} bytes on stdout, found more"
            )));
        }
        let stdout = String::from_utf8(out).map_err(|_| {
            AgentError::RespondToAgent("expected UTF-8 text on stdout, found invalid bytes".into())
        })?;
        parse_output(&request.role.id, &stdout, &request.writes)
    }
}

/// The environment a step's program sees.
fn step_environment(request: &StepRequest) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("APIWRIGHT_RUN_ID", request.run_id.clone()),
        ("APIWRIGHT_WORKFLOW", request.workflow.clone()),
        ("APIWRIGHT_PHASE", request.phase_id.clone()),
        ("APIWRIGHT_PHASE_NUMBER", request.phase_number.to_string()),
        ("APIWRIGHT_STEP", request.step_id.clone()),
        ("APIWRIGHT_AGENT", request.role.id.clone()),
        ("APIWRIGHT_TASK", request.task.clone()),
        ("APIWRIGHT_ITERATION", request.iteration.to_string()),
        ("APIWRIGHT_ATTEMPT", request.attempt.to_string()),
        (
            "APIWRIGHT_WORKSPACE",
            request.workspace.display().to_string(),
        ),
        (
            "APIWRIGHT_READS",
            request
                .reads
                .iter()
                .map(|entry| entry.key.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "APIWRIGHT_WRITES",
            request
                .writes
                .iter()
                .map(|write| format!("{}={}", write.name, write.key))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    if let Some(item) = &request.item {
        env.push(("APIWRIGHT_ITEM", item.clone()));
        env.push((
            "APIWRIGHT_ITEM_SLUG",
            apiwright_workflow::template::slug(item),
        ));
    }
    if let Some(stage) = request.stage {
        let stage = match stage {
            apiwright_workflow::TddStage::Red => "red",
            apiwright_workflow::TddStage::Green => "green",
            apiwright_workflow::TddStage::Refactor => "refactor",
        };
        env.push(("APIWRIGHT_STAGE", stage.to_string()));
    }
    if let Some(dir) = &request.workflow_dir {
        env.push(("APIWRIGHT_WORKFLOW_DIR", dir.display().to_string()));
    }
    if let Some(db) = &request.db_path {
        env.push(("APIWRIGHT_DB", db.display().to_string()));
    }
    env
}

async fn kill_group(pid: Option<u32>) {
    // The child leads its own process group (process_group(0)); killing the group takes
    // down whatever the agent spawned. `kill` avoids unsafe FFI for a rare path.
    if let Some(pid) = pid {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{pid}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL);
    let text = String::from_utf8_lossy(&bytes[start..]);
    let text = text.trim();
    if text.is_empty() {
        "(no stderr)".to_string()
    } else {
        text.to_string()
    }
}

fn describe(duration: Duration) -> String {
    if duration.as_millis() < 1000 {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{} s", duration.as_secs())
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
