//! Command gates: run a shell command in the workspace; pass on the expected exit.

use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use apiwright_workflow::CommandCheck;
use apiwright_workflow::Expect;
use apiwright_workflow::template::render;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

/// Limit of a command gate that sets no `timeout_secs`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
const TAIL_BYTES: usize = 8 * 1024;
const TAIL_LINES: usize = 60;

pub(crate) async fn evaluate(
    check: &CommandCheck,
    context: &GateContext<'_>,
) -> Result<(GateOutcome, String, serde_json::Value), GateError> {
    let command_line = render(&check.run, context.vars)?;
    let timeout = check
        .timeout_secs
        .map_or(context.default_timeout, Duration::from_secs);
    let started = Instant::now();
    // `exec 2>&1` interleaves stderr with stdout so the evidence tail shows both in order.
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command_line}"))
        .current_dir(context.workspace)
        .envs(context.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let summary = format!("could not start `{command_line}`: {error}");
            return Ok((
                GateOutcome::Failed,
                summary.clone(),
                json!({
                    "command": command_line,
                    "workspace": context.workspace.display().to_string(),
                    "started": false,
                    "error": summary,
                    "expect": expect_name(check.expect),
                }),
            ));
        }
    };
    let pid = child.id();
    let mut stdout = child.stdout.take();
    let run = async {
        let mut output = Vec::new();
        if let Some(stdout) = stdout.as_mut() {
            let mut chunk = [0_u8; 8192];
            loop {
                match stdout.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        output.extend_from_slice(&chunk[..read]);
                        // Keep memory bounded on chatty commands: only the tail is evidence.
                        if output.len() > 4 * TAIL_BYTES {
                            output.drain(..output.len() - TAIL_BYTES);
                        }
                    }
                }
            }
        }
        let status = child.wait().await;
        (status, output)
    };
    let (exit_code, timed_out, output) = match tokio::time::timeout(timeout, run).await {
        Ok((status, output)) => (status.ok().and_then(|status| status.code()), false, output),
        Err(_) => {
            if let Some(pid) = pid {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg("--")
                    .arg(format!("-{pid}"))
                    .status()
                    .await;
            }
            (None, true, Vec::new())
        }
    };
    let duration = started.elapsed();
    let passed = match (check.expect, exit_code, timed_out) {
        (_, _, true) | (_, None, false) => false,
        (Expect::Success, Some(code), false) => code == 0,
        // 126/127: the command could not be run at all; that is not "the tests failed".
        (Expect::Failure, Some(code), false) => code != 0 && code != 126 && code != 127,
    };
    let outcome = if passed {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let summary = if timed_out {
        format!("`{command_line}` timed out after {} s", timeout.as_secs())
    } else {
        match exit_code {
            Some(code) => format!(
                "`{command_line}` exited {code} in {:.1} s (expected {})",
                duration.as_secs_f64(),
                expect_description(check.expect)
            ),
            None => format!("`{command_line}` was killed by a signal"),
        }
    };
    let evidence = json!({
        "command": command_line,
        "workspace": context.workspace.display().to_string(),
        "exit_code": exit_code,
        "timed_out": timed_out,
        "duration_ms": u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        "expect": expect_name(check.expect),
        "output_tail": tail(&output),
    });
    Ok((outcome, summary, evidence))
}

fn expect_name(expect: Expect) -> &'static str {
    match expect {
        Expect::Success => "success",
        Expect::Failure => "failure",
    }
}

fn expect_description(expect: Expect) -> &'static str {
    match expect {
        Expect::Success => "exit 0",
        Expect::Failure => "a non-zero exit",
    }
}

fn tail(output: &[u8]) -> String {
    let start = output.len().saturating_sub(TAIL_BYTES);
    let text = String::from_utf8_lossy(&output[start..]);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.len().saturating_sub(TAIL_LINES);
    lines[first..].join("\n")
}
