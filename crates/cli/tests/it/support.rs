//! Helpers: run the binary against a temporary state directory.

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Output;

pub const BIN: &str = env!("CARGO_BIN_EXE_apiwright");

/// The repository root (examples live there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/cli is two levels below the root")
        .to_path_buf()
}

/// A temporary project directory with its own state database.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    /// A command for the binary, run in the sandbox with its database.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .current_dir(self.path())
            .arg("--db")
            .arg(self.db())
            .args(args)
            .env_remove("APIWRIGHT_DB")
            .env_remove("APIWRIGHT_SESSION_ID")
            .env_remove("APIWRIGHT_LOG")
            .env_remove("APIWRIGHT_DEPLOY_DIR");
        command
    }

    /// Stops the deploy supervisors a test started in this sandbox when dropped, however the
    /// test ends (they are detached processes that would outlive it).
    pub fn stop_deployments_on_drop(&self) -> StopDeployments {
        StopDeployments {
            dir: self.path().to_path_buf(),
            db: self.db(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("binary runs")
    }

    /// Runs and asserts the exit code, returning stdout.
    pub fn expect(&self, args: &[&str], code: i32) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "apiwright {}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    /// `runs show --json` of a run.
    pub fn report(&self, run_id: &str) -> serde_json::Value {
        serde_json::from_str(&self.expect(&["runs", "show", run_id, "--json"], 0))
            .expect("json report")
    }

    /// Every event of a run.
    pub fn events(&self, run_id: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.expect(&["runs", "events", run_id, "--json"], 0))
            .expect("json events")
    }

    /// The id of the newest run.
    pub fn last_run_id(&self) -> String {
        let runs: serde_json::Value =
            serde_json::from_str(&self.expect(&["runs", "list", "--json"], 0)).expect("json runs");
        runs[0]["id"].as_str().expect("a run").to_string()
    }
}

/// A finished `apiwright run` and the run's `runs show --json` report.
pub struct Finished {
    pub code: Option<i32>,
    pub report: serde_json::Value,
    pub stderr: String,
    /// The run's output directory (its workspace).
    pub out: PathBuf,
}

impl Sandbox {
    /// Runs built-in `workflow` with the built-in agents on `examples/notes.yaml` (`--yes`,
    /// output in `out`, extra `--param`s), sharing the main job test's cargo target directory
    /// for generated projects; prints the wall time.
    pub fn run_builtin_on_notes(&self, workflow: &str, out: &str, params: &[&str]) -> Finished {
        let _one_at_a_time = whole_workflow_lock();
        let spec = repo_root().join("examples/notes.yaml");
        let out = self.path().join(out);
        let mut args = vec![
            "run",
            workflow,
            "--spec",
            spec.to_str().expect("a UTF-8 path"),
            "--agents",
            "builtin",
            "--yes",
            "--out",
            out.to_str().expect("a UTF-8 path"),
        ];
        for param in params {
            args.extend(["--param", param]);
        }
        let started = std::time::Instant::now();
        let output = self
            .command(&args)
            .env("APIWRIGHT_TARGET_DIR", repo_root().join("target/generated"))
            .output()
            .expect("apiwright runs");
        eprintln!(
            "{workflow} {params:?}: {:.0} s",
            started.elapsed().as_secs_f64()
        );
        Finished {
            code: output.status.code(),
            report: self.report(&self.last_run_id()),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            out,
        }
    }
}

/// Held while a whole built-in workflow runs: their evidence gates measure latency and
/// throughput of a generated service, which two builds on a 2-core machine would distort.
/// A poisoned lock (a failed test) does not stop the others.
pub fn whole_workflow_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// See [`Sandbox::stop_deployments_on_drop`].
pub struct StopDeployments {
    dir: PathBuf,
    db: PathBuf,
}

impl Drop for StopDeployments {
    fn drop(&mut self) {
        let deployments = self.dir.join(".apiwright/deploy");
        let Ok(entries) = std::fs::read_dir(&deployments) else {
            return;
        };
        for entry in entries.flatten() {
            let _ = Command::new(BIN)
                .current_dir(&self.dir)
                .arg("--db")
                .arg(&self.db)
                .args(["deploy", "stop", "--name"])
                .arg(entry.file_name())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}
