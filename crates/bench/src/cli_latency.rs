//! `cli-latency`: wall time of sequential `apiwright` invocations, process start included
//! (spawn + wait), with `/bin/true` as the floor of process spawning on this machine.

use std::path::Path;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use anyhow::bail;

use crate::stats::Summary;

/// Target of the issue: p50 under 5 ms, process start included.
pub const TARGET_P50_MS: f64 = 5.0;

/// One measured command.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// The command as a reader would type it.
    pub command: String,
    /// Whether it is the spawn baseline rather than apiwright.
    pub baseline: bool,
    /// Wall times.
    pub summary: Summary,
}

/// Results of the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Timed calls per command.
    pub iterations: usize,
    /// Untimed calls before them.
    pub warmup: usize,
    /// The binary measured.
    pub binary: String,
    /// Rows, baseline first.
    pub rows: Vec<Row>,
    /// 1-minute load average after the benchmark.
    pub load_after: String,
}

impl Results {
    /// Whether every apiwright command met the p50 target.
    pub fn meets_target(&self) -> bool {
        self.rows
            .iter()
            .filter(|row| !row.baseline)
            .all(|row| row.summary.p50_ms < TARGET_P50_MS)
    }
}

/// Runs the benchmark against `binary`.
pub fn run(binary: &Path, iterations: usize, warmup: usize) -> anyhow::Result<Results> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let db = dir.path().join("state.db");
    let db_arg = db.display().to_string();
    let apiwright_cases: [&[&str]; 5] = [
        &["hooks", "pre-task", "--description", "x"],
        &[
            "hooks",
            "post-edit",
            "--file",
            "src/main.rs",
            "--memory-key",
            "bench/edit",
        ],
        &["hooks", "notify", "--message", "m"],
        &[
            "memory",
            "store",
            "--key",
            "bench/k",
            "--value",
            r#"{"a":1}"#,
        ],
        &["memory", "retrieve", "--key", "bench/k"],
    ];
    let true_bin = Path::new("/bin/true");
    let mut rows = Vec::new();
    rows.push(Row {
        command: "/bin/true".into(),
        baseline: true,
        summary: measure(dir.path(), true_bin, &[], iterations, warmup)?,
    });
    for case in apiwright_cases {
        let mut args: Vec<&str> = vec!["--db", &db_arg];
        args.extend_from_slice(case);
        let summary = measure(dir.path(), binary, &args, iterations, warmup)?;
        rows.push(Row {
            command: format!("apiwright --db DB {}", shell_words(case)),
            baseline: false,
            summary,
        });
    }
    Ok(Results {
        iterations,
        warmup,
        binary: binary.display().to_string(),
        rows,
        load_after: crate::machine::Machine::load_now(),
    })
}

/// A command with its environment isolated from the user's (no APIWRIGHT_* settings).
fn command(cwd: &Path, program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("APIWRIGHT_DB")
        .env_remove("APIWRIGHT_LOG")
        .env_remove("APIWRIGHT_SESSION_ID")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

fn measure(
    cwd: &Path,
    program: &Path,
    args: &[&str],
    iterations: usize,
    warmup: usize,
) -> anyhow::Result<Summary> {
    let describe = || format!("{} {}", program.display(), shell_words(args));
    // Warm-up calls capture their output so that a failing command is reported, not timed.
    for _ in 0..warmup.max(1) {
        let output = command(cwd, program, args)
            .output()
            .with_context(|| format!("running `{}`", describe()))?;
        if !output.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                describe(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let mut child = command(cwd, program, args);
        child.stdout(Stdio::null()).stderr(Stdio::null());
        let clock = Instant::now();
        let status = child
            .status()
            .with_context(|| format!("running `{}`", describe()))?;
        let elapsed: Duration = clock.elapsed();
        if !status.success() {
            bail!("`{}` failed during the timed calls ({status})", describe());
        }
        samples.push(elapsed);
    }
    Summary::of(&samples).context("no samples (iterations = 0)")
}

/// Quotes arguments the way a reader would type them in a POSIX shell.
pub fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|arg| {
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c))
            {
                (*arg).to_string()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn shell_words_quotes_only_what_needs_it() {
        assert_eq!(
            shell_words(&["memory", "store", "--value", r#"{"a":1}"#, "it's"]),
            r#"memory store --value '{"a":1}' 'it'\''s'"#
        );
    }
}
