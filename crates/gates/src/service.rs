//! The service an evidence gate exercises: built and started from the workspace in its own
//! process group on a free loopback port (or taken as already running at a URL), polled until
//! ready, and stopped — the whole group — when the gate is done, even if the gate fails.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use apiwright_workflow::ServiceSpec;
use apiwright_workflow::template;
use serde_json::Value;
use serde_json::json;
use tokio::process::Child;
use tokio::process::Command;

use apiwright_deploy::instance;

use crate::GateContext;
use crate::GateError;
use crate::shell;

const DEFAULT_READY: &str = "/health";
const DEFAULT_STARTUP: Duration = Duration::from_secs(120);
const DEFAULT_BUILD: Duration = Duration::from_secs(1800);
const LOG_TAIL_BYTES: u64 = 6 * 1024;

/// An admin account the gate asked the service to create.
#[derive(Debug, Clone)]
pub(crate) struct AdminLogin {
    pub email: String,
    pub password: String,
}

/// A service ready for traffic. Dropping it kills its process group.
#[derive(Debug)]
pub(crate) struct Service {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The process group leader (the `sh` running `run`), for memory sampling of the group.
    pub pgid: Option<u32>,
    pub admin: Option<AdminLogin>,
    /// How the service was obtained, for the evidence.
    pub evidence: Value,
    child: Option<Child>,
    log: Option<PathBuf>,
    /// Holds the scratch directory (the service's database, its log) until the service stops.
    _scratch: Option<tempfile::TempDir>,
}

/// Why the service could not be made ready: the gate fails with this summary and evidence.
#[derive(Debug)]
pub(crate) struct NotReady {
    pub summary: String,
    pub evidence: Value,
}

impl Service {
    /// Builds (if asked) and starts the service, or takes the running one at `url`, and waits
    /// until its ready path answers 2xx.
    pub async fn start(
        spec: &ServiceSpec,
        context: &GateContext<'_>,
    ) -> Result<Result<Service, NotReady>, GateError> {
        let startup = spec
            .startup_timeout_secs
            .map_or(DEFAULT_STARTUP, Duration::from_secs);
        if let Some(url) = &spec.url {
            let url = template::render(url, context.vars)?;
            let base_url = url.trim_end_matches('/').to_string();
            let evidence = json!({ "url": base_url });
            let service = Service {
                base_url,
                pgid: None,
                admin: None,
                evidence,
                child: None,
                log: None,
                _scratch: None,
            };
            // A service someone else runs shows it is up by answering at all, unless the
            // gate names a ready path.
            let (ready, any_status) = match &spec.ready {
                Some(ready) => (ready.as_str(), false),
                None => ("/", true),
            };
            return Ok(
                match instance::wait_ready(&service.base_url, ready, startup, None, any_status)
                    .await
                {
                    Ok(()) => Ok(service),
                    Err(reason) => Err(NotReady {
                        summary: format!(
                            "the service at {} is not ready: {reason}",
                            service.base_url
                        ),
                        evidence: json!({ "url": service.base_url, "ready": ready, "error": reason }),
                    }),
                },
            );
        }
        let Some(run) = &spec.run else {
            return Ok(Err(NotReady {
                summary: "the gate names no service: set `service.run` or `service.url`".into(),
                evidence: Value::Null,
            }));
        };
        let run = template::render(run, context.vars)?;
        let mut env: Vec<(String, String)> = Vec::new();
        for (name, value) in &spec.env {
            env.push((name.clone(), template::render(value, context.vars)?));
        }
        if let Some(build) = &spec.build {
            let build = template::render(build, context.vars)?;
            let limit = spec
                .build_timeout_secs
                .map_or(DEFAULT_BUILD, Duration::from_secs);
            let execution = shell::run(&build, context, &env, limit, &mut |_| {}).await;
            if execution.exit_code != Some(0) {
                let why = execution.start_error.clone().unwrap_or_else(|| {
                    if execution.timed_out {
                        format!("timed out after {} s", limit.as_secs())
                    } else {
                        format!("exit {:?}", execution.exit_code)
                    }
                });
                return Ok(Err(NotReady {
                    summary: format!("the service did not build: `{build}` {why}"),
                    evidence: json!({ "build": build, "exit_code": execution.exit_code,
                        "timed_out": execution.timed_out, "output_tail": execution.tail }),
                }));
            }
        }
        let scratch = match tempfile::Builder::new()
            .prefix("apiwright-service-")
            .tempdir()
        {
            Ok(dir) => dir,
            Err(error) => {
                return Ok(Err(NotReady {
                    summary: format!("cannot create a scratch directory for the service: {error}"),
                    evidence: Value::Null,
                }));
            }
        };
        let port = match instance::free_port() {
            Ok(port) => port,
            Err(error) => {
                return Ok(Err(NotReady {
                    summary: format!("cannot find a free loopback port: {error}"),
                    evidence: Value::Null,
                }));
            }
        };
        let port_env = spec.port_env.clone().unwrap_or_else(|| "PORT".to_string());
        env.push((port_env.clone(), port.to_string()));
        env.push((
            "APIWRIGHT_SCRATCH".to_string(),
            scratch.path().display().to_string(),
        ));
        let admin = spec.admin.as_ref().map(|names| {
            let login = AdminLogin {
                email: format!("admin-{}@apiwright.test", nonce()),
                password: format!("Aw-{}-{}", nonce(), nonce()),
            };
            env.push((names.email_env.clone(), login.email.clone()));
            env.push((names.password_env.clone(), login.password.clone()));
            login
        });
        let log = scratch.path().join("service.log");
        let spawned = spawn(&run, context, &env, &log);
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                return Ok(Err(NotReady {
                    summary: format!("could not start `{run}`: {error}"),
                    evidence: json!({ "run": run }),
                }));
            }
        };
        let base_url = format!("http://127.0.0.1:{port}");
        let mut service = Service {
            base_url: base_url.clone(),
            pgid: child.id(),
            admin,
            evidence: json!({ "run": run, "url": base_url, "port_env": port_env,
                "admin_created": spec.admin.is_some() }),
            child: Some(child),
            log: Some(log),
            _scratch: Some(scratch),
        };
        let ready = spec.ready.as_deref().unwrap_or(DEFAULT_READY);
        let waited =
            instance::wait_ready(&base_url, ready, startup, service.child.as_mut(), false).await;
        match waited {
            Ok(()) => Ok(Ok(service)),
            Err(reason) => {
                let log_tail = service.log_tail();
                service.stop().await;
                Ok(Err(NotReady {
                    summary: format!("the service did not become ready: {reason}"),
                    evidence: json!({ "run": run, "url": base_url, "ready": ready,
                        "error": reason, "log_tail": log_tail }),
                }))
            }
        }
    }

    /// The last lines the service wrote (stdout and stderr), for evidence.
    pub fn log_tail(&self) -> String {
        self.log.as_deref().map_or_else(String::new, |log| {
            instance::log_tail(log, usize::try_from(LOG_TAIL_BYTES).unwrap_or(usize::MAX))
        })
    }

    /// The process that serves: of the process group the gate started (a shell, perhaps a
    /// wrapper, and the service), the member using the most memory. `None` for a `url`
    /// service or when `/proc` cannot be read.
    pub fn main_pid(&self) -> Option<u32> {
        let pgid = self.pgid?;
        let entries = std::fs::read_dir("/proc").ok()?;
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| process_group(*pid) == Some(pgid))
            .filter_map(|pid| Some((apiwright_load::read_rss_kb(pid).ok()?, pid)))
            .max()
            .map(|(_, pid)| pid)
    }

    /// Whether the started process is still running (always true for a `url` service).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Stops the process group: SIGTERM, then SIGKILL after five seconds.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            instance::signal_group(pid, "-TERM").await;
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                instance::signal_group(pid, "-KILL").await;
                let _ = child.wait().await;
            }
            // Children that ignored TERM after the leader exited.
            instance::signal_group(pid, "-KILL").await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            instance::kill_group_now(pid);
        }
    }
}

/// The process group of `pid`, from `/proc/PID/stat` (field 5, after the command name in
/// parentheses, which may itself hold spaces and parentheses).
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(2)?.parse().ok()
}

fn spawn(
    run: &str,
    context: &GateContext<'_>,
    env: &[(String, String)],
    log: &std::path::Path,
) -> std::io::Result<Child> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    let mut command = Command::new("sh");
    crate::shell::gate_environment(&mut command, context.env);
    command
        .arg("-c")
        .arg(run)
        .current_dir(context.workspace)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
}

fn nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}
