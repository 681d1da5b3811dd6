//! The generated bookstore project and its service for `bookstore-load`: obtaining the project
//! (the main job, or a copy of `--project DIR`), building it in release mode, and running the
//! service on a free loopback port with its own database, an admin account and the rate
//! limiter out of reach, killed when dropped.

use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;

use anyhow::Context as _;
use anyhow::bail;

/// The service's binary (the generated package is named after the spec).
pub const BINARY: &str = "bookstore";
pub const ADMIN_EMAIL: &str = "bench-admin@example.com";
pub const ADMIN_PASSWORD: &str = "bench-admin-password-1";
/// The rate limits given to the service: out of reach of any run here.
const RATE_LIMIT_OFF: &str = "1000000000";

/// Where the generated project comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Run the main job with this `apiwright` binary.
    Generate { binary: PathBuf },
    /// An existing generated project (copied, never modified).
    Existing { project: PathBuf },
}

/// The running service; killed when dropped.
pub struct Server {
    child: Child,
    base_url: String,
    log: PathBuf,
}

impl Server {
    pub fn start(binary: &Path, dir: &Path) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("finding a free port")?
            .port();
        let log = dir.join("service.log");
        let stdout = std::fs::File::create(&log).context("creating the service log")?;
        let stderr = stdout.try_clone().context("service log")?;
        let child = Command::new(binary)
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("DATABASE_PATH", dir.join("bookstore.db"))
            .env("ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RATE_LIMIT_PER_USER", RATE_LIMIT_OFF)
            .env("RATE_LIMIT_PER_IP", RATE_LIMIT_OFF)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Server {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    /// Fails with the end of the service's log when it has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!(
                "the service exited ({status}); end of its log:\n{}",
                log_tail(&self.log)
            ),
            Err(error) => bail!("cannot wait for the service: {error}"),
        }
    }

    /// The service's process id (for memory sampling).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn log(&self) -> &Path {
        &self.log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last 20 lines of `path`.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Copies `from` into `to`, leaving out `target/` and `.git/`.
fn copy_project(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let destination = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_project(&entry.path(), &destination)?;
        } else {
            std::fs::copy(entry.path(), &destination)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Puts the generated project in `project` and says how it was obtained.
pub fn obtain(
    source: &Source,
    workspace: &Path,
    dir: &Path,
    project: &Path,
    target: &Path,
) -> anyhow::Result<String> {
    match source {
        Source::Existing { project: given } => {
            copy_project(given, project)?;
            Ok(format!("`--project {}` (a copy)", given.display()))
        }
        Source::Generate { binary } => {
            let log = dir.join("generate.log");
            let output = std::fs::File::create(&log).context("creating the main job's log")?;
            let status = Command::new(binary)
                .current_dir(dir)
                .arg("--db")
                .arg(dir.join("state.db"))
                .args(["run", "api-development", "--spec"])
                .arg(workspace.join("examples/bookstore.yaml"))
                .args(["--yes", "--out"])
                .arg(project)
                .env("APIWRIGHT_TARGET_DIR", target)
                .stdout(output.try_clone().context("main job log")?)
                .stderr(output)
                .status()
                .context("running the main job")?;
            // The run ends NO-GO (exit 4) with this version; the project is complete by then.
            if !project.join("Cargo.toml").is_file() || !project.join("openapi.json").is_file() {
                bail!(
                    "the main job ({status}) left no Cargo.toml and openapi.json in {}; end of its log:\n{}",
                    project.display(),
                    log_tail(&log)
                );
            }
            Ok(format!(
                "generated in this run by `apiwright run api-development --spec examples/bookstore.yaml --yes --out DIR` (exit {})",
                status
                    .code()
                    .map_or_else(|| "by signal".to_string(), |code| code.to_string())
            ))
        }
    }
}

/// `cargo build --release` of the project into the shared `target`; returns the binary.
pub fn build(project: &Path, target: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet"])
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", "0")
        .status()
        .context("running cargo build for the generated project")?;
    if !status.success() {
        bail!("`cargo build --release` of the generated project failed ({status})");
    }
    let binary = target.join("release").join(BINARY);
    if !binary.is_file() {
        bail!(
            "expected {} after the build, found no file",
            binary.display()
        );
    }
    Ok(binary)
}
