//! Talking to a cluster through kubectl: find it, check that the cluster answers, then apply.
//!
//! Every command is a real child process with a timeout (killed when it runs out). Nothing is
//! applied unless kubectl exists and the cluster answered first, and every failure says so:
//! this target never reports a deployment it did not make.

use std::path::Path;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::KubernetesError;
use super::KubernetesPlan;
use super::Manifest;
use super::render::render_route;
use super::render::render_yaml;

/// How long one kubectl command may take unless configured otherwise.
pub const DEFAULT_KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of kubectl's output an error quotes: the last lines, where kubectl says what failed.
const TAIL_LINES: usize = 20;
const TAIL_CHARS: usize = 2_000;

/// Which kubectl to run against which cluster and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// A bare name is looked up on `PATH`; anything with a `/` is used as it is.
    pub kubectl: PathBuf,
    /// The kubeconfig context; `None` uses kubectl's current context.
    pub context: Option<String>,
    pub namespace: String,
    /// The longest one kubectl command may run; also its `--request-timeout`.
    pub timeout: Duration,
}

impl ApplyOptions {
    /// `kubectl` from `PATH`, the current context, [`DEFAULT_KUBECTL_TIMEOUT`].
    pub fn new(namespace: impl Into<String>) -> Self {
        ApplyOptions {
            kubectl: PathBuf::from("kubectl"),
            context: None,
            namespace: namespace.into(),
            timeout: DEFAULT_KUBECTL_TIMEOUT,
        }
    }
}

/// What an apply did, as kubectl reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// The kubectl that ran (resolved on `PATH`).
    pub kubectl: PathBuf,
    pub context: Option<String>,
    /// The cluster's `serverVersion.gitVersion`, from the reachability check.
    pub server_version: String,
    /// kubectl's lines, one per object, e.g. `deployment.apps/books-green created`.
    pub applied: Vec<String>,
}

/// Applies `manifests` with `kubectl apply -f -` once kubectl is found and the cluster answers.
pub async fn apply(
    options: &ApplyOptions,
    manifests: &[Manifest],
) -> Result<ApplyReport, KubernetesError> {
    if manifests.is_empty() {
        return Err(KubernetesError::InvalidPlan {
            field: "manifests".to_owned(),
            expected: "at least one manifest to apply".to_owned(),
            found: "none".to_owned(),
        });
    }
    let kubectl = resolve_kubectl(&options.kubectl)?;
    let server_version = check_reachable(&kubectl, options).await?;
    let mut arguments = global_arguments(options);
    arguments.extend(["apply", "-f", "-"].map(String::from));
    let finished = run(
        &kubectl,
        &arguments,
        Some(render_yaml(manifests)),
        options.timeout,
    )
    .await?;
    let finished = finished.success_or_error(&kubectl, &arguments)?;
    Ok(ApplyReport {
        kubectl,
        context: options.context.clone(),
        server_version,
        applied: finished
            .stdout
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Re-applies only the plan's HTTPRoute with `weights` as `(blue, green)`: the traffic shift,
/// and the rollback when the weights go back.
pub async fn set_weights(
    options: &ApplyOptions,
    plan: &KubernetesPlan,
    weights: (u32, u32),
) -> Result<ApplyReport, KubernetesError> {
    if plan.namespace != options.namespace {
        return Err(KubernetesError::InvalidPlan {
            field: "namespace".to_owned(),
            expected: format!("the namespace kubectl applies to, {:?}", options.namespace),
            found: plan.namespace.clone(),
        });
    }
    let route = render_route(plan, weights)?;
    apply(options, &[route]).await
}

/// Waits with `kubectl rollout status deployment/NAME --timeout=…` until the Deployment's new
/// pods are ready (after the same kubectl and cluster checks as [`apply`]); returns kubectl's
/// output.
pub async fn rollout_status(
    options: &ApplyOptions,
    deployment: &str,
    timeout: Duration,
) -> Result<String, KubernetesError> {
    let kubectl = resolve_kubectl(&options.kubectl)?;
    check_reachable(&kubectl, options).await?;
    let mut arguments = global_arguments(options);
    arguments.extend([
        "rollout".to_owned(),
        "status".to_owned(),
        format!("deployment/{deployment}"),
        format!("--timeout={}s", timeout.as_secs().max(1)),
    ]);
    // kubectl gives up by itself at `--timeout`; the process gets the command timeout on top.
    let finished = run(&kubectl, &arguments, None, timeout + options.timeout).await?;
    Ok(finished.success_or_error(&kubectl, &arguments)?.stdout)
}

/// `--context` and `--namespace`, which every command takes before its subcommand.
fn global_arguments(options: &ApplyOptions) -> Vec<String> {
    let mut arguments = Vec::new();
    if let Some(context) = &options.context {
        arguments.extend(["--context".to_owned(), context.clone()]);
    }
    arguments.extend(["--namespace".to_owned(), options.namespace.clone()]);
    arguments
}

/// The kubectl to run: a bare name looked up on `PATH`, a path checked to be a file.
fn resolve_kubectl(program: &Path) -> Result<PathBuf, KubernetesError> {
    if program.components().count() > 1 || program.is_absolute() {
        return if program.is_file() {
            Ok(program.to_path_buf())
        } else {
            Err(KubernetesError::KubectlMissing {
                path: program.to_path_buf(),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|directory| directory.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| KubernetesError::KubectlNotFound {
            program: program.to_path_buf(),
        })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Asks the cluster for its version; returns `serverVersion.gitVersion`.
async fn check_reachable(
    kubectl: &Path,
    options: &ApplyOptions,
) -> Result<String, KubernetesError> {
    let mut arguments = global_arguments(options);
    arguments.extend([
        "version".to_owned(),
        "-o".to_owned(),
        "json".to_owned(),
        format!("--request-timeout={}s", options.timeout.as_secs().max(1)),
    ]);
    let unreachable = |detail: String| KubernetesError::Unreachable {
        context: options.context.clone(),
        detail,
    };
    let finished = match run(kubectl, &arguments, None, options.timeout).await {
        Ok(finished) => finished,
        Err(KubernetesError::Timeout { timeout, .. }) => {
            return Err(unreachable(format!(
                "no answer within {}s",
                timeout.as_secs_f64()
            )));
        }
        Err(error) => return Err(error),
    };
    if !finished.success {
        let said = if finished.stderr.trim().is_empty() {
            &finished.stdout
        } else {
            &finished.stderr
        };
        return Err(unreachable(format!(
            "`kubectl version` {}: {}",
            finished.status,
            tail(said)
        )));
    }
    let version: serde_json::Value = serde_json::from_str(&finished.stdout).unwrap_or_default();
    match version["serverVersion"]["gitVersion"].as_str() {
        Some(git_version) => Ok(git_version.to_owned()),
        None => Err(unreachable(format!(
            "`kubectl version -o json` reported no serverVersion: {}",
            tail(&finished.stdout)
        ))),
    }
}

/// A kubectl command that ran to its end.
struct Finished {
    success: bool,
    /// How it ended, e.g. `exit status: 1`.
    status: String,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn success_or_error(
        self,
        kubectl: &Path,
        arguments: &[String],
    ) -> Result<Finished, KubernetesError> {
        if self.success {
            return Ok(self);
        }
        let said = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        Err(KubernetesError::CommandFailed {
            command: command_line(kubectl, arguments),
            status: self.status,
            stderr: tail(said),
        })
    }
}

/// Runs kubectl with `input` on its stdin, killing it when `timeout` runs out.
async fn run(
    kubectl: &Path,
    arguments: &[String],
    input: Option<String>,
    timeout: Duration,
) -> Result<Finished, KubernetesError> {
    let mut command = tokio::process::Command::new(kubectl);
    command
        .args(arguments)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let spawn_error = |source| KubernetesError::Spawn {
        program: kubectl.to_path_buf(),
        source,
    };
    let mut child = command.spawn().map_err(spawn_error)?;
    let stdin = child.stdin.take();
    let write = async move {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            // A kubectl that exits without reading says why in its exit status and stderr.
            let _ = stdin.write_all(input.as_bytes()).await;
            let _ = stdin.shutdown().await;
        }
    };
    let finish = async move {
        let ((), output) = tokio::join!(write, child.wait_with_output());
        output
    };
    // On timeout the future is dropped with the child, and `kill_on_drop` kills it.
    match tokio::time::timeout(timeout, finish).await {
        Err(_elapsed) => Err(KubernetesError::Timeout {
            command: command_line(kubectl, arguments),
            timeout,
        }),
        Ok(Err(source)) => Err(spawn_error(source)),
        Ok(Ok(output)) => Ok(Finished {
            success: output.status.success(),
            status: output.status.to_string(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }),
    }
}

fn command_line(kubectl: &Path, arguments: &[String]) -> String {
    let mut line = kubectl.display().to_string();
    for argument in arguments {
        line.push(' ');
        line.push_str(argument);
    }
    line
}

/// The last lines of `output`, where kubectl says what went wrong.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.trim_end().lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    let chars = tail.chars().count();
    if chars <= TAIL_CHARS {
        return tail;
    }
    let kept: String = tail.chars().skip(chars - TAIL_CHARS).collect();
    format!("…{kept}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_and_characters() {
        let output: String = (0..30).map(|index| format!("line {index}\n")).collect();
        let kept = tail(&output);
        assert!(kept.starts_with("line 10\n"), "{kept}");
        assert!(kept.ends_with("line 29"), "{kept}");
        let long = "é".repeat(3_000);
        assert_eq!(tail(&long).chars().count(), TAIL_CHARS + 1);
    }

    #[test]
    fn global_arguments_come_before_the_subcommand() {
        let mut options = ApplyOptions::new("shop");
        assert_eq!(global_arguments(&options), ["--namespace", "shop"]);
        options.context = Some("prod".to_owned());
        assert_eq!(
            global_arguments(&options),
            ["--context", "prod", "--namespace", "shop"]
        );
    }
}
