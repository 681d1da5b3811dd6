//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::Args;
use clap::Parser;
use clap::Subcommand;

/// apiwright: runs standard operating procedures for building APIs, with agents doing the
/// work and gates checking it with real evidence.
#[derive(Debug, Parser)]
#[command(name = "apiwright", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// State database (default: `.apiwright/state.db`, or APIWRIGHT_DB, or apiwright.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// More logging (-v info, -vv debug; `apiwright serve` logs at info by default).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines on stderr as text or as JSON objects (one per line, with the request id of
    /// every request `apiwright serve` answers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, show, validate and export workflows.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Run a workflow (a built-in name or a YAML file), or resume a run.
    Run(RunArgs),
    /// List and inspect runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Approve (or reject) the approval gate or escalation a run waits for, then resume it.
    Approve(ApproveArgs),
    /// Read and write the namespaced memory.
    #[command(subcommand)]
    Memory(MemoryCommand),
    /// The prompts steps were given (and model agents' conversations).
    #[command(subcommand)]
    Prompt(PromptCommand),
    /// Hooks for interactive coding agents.
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Administer the users of `apiwright serve`.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Serve the REST API (`/api/v1`) on the state database; Ctrl-C stops it gracefully.
    Serve(ServeArgs),
    /// Check a running service against its OpenAPI document: contract conformance, OWASP API
    /// security probes, or load against objectives (the evidence gates, standalone).
    #[command(subcommand)]
    Check(CheckCommand),
    /// The live deployments apiwright runs: status, rollback to blue, promote (retire blue),
    /// stop.
    #[command(subcommand)]
    Deploy(DeployCommand),
}

#[derive(Debug, Subcommand)]
pub enum PromptCommand {
    /// Print the rendered prompt of a step of a run (its latest attempt unless narrowed).
    Show {
        /// Run id.
        run: String,
        /// Step id (as in `runs show`), optionally as `PHASE/STEP`.
        step: String,
        /// The attempt of a TDD item (as listed by `runs show`).
        #[arg(long)]
        item: Option<String>,
        /// Attempt number.
        #[arg(long)]
        attempt: Option<u32>,
        /// Also print the model agent's conversation (tool calls and results).
        #[arg(long)]
        transcript: bool,
        /// Print JSON (prompt, transcript and where it was recorded).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Which release is live, which is kept as blue, the proxy's weights and address, and the
    /// deployment's recent history.
    Status {
        #[command(flatten)]
        target: DeploymentArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Return all traffic to blue now (restarting it from its kept release if it was retired)
    /// and stop green.
    Rollback {
        #[command(flatten)]
        target: DeploymentArgs,
        #[arg(long)]
        json: bool,
    },
    /// Keep green and retire blue now (rollback is then no longer instant).
    Promote {
        #[command(flatten)]
        target: DeploymentArgs,
        #[arg(long)]
        json: bool,
    },
    /// Stop the deployment's supervisor, proxy and instances (the releases and state stay; a
    /// later deploy starts it again).
    Stop {
        #[command(flatten)]
        target: DeploymentArgs,
    },
    /// Run a deployment's supervisor in the foreground (started by the deploy gate).
    #[command(hide = true)]
    Daemon {
        #[command(flatten)]
        target: DeploymentArgs,
        /// Address of the proxy on the first deploy.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Debug, Args)]
pub struct DeploymentArgs {
    /// Deployment name (the workflow's api_id); optional when only one deployment exists.
    #[arg(long)]
    pub name: Option<String>,
    /// Directory of deployments (default APIWRIGHT_DEPLOY_DIR, else `.apiwright/deploy`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Every operation with valid and schema-derived invalid requests, with and without
    /// credentials: documented statuses, valid bodies, no 5xx.
    Contract {
        #[command(flatten)]
        target: CheckTarget,
        /// Operations not exercised, as `METHOD /path` (repeatable).
        #[arg(long, value_name = "OPERATION")]
        skip: Vec<String>,
    },
    /// OWASP API Security Top 10 probes (and a secrets scan of `--workspace`).
    Security {
        #[command(flatten)]
        target: CheckTarget,
        /// Lowest severity that fails the check: info, low, medium, high, critical.
        #[arg(long, default_value = "high")]
        fail_on: String,
        /// Directory scanned for committed secrets (none by default).
        #[arg(long, value_name = "DIR")]
        workspace: Option<PathBuf>,
        /// Requests sent in a burst to find a rate limit.
        #[arg(long, value_name = "N")]
        rate_limit_burst: Option<u32>,
    },
    /// Sustained open-loop load at `--rps`, closed-loop stress and a spike, compared with the
    /// objectives.
    Load {
        #[command(flatten)]
        target: CheckTarget,
        /// Sustained rate to offer and require, in requests per second.
        #[arg(long)]
        rps: f64,
        /// Highest acceptable p95 latency, in milliseconds.
        #[arg(long)]
        p95_ms: Option<f64>,
        /// Highest acceptable error rate, in percent.
        #[arg(long)]
        error_rate_percent: Option<f64>,
        /// Highest acceptable resident memory of `--pid`, in MiB.
        #[arg(long, requires = "pid")]
        memory_mb: Option<f64>,
        /// The service's process id, to sample its memory (Linux).
        #[arg(long)]
        pid: Option<u32>,
        /// Seconds of sustained load.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Seconds of closed-loop stress (0 skips it).
        #[arg(long, default_value_t = 5)]
        stress: u64,
        /// Seconds of the spike window (0 skips it).
        #[arg(long, default_value_t = 2)]
        spike: u64,
        /// The spike's rate as a multiple of `--rps`.
        #[arg(long, default_value_t = 10.0)]
        spike_factor: f64,
        /// Seconds of an endurance run at `--rps` with memory growth (0: none).
        #[arg(long, default_value_t = 0)]
        endurance: u64,
        /// Connections of the stress test.
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
}

/// The service a check talks to and how to sign in to it.
#[derive(Debug, Args)]
pub struct CheckTarget {
    /// Base URL of the running service, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    pub url: String,
    /// The OpenAPI document: a file, or a path on the service such as `/openapi.json`.
    #[arg(long)]
    pub openapi: String,
    /// An admin's email (with `--admin-password`), signed in through the documented login.
    #[arg(long, requires = "admin_password", env = "APIWRIGHT_CHECK_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// The admin's password (better given in the environment).
    #[arg(
        long,
        requires = "admin_email",
        env = "APIWRIGHT_CHECK_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// An admin bearer token to use as is.
    #[arg(long, env = "APIWRIGHT_CHECK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// User bearer tokens to use instead of registering users (repeatable; two for the
    /// cross-user probes).
    #[arg(long = "token", value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// Seconds the whole check may take.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Print the full report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// List the built-in workflows.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a workflow's phases, steps and gates.
    Show {
        /// Built-in name or YAML file.
        workflow: String,
        #[arg(long)]
        json: bool,
    },
    /// Validate a workflow file.
    Validate { file: PathBuf },
    /// Print a built-in workflow's YAML (to start your own from it).
    Export {
        name: String,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of the workflow format.
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin user (the first one, or another). The password is read from stdin,
    /// so it never appears in the shell history or the process list.
    Create {
        /// The admin's email address (the login name).
        #[arg(long)]
        email: String,
        /// Read the password from stdin (required: the terminal would echo it).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed to stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// An origin allowed by CORS, like https://app.example.com (repeatable; none: CORS off).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = apiwright_server::ServerConfig::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Requests per minute one client IP may send (0: unlimited).
    #[arg(long, default_value_t = 1200)]
    pub per_ip_per_minute: u32,
    /// Requests per minute one user or API key may send (0: unlimited).
    #[arg(long, default_value_t = 600)]
    pub per_principal_per_minute: u32,
    /// Runs driven at once by the server's workers.
    #[arg(long, default_value_t = apiwright_server::ServerConfig::DEFAULT_WORKERS)]
    pub workers: usize,
    /// Runs that may wait for a worker; more are refused with 503.
    #[arg(long, default_value_t = apiwright_server::ServerConfig::DEFAULT_MAX_QUEUED)]
    pub max_queued: usize,
    /// Seconds a stopping server waits for its workers to checkpoint their runs.
    #[arg(long, default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Built-in workflow name or YAML file.
    #[arg(required_unless_present = "resume")]
    pub workflow: Option<String>,
    /// Resume an interrupted or paused run.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["workflow", "spec", "param", "input", "out"])]
    pub resume: Option<String>,
    /// Requirements spec, stored as the workflow's `spec` input.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Parameter override (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub param: Vec<String>,
    /// Other inputs (repeatable).
    #[arg(long = "input", value_name = "NAME=FILE")]
    pub input: Vec<String>,
    /// Provider for every role: `builtin`, `command`, `openai`, `anthropic` or an agent-CLI
    /// preset (`claude-code`, `codex`, `gemini`, `aider`); default: per-role configuration
    /// (docs/agents.md). Kept with the run for resumes.
    #[arg(long, value_name = "PROVIDER")]
    pub agents: Option<String>,
    /// Approve approval gates automatically.
    #[arg(long)]
    pub yes: bool,
    /// Workspace directory (default `.apiwright/workspaces/RUN`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print events as JSON lines instead of progress.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show a run: phases, steps, gates with evidence, durations.
    Show {
        run: String,
        #[arg(long)]
        json: bool,
    },
    /// Print a run's event log.
    Events {
        run: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Run id.
    pub run: String,
    /// Approval gate id or escalation id.
    pub gate: String,
    /// Reject instead of approve.
    #[arg(long)]
    pub reject: bool,
    /// Why.
    #[arg(long)]
    pub reason: Option<String>,
    /// Who decides (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
    /// Only record the decision; do not resume the run.
    #[arg(long)]
    pub no_resume: bool,
    /// Provider for every role when resuming (default: the one the run was started with).
    #[arg(long, value_name = "PROVIDER")]
    pub agents: Option<String>,
    /// Print events as JSON lines when resuming.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Store a value (JSON if it parses as JSON, else text).
    Store {
        #[arg(long)]
        key: String,
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        value: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        /// Tag (repeatable), e.g. `who=tester`.
        #[arg(long = "tag", value_name = "K=V")]
        tag: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Retrieve one key or every key matching a pattern (`*` one segment, `**` any depth).
    Retrieve {
        #[arg(long, required_unless_present = "pattern", conflicts_with = "pattern")]
        key: Option<String>,
        #[arg(long)]
        pattern: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Find keys whose key or value contains TEXT.
    Search {
        text: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// List keys (under a prefix).
    List {
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every write and delete of a key.
    History {
        #[arg(long)]
        key: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a key (history is kept).
    Delete {
        #[arg(long)]
        key: String,
        #[arg(long = "tag", value_name = "K=V")]
        tag: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// Session id (default: APIWRIGHT_SESSION_ID, else the current session).
    #[arg(long)]
    pub session_id: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Before a task starts.
    PreTask {
        #[arg(long)]
        description: String,
        #[arg(long)]
        task_id: Option<String>,
        #[command(flatten)]
        common: HookArgs,
    },
    /// After a task ends.
    PostTask {
        #[arg(long)]
        task_id: String,
        /// Accepted for compatibility with seed 000's scripts.
        #[arg(long, hide = true)]
        export_metrics: Option<String>,
        #[command(flatten)]
        common: HookArgs,
    },
    /// Before a file is edited.
    PreEdit {
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        common: HookArgs,
    },
    /// After a file was edited.
    PostEdit {
        #[arg(long)]
        file: PathBuf,
        /// Also record the edit in memory at this key.
        #[arg(long)]
        memory_key: Option<String>,
        #[command(flatten)]
        common: HookArgs,
    },
    /// A notification.
    Notify {
        #[arg(long)]
        message: String,
        #[command(flatten)]
        common: HookArgs,
    },
    /// End the session, optionally exporting its events as JSON.
    SessionEnd {
        #[arg(long, alias = "export-workflow", value_name = "FILE")]
        export: Option<PathBuf>,
        #[command(flatten)]
        common: HookArgs,
    },
}
