//! What the benchmarks ran on: CPU, memory, kernel, load, build, date.

use std::path::Path;
use std::process::Command;

/// The machine and the moment, printed above every results table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    /// Logical CPUs available to this process.
    pub nproc: usize,
    /// `model name` of the first CPU in /proc/cpuinfo.
    pub cpu_model: String,
    /// MemTotal from /proc/meminfo, in GiB.
    pub memory_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// 1, 5 and 15 minute load averages when the benchmark started.
    pub load_average: String,
    /// UTC timestamp of the start.
    pub date: String,
    /// `git describe`-like revision of the workspace, `+dirty` when it has changes.
    pub revision: String,
    /// rustc version used to build (from `rustc -V`).
    pub rustc: String,
}

impl Machine {
    /// Reads everything it can; missing facts read `unknown`.
    pub fn detect(workspace: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                (name.trim() == "model name").then(|| value.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib = meminfo
            .lines()
            .find_map(|line| {
                let rest = line.strip_prefix("MemTotal:")?;
                rest.split_whitespace().next()?.parse::<f64>().ok()
            })
            .unwrap_or(0.0);
        let read_trim = |path: &str| {
            std::fs::read_to_string(path)
                .map(|text| text.trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        };
        let load_average = read_trim("/proc/loadavg")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: read_trim("/proc/sys/kernel/osrelease"),
            load_average,
            date: jiff::Timestamp::now()
                .strftime("%Y-%m-%d %H:%M UTC")
                .to_string(),
            revision: revision(workspace),
            rustc: command_line("rustc", &["-V"], None).unwrap_or_else(|| "unknown".into()),
        }
    }

    /// Current 1-minute load average (to show how busy the machine was during a benchmark).
    pub fn load_now() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| text.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "unknown".into())
    }

    /// The Markdown block describing the machine.
    pub fn markdown(&self, command: &str) -> String {
        format!(
            "- Machine: {} × {}, {} GiB RAM, Linux {}\n\
             - Load average at start (1/5/15 min): {}\n\
             - Date: {}; revision {}; {}\n\
             - Command: `{}`\n",
            self.nproc,
            self.cpu_model,
            self.memory_gib,
            self.kernel,
            self.load_average,
            self.date,
            self.revision,
            self.rustc,
            command
        )
    }
}

fn revision(workspace: &Path) -> String {
    let Some(head) = command_line("git", &["rev-parse", "--short", "HEAD"], Some(workspace)) else {
        return "unknown".into();
    };
    let dirty = command_line("git", &["status", "--porcelain"], Some(workspace))
        .is_some_and(|status| !status.is_empty());
    if dirty { format!("{head}+dirty") } else { head }
}

fn command_line(program: &str, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}
