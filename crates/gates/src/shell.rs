//! Running a gate's shell command in the workspace: its own process group, a timeout that
//! kills the group, stdout and stderr interleaved (or, for commands whose stdout is data,
//! kept apart), every stdout line offered to the caller and only a bounded tail kept as
//! evidence.

use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::GateContext;

const TAIL_BYTES: usize = 8 * 1024;
const TAIL_LINES: usize = 60;

/// What running a command produced.
pub(crate) struct Execution {
    /// Exit code; `None` when killed by a signal, timed out, or not started.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Why the command could not be started, if it could not.
    pub start_error: Option<String>,
    pub duration: Duration,
    /// The last lines of output (of stdout alone with [`Streams::Separate`]).
    pub tail: String,
    /// The last lines of stderr with [`Streams::Separate`]; empty otherwise.
    pub stderr_tail: String,
}

/// What happens to the command's stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Streams {
    /// stderr is interleaved with stdout: every line is offered to the caller.
    Interleaved,
    /// Only stdout lines are offered to the caller (they are data); stderr is kept apart as
    /// its own tail.
    Separate,
}

pub(crate) async fn run(
    command_line: &str,
    context: &GateContext<'_>,
    extra_env: &[(String, String)],
    timeout: Duration,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Execution {
    run_with(
        command_line,
        context,
        extra_env,
        timeout,
        Streams::Interleaved,
        on_line,
    )
    .await
}

pub(crate) async fn run_with(
    command_line: &str,
    context: &GateContext<'_>,
    extra_env: &[(String, String)],
    timeout: Duration,
    streams: Streams,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Execution {
    let started = Instant::now();
    // `exec 2>&1` interleaves stderr with stdout so the evidence shows both in order.
    let script = match streams {
        Streams::Interleaved => format!("exec 2>&1\n{command_line}"),
        Streams::Separate => command_line.to_string(),
    };
    let mut command = Command::new("sh");
    gate_environment(&mut command, context.env);
    let spawned = command
        .arg("-c")
        .arg(script)
        .current_dir(context.workspace)
        .envs(extra_env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(match streams {
            Streams::Interleaved => Stdio::null(),
            Streams::Separate => Stdio::piped(),
        })
        .kill_on_drop(true)
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return Execution {
                exit_code: None,
                timed_out: false,
                start_error: Some(format!("could not start `{command_line}`: {error}")),
                duration: started.elapsed(),
                tail: String::new(),
                stderr_tail: String::new(),
            };
        }
    };
    let pid = child.id();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut tail: Vec<u8> = Vec::new();
    let mut stderr_tail: Vec<u8> = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let read_stderr = async {
        if let Some(stderr) = stderr.as_mut() {
            let mut chunk = [0_u8; 8192];
            loop {
                match stderr.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        stderr_tail.extend_from_slice(&chunk[..read]);
                        if stderr_tail.len() > 4 * TAIL_BYTES {
                            stderr_tail.drain(..stderr_tail.len() - TAIL_BYTES);
                        }
                    }
                }
            }
        }
    };
    let read_stdout = async {
        if let Some(stdout) = stdout.as_mut() {
            let mut chunk = [0_u8; 8192];
            loop {
                match stdout.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        let bytes = &chunk[..read];
                        tail.extend_from_slice(bytes);
                        // Keep memory bounded on chatty commands: only the tail is evidence.
                        if tail.len() > 4 * TAIL_BYTES {
                            tail.drain(..tail.len() - TAIL_BYTES);
                        }
                        partial.extend_from_slice(bytes);
                        while let Some(end) = partial.iter().position(|byte| *byte == b'\n') {
                            let line: Vec<u8> = partial.drain(..=end).collect();
                            on_line(String::from_utf8_lossy(&line).trim_end());
                        }
                    }
                }
            }
        }
        if !partial.is_empty() {
            on_line(String::from_utf8_lossy(&partial).trim_end());
        }
    };
    let work = async {
        tokio::join!(read_stdout, read_stderr);
        child.wait().await
    };
    let (exit_code, timed_out) = match tokio::time::timeout(timeout, work).await {
        Ok(status) => (status.ok().and_then(|status| status.code()), false),
        Err(_) => {
            if let Some(pid) = pid {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg("--")
                    .arg(format!("-{pid}"))
                    .status()
                    .await;
            }
            (None, true)
        }
    };
    Execution {
        exit_code,
        timed_out,
        start_error: None,
        duration: started.elapsed(),
        tail: last_lines(&tail),
        stderr_tail: last_lines(&stderr_tail),
    }
}

fn last_lines(output: &[u8]) -> String {
    let start = output.len().saturating_sub(TAIL_BYTES);
    let text = String::from_utf8_lossy(&output[start..]);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.len().saturating_sub(TAIL_LINES);
    lines[first..].join("\n")
}

/// Applies a gate's environment to a command: an empty value removes the variable instead of
/// setting it (model API keys: a gate's programs must not see them).
pub(crate) fn gate_environment(command: &mut Command, env: &[(String, String)]) {
    for (name, value) in env {
        if value.is_empty() {
            command.env_remove(name);
        } else {
            command.env(name, value);
        }
    }
}
