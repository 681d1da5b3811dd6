//! Running a gate's shell command in the workspace: its own process group, a timeout that
//! kills the group, stdout and stderr interleaved, every line offered to the caller and only a
//! bounded tail kept as evidence.

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
    /// The last lines of output.
    pub tail: String,
}

pub(crate) async fn run(
    command_line: &str,
    context: &GateContext<'_>,
    extra_env: &[(String, String)],
    timeout: Duration,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Execution {
    let started = Instant::now();
    // `exec 2>&1` interleaves stderr with stdout so the evidence shows both in order.
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command_line}"))
        .current_dir(context.workspace)
        .envs(context.env.iter().map(|(name, value)| (name, value)))
        .envs(extra_env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
            };
        }
    };
    let pid = child.id();
    let mut stdout = child.stdout.take();
    let mut tail: Vec<u8> = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let work = async {
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
    }
}

fn last_lines(output: &[u8]) -> String {
    let start = output.len().saturating_sub(TAIL_BYTES);
    let text = String::from_utf8_lossy(&output[start..]);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.len().saturating_sub(TAIL_LINES);
    lines[first..].join("\n")
}
