//! User hook commands from `[hooks]`: each runs with `sh -c` in the current directory,
//! stdin null, output captured to an anonymous temporary file, under a time limit after
//! which its whole process group is killed.
//!
//! This module owns running them and reporting how they went. It must fail open: nothing
//! here returns an error or panics because a user command failed, was missing or hung; it
//! spawns no process when no command is configured, and starts no thread.

use std::io::Read;
use std::io::Seek;
use std::io::SeekFrom;
use std::os::unix::process::CommandExt;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use apiwright_config::HooksConfig;
use wait_timeout::ChildExt;

/// How many bytes of a command's output are kept in [`UserHookResult::output_tail`].
pub const OUTPUT_TAIL_BYTES: usize = 2048;

/// How one user hook command went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserHookResult {
    /// The shell line.
    pub command: String,
    /// Its exit code; `None` when killed (time limit, signal) or not started.
    pub exit_code: Option<i32>,
    /// Whether it was killed for running past the time limit.
    pub timed_out: bool,
    /// How long it ran.
    pub duration_ms: u64,
    /// The last bytes of its stdout and stderr (interleaved), or why it could not start.
    pub output_tail: String,
}

impl UserHookResult {
    /// Whether the command exited with code 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Runs the commands configured for a workflow event kind (`run_failed`, …) with
/// `APIWRIGHT_EVENT=<kind>` and `env`; returns one result per command (none when no
/// command is configured, without spawning anything).
pub fn run_event_hooks(
    config: &HooksConfig,
    event_kind: &str,
    env: &[(&str, String)],
) -> Vec<UserHookResult> {
    let commands = config.commands_for(event_kind);
    if commands.is_empty() {
        return Vec::new();
    }
    let mut all_env: Vec<(&str, String)> = vec![("APIWRIGHT_EVENT", event_kind.to_owned())];
    all_env.extend(env.iter().cloned());
    run_commands(commands, config.timeout(), &all_env)
}

/// Runs `commands` one after the other, each with `env` and `timeout`.
pub(crate) fn run_commands(
    commands: &[String],
    timeout: Duration,
    env: &[(&str, String)],
) -> Vec<UserHookResult> {
    commands
        .iter()
        .map(|command| {
            let result = run_one(command, timeout, env);
            if result.timed_out {
                tracing::warn!(
                    command = %result.command,
                    timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    "user hook timed out and was killed"
                );
            } else if !result.succeeded() {
                tracing::warn!(
                    command = %result.command,
                    exit_code = ?result.exit_code,
                    output = %result.output_tail,
                    "user hook failed"
                );
            }
            result
        })
        .collect()
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn run_one(command: &str, timeout: Duration, env: &[(&str, String)]) -> UserHookResult {
    let started = Instant::now();
    let not_started = |why: String| UserHookResult {
        command: command.to_owned(),
        exit_code: None,
        timed_out: false,
        duration_ms: elapsed_ms(started),
        output_tail: why,
    };
    // One anonymous file takes both stdout and stderr: unlike a pipe it never fills up,
    // so a chatty command cannot block while nobody reads (there is no reader thread).
    let handles = tempfile::tempfile().and_then(|captured| {
        let child_out = captured.try_clone()?;
        let child_err = captured.try_clone()?;
        Ok((captured, child_out, child_err))
    });
    let (mut captured, child_out, child_err) = match handles {
        Ok(handles) => handles,
        Err(err) => {
            return not_started(format!("cannot create a file for the hook's output: {err}"));
        }
    };
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::from(child_out))
        .stderr(Stdio::from(child_err))
        .process_group(0);
    for (name, value) in env {
        shell.env(name, value);
    }
    let mut child = match shell.spawn() {
        Ok(child) => child,
        Err(err) => return not_started(format!("cannot start `sh -c`: {err}")),
    };
    let (exit_code, timed_out) = match child.wait_timeout(timeout) {
        Ok(Some(status)) => (status.code(), false),
        Ok(None) => {
            kill_group(&mut child);
            (None, true)
        }
        Err(err) => {
            kill_group(&mut child);
            return not_started(format!("cannot wait for the hook: {err}"));
        }
    };
    UserHookResult {
        command: command.to_owned(),
        exit_code,
        timed_out,
        duration_ms: elapsed_ms(started),
        output_tail: tail(&mut captured),
    }
}

/// Kills the command's process group (the shell and everything it started), then reaps
/// the shell. Without a `kill` program only the shell is killed.
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let killed_group = Command::new("kill")
        .args(["-s", "KILL", "--", &group])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !killed_group {
        // Best effort: it may have exited meanwhile.
        let _ = child.kill();
    }
    // Best effort: reap it so no zombie is left behind.
    let _ = child.wait();
}

/// The last [`OUTPUT_TAIL_BYTES`] of the output file, as text.
fn tail(file: &mut std::fs::File) -> String {
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return String::new();
    };
    let keep = len.min(OUTPUT_TAIL_BYTES as u64);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(len - keep)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    // A cut through a multi-byte character shows up as leading replacement characters.
    text.trim_start_matches('\u{FFFD}').to_owned()
}
