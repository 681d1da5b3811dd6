//! Running tools (cargo) in the workspace from a built-in role, with a time limit.

use std::path::Path;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;

/// The outcome of one tool run.
#[derive(Debug, Clone)]
pub(crate) struct ToolRun {
    pub command: String,
    pub success: bool,
    pub exit_code: Option<i32>,
    pub output: String,
}

/// Runs `program args` in `dir` with `env`, killing it after `timeout`.
pub(crate) fn run_tool(
    dir: &Path,
    env: &[(String, String)],
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> ToolRun {
    let command_line = format!("{program} {}", args.join(" "));
    let output_file = match tempfile_in(dir) {
        Ok(file) => file,
        Err(error) => {
            return ToolRun {
                command: command_line,
                success: false,
                exit_code: None,
                output: format!("cannot create an output file: {error}"),
            };
        }
    };
    let (path, file) = output_file;
    let spawned = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_or_else(|_| Stdio::null(), Stdio::from))
        .stderr(Stdio::from(file))
        .spawn();
    let result = match spawned {
        Err(error) => ToolRun {
            command: command_line.clone(),
            success: false,
            exit_code: None,
            output: format!("cannot start {program}: {error}"),
        },
        Ok(mut child) => {
            let status = wait_timeout::ChildExt::wait_timeout(&mut child, timeout);
            let status = match status {
                Ok(Some(status)) => Some(status),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    None
                }
            };
            let output = std::fs::read_to_string(&path).unwrap_or_default();
            ToolRun {
                command: command_line.clone(),
                success: status.is_some_and(|status| status.success()),
                exit_code: status.and_then(|status| status.code()),
                output: if status.is_none() {
                    format!("{output}\n(timed out after {} s)", timeout.as_secs())
                } else {
                    output
                },
            }
        }
    };
    let _ = std::fs::remove_file(&path);
    result
}

fn tempfile_in(dir: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let scratch = dir.join(".apiwright-tmp");
    std::fs::create_dir_all(&scratch)?;
    let path = scratch.join(format!(
        "tool-{}-{}.log",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

/// The last `lines` lines of a text.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
