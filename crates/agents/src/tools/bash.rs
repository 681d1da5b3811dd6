//! The `bash` tool: one `sh -c` command in the workspace, in its own process group, with a
//! timeout.
//!
//! The whole group is killed when the command times out, when the calling future is dropped
//! (the model turn was cancelled) and when the command finishes, so nothing a tool call
//! started outlives it: a background server left running would keep the step's pipes, ports
//! and CPU after the step.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncRead;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::ToolOutcome;
use super::cut_marker;

/// How long output may still arrive after the shell exited; background processes holding
/// the pipes open would otherwise stall the call until its timeout.
const DRAIN_GRACE: Duration = Duration::from_millis(250);
/// Room kept under the output limit for the exit line and notes.
const STATUS_ROOM: usize = 200;

/// One `bash` call.
#[derive(Debug)]
pub(crate) struct BashRun<'a> {
    pub root: &'a Path,
    pub env: &'a [(String, String)],
    pub command: &'a str,
    pub timeout: Duration,
    pub output_limit: usize,
}

pub(crate) async fn run(run: &BashRun<'_>) -> ToolOutcome {
    // `exec 2>&1` on the command's first line interleaves stderr with stdout in order while
    // keeping the command's line numbers; the stderr pipe still catches what the shell says
    // before that runs (a syntax error on the first line).
    let script = format!("exec 2>&1; {}", run.command);
    let mut command = Command::new("sh");
    // An empty value hides a variable (API keys: a model must not be able to print them into
    // a transcript or a file).
    for (name, value) in run.env {
        if value.is_empty() {
            command.env_remove(name);
        } else {
            command.env(name, value);
        }
    }
    let spawned = command
        .arg("-c")
        .arg(script)
        .current_dir(run.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return ToolOutcome::error(format!("cannot start `sh`: {error}")),
    };
    let _group = GroupGuard::new(child.id());
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    let budget = run.output_limit.saturating_sub(STATUS_ROOM);
    let mut stdout = Capture::new(budget);
    let mut stderr = Capture::new(budget / 4);
    let work = async {
        let readers = async {
            tokio::join!(
                drain(stdout_pipe.as_mut(), &mut stdout),
                drain(stderr_pipe.as_mut(), &mut stderr)
            )
        };
        let mut readers = std::pin::pin!(readers);
        let exited = tokio::select! {
            _ = &mut readers => None,
            status = child.wait() => Some(status),
        };
        match exited {
            Some(status) => {
                let _ = tokio::time::timeout(DRAIN_GRACE, readers).await;
                status
            }
            None => child.wait().await,
        }
    };
    let result = tokio::time::timeout(run.timeout, work).await;
    let mut output = stdout.render();
    let stderr = stderr.render();
    if !stderr.trim().is_empty() {
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&stderr);
    }
    if !output.is_empty() && !output.ends_with('\n') {
        output.push('\n');
    }
    match result {
        Ok(Ok(status)) => {
            let status_line = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit code: {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => "exit status unknown".to_string(),
            };
            if output.is_empty() {
                output.push_str("(no output)\n");
            }
            ToolOutcome::ok(format!("{output}{status_line}"))
        }
        Ok(Err(error)) => ToolOutcome::error(format!("{output}waiting for the command: {error}")),
        Err(_) => ToolOutcome::error(format!(
            "timed out after {}; the command and everything it started were killed\n{output}",
            describe(run.timeout)
        )),
    }
}

async fn drain(pipe: Option<&mut (impl AsyncRead + Unpin)>, capture: &mut Capture) {
    let Some(pipe) = pipe else {
        return;
    };
    let mut chunk = [0_u8; 8192];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(read) => capture.push(&chunk[..read]),
        }
    }
}

/// Output kept within a budget: the head and a rolling tail, plus how much fell between.
#[derive(Debug)]
struct Capture {
    head: Vec<u8>,
    tail: Vec<u8>,
    head_limit: usize,
    tail_limit: usize,
    total: usize,
}

impl Capture {
    fn new(budget: usize) -> Capture {
        Capture {
            head: Vec::new(),
            tail: Vec::new(),
            head_limit: budget / 2,
            tail_limit: budget - budget / 2,
            total: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len();
        let room = self.head_limit - self.head.len();
        if room > 0 {
            let taken = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
        self.tail.extend_from_slice(bytes);
        // Trim in batches so a chatty command does not shift the buffer on every read.
        if self.tail.len() > 2 * self.tail_limit.max(4096) {
            let excess = self.tail.len() - self.tail_limit;
            self.tail.drain(..excess);
        }
    }

    fn render(&self) -> String {
        let mut tail = self.tail.as_slice();
        if tail.len() > self.tail_limit {
            tail = &tail[tail.len() - self.tail_limit..];
        }
        let cut = self.total - self.head.len() - tail.len();
        let head = String::from_utf8_lossy(&self.head);
        let tail = String::from_utf8_lossy(tail);
        match cut {
            0 => format!("{head}{tail}"),
            cut => format!("{head}{}{tail}", cut_marker(cut)),
        }
    }
}

/// Kills the command's process group when dropped: on every way out of [`run`], including
/// the future being dropped mid-command.
#[derive(Debug)]
struct GroupGuard {
    pgid: Option<i32>,
}

impl GroupGuard {
    fn new(pid: Option<u32>) -> GroupGuard {
        // The child leads its own group (process_group(0)), so its pid is the group id. 0
        // and 1 would name our own group or every process; never signal those.
        let pgid = pid
            .and_then(|pid| i32::try_from(pid).ok())
            .filter(|pgid| *pgid > 1);
        GroupGuard { pgid }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            kill_group(pgid);
        }
    }
}

/// Sends SIGKILL to a process group. Drop cannot await, so this is a direct system call
/// rather than spawning `kill` as the command provider does.
#[allow(unsafe_code)]
fn kill_group(pgid: i32) {
    // SAFETY: killpg takes two integers and touches no memory of ours; a group that is
    // already gone makes it return ESRCH, which is fine to ignore.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
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
#[path = "bash_tests.rs"]
mod tests;
