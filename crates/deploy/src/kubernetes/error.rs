//! The errors of the Kubernetes target: a plan that cannot be rendered, a cluster that cannot be
//! reached, and kubectl commands that failed or did not finish.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong between a [`super::KubernetesPlan`] and a cluster.
///
/// None of these is retried here: a plan error must be fixed by whoever wrote the plan, and a
/// kubectl error is reported as it is, because re-applying blindly could hide what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum KubernetesError {
    /// A field of the plan cannot be used in a manifest. Not retryable: fix the plan.
    #[error("plan field `{field}`: expected {expected}, found {found:?}")]
    InvalidPlan {
        field: String,
        expected: String,
        found: String,
    },
    /// The traffic split cannot be expressed with the tracks the plan has. Not retryable.
    #[error("weights {weights:?} (blue, green): {reason}")]
    InvalidWeights { weights: (u32, u32), reason: String },
    /// A rendered document could not be written as YAML. Not retryable: a bug in the renderer.
    #[error("cannot write {kind} {name:?} as YAML: {source}")]
    Yaml {
        kind: String,
        name: String,
        source: serde_saphyr::SerializeError,
    },
    /// There is no kubectl to talk to a cluster with. Not retryable: configure a target.
    #[error("no Kubernetes target: `{}` was not found on PATH; nothing was applied", program.display())]
    KubectlNotFound { program: PathBuf },
    /// The configured kubectl path does not name a file. Not retryable: configure a target.
    #[error("no Kubernetes target: `{}` does not exist or is not a file; nothing was applied", path.display())]
    KubectlMissing { path: PathBuf },
    /// kubectl ran but the cluster did not answer, so no command was sent to it. Retryable once
    /// the cluster is reachable.
    #[error(
        "kubectl cannot reach the cluster ({}): {detail}; nothing was applied",
        context_label(context.as_deref())
    )]
    Unreachable {
        context: Option<String>,
        detail: String,
    },
    /// kubectl could not be started at all. Not retryable as is.
    #[error("cannot run `{}`: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    /// A kubectl command did not finish in time and was killed. Retryable.
    #[error("`{command}` did not finish within {}s and was killed", timeout.as_secs_f64())]
    Timeout { command: String, timeout: Duration },
    /// A kubectl command exited unsuccessfully. Whether retrying helps depends on its stderr.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        command: String,
        status: String,
        stderr: String,
    },
}

/// Names the kubeconfig context a command used.
fn context_label(context: Option<&str>) -> String {
    match context {
        Some(context) => format!("context {context}"),
        None => "kubeconfig's current context".to_owned(),
    }
}
