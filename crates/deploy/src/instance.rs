//! One running copy of a release: a shell command started in the release directory in its own
//! process group on a free loopback port, its output in a log file, polled until its ready
//! path answers 2xx, and stopped — the whole group — with TERM, then KILL.

use std::path::Path;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use serde::Deserialize;
use serde::Serialize;
use tokio::process::Child;
use tokio::process::Command;

/// How to start a release and know it is ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// Shell command run in the release directory; it must keep running.
    pub run: String,
    /// Environment variable receiving the port.
    pub port_env: String,
    /// Extra environment (secrets included: never logged or written to reports).
    pub env: Vec<(String, String)>,
    /// Path polled until it answers 2xx.
    pub ready: String,
    /// How long the instance may take to become ready.
    pub startup: Duration,
}

/// A started instance. Dropping it kills its process group.
#[derive(Debug)]
pub struct Instance {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The process group leader.
    pub pid: Option<u32>,
    /// Where stdout and stderr go.
    pub log: PathBuf,
    child: Option<Child>,
}

/// Why an instance could not be made ready.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotReady {
    /// One line: what was expected and what happened.
    pub reason: String,
    /// The last lines the instance wrote.
    pub log_tail: String,
}

const LOG_TAIL_BYTES: usize = 4 * 1024;

impl Instance {
    /// Starts `launch` in `dir` with its output appended to `log`, and waits until ready.
    pub async fn start(dir: &Path, launch: &Launch, log: &Path) -> Result<Instance, NotReady> {
        let port = free_port().map_err(|error| NotReady {
            reason: format!("cannot find a free loopback port: {error}"),
            log_tail: String::new(),
        })?;
        let spawned = spawn(dir, launch, port, log);
        let child = spawned.map_err(|error| NotReady {
            reason: format!(
                "could not start `{}` in {}: {error}",
                launch.run,
                dir.display()
            ),
            log_tail: String::new(),
        })?;
        let mut instance = Instance {
            url: format!("http://127.0.0.1:{port}"),
            pid: child.id(),
            log: log.to_path_buf(),
            child: Some(child),
        };
        let waited = wait_ready(
            &instance.url,
            &launch.ready,
            launch.startup,
            instance.child.as_mut(),
            false,
        )
        .await;
        match waited {
            Ok(()) => Ok(instance),
            Err(reason) => {
                instance.stop().await;
                Err(NotReady {
                    reason,
                    log_tail: log_tail(log, LOG_TAIL_BYTES),
                })
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The last lines the instance wrote.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, LOG_TAIL_BYTES)
    }

    /// Stops the process group: TERM, then KILL after five seconds.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            signal_group(pid, "-TERM").await;
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                signal_group(pid, "-KILL").await;
                let _ = child.wait().await;
            }
            // Members that ignored TERM after the leader exited.
            signal_group(pid, "-KILL").await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            kill_group_now(pid);
        }
    }
}

/// SIGKILL to the process group led by `pid`, synchronously (for `Drop`, where nothing can be
/// awaited).
pub fn kill_group_now(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pid}"))
        .stderr(Stdio::null())
        .status();
}

/// Polls `base_url + ready` until it answers 2xx (any status with `any_status`), the process
/// exits, or `limit` passes.
pub async fn wait_ready(
    base_url: &str,
    ready: &str,
    limit: Duration,
    mut child: Option<&mut Child>,
    any_status: bool,
) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|error| format!("cannot build an HTTP client: {error}"))?;
    let url = format!("{base_url}{ready}");
    let started = Instant::now();
    let mut last;
    loop {
        if let Some(child) = child.as_deref_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!(
                "the process exited ({status}) before {url} answered"
            ));
        }
        match client.get(&url).send().await {
            Ok(response) if any_status || response.status().is_success() => return Ok(()),
            Ok(response) => last = format!("{url} answered {}", response.status()),
            Err(error) => last = format!("{url}: {error}"),
        }
        if started.elapsed() >= limit {
            return Err(format!(
                "expected {url} to answer 2xx within {} s, last: {last}",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn spawn(dir: &Path, launch: &Launch, port: u16, log: &Path) -> std::io::Result<Child> {
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    Command::new("sh")
        .arg("-c")
        .arg(&launch.run)
        .current_dir(dir)
        .envs(launch.env.iter().map(|(name, value)| (name, value)))
        .env(&launch.port_env, port.to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
}

/// Sends `signal` (e.g. `-TERM`) to the process group led by `pid`.
pub async fn signal_group(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(signal)
        .arg("--")
        .arg(format!("-{pid}"))
        .stderr(Stdio::null())
        .status()
        .await;
}

/// A port nothing listens on right now. Another process could take it before the instance
/// binds it; the instance then fails to become ready and the rollout says so.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// The last `bytes` of a log file (lossy UTF-8); empty when it cannot be read.
pub fn log_tail(log: &Path, bytes: usize) -> String {
    let Ok(text) = std::fs::read(log) else {
        return String::new();
    };
    let start = text.len().saturating_sub(bytes);
    String::from_utf8_lossy(&text[start..]).into_owned()
}
