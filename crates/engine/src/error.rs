//! Errors of the engine.

/// What stopped the engine (failed gates and steps are events, not errors).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed (retryable: run `--resume` again).
    #[error(transparent)]
    Store(#[from] apiwright_store::StoreError),
    /// The run does not exist.
    #[error("no run with id `{0}`")]
    UnknownRun(String),
    /// The run's stored workflow no longer loads (database edited or written by a newer version).
    #[error("run `{run}`: stored workflow does not load: {error}")]
    Workflow {
        /// Run id.
        run: String,
        /// Loader error.
        error: apiwright_workflow::LoadError,
    },
    /// An event in the log cannot be decoded or does not fit (not retryable).
    #[error("run `{run}`: corrupt event log: {detail}")]
    CorruptLog {
        /// Run id.
        run: String,
        /// What is wrong.
        detail: String,
    },
    /// Another live process is executing the run.
    #[error("run `{run}` is being executed by process {pid}; wait for it or stop it first")]
    Busy {
        /// Run id.
        run: String,
        /// The owner.
        pid: i64,
    },
    /// A role has no agent to play it.
    #[error("no agent for role `{role}`: {hint}")]
    NoAgent {
        /// Role id.
        role: String,
        /// How to configure one.
        hint: String,
    },
    /// A parameter override or input is wrong (not retryable).
    #[error("{0}")]
    InvalidRequest(String),
    /// A decision was given for something the run is not waiting for.
    #[error("{0}")]
    NotWaiting(String),
    /// The prompt template failed.
    #[error(transparent)]
    Prompt(#[from] apiwright_agents::PromptError),
    /// The workspace could not be created.
    #[error("cannot create workspace {path}: {source}")]
    Workspace {
        /// Path.
        path: String,
        /// IO error.
        source: std::io::Error,
    },
    /// An engine invariant broke (a bug); the run is left resumable.
    #[error("engine invariant violated: {0}")]
    Invariant(String),
}
