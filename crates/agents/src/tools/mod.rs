//! The sandboxed tool box a model agent offers its language model while it works on a step:
//! file reading and editing, listing and search confined to the step's workspace, a shell,
//! memory reads and staged writes, and a todo list.
//!
//! Every call yields exactly one [`ToolOutcome`]; a mistake by the model (bad arguments, a
//! path outside the workspace, an edit that does not apply) is an outcome with `is_error`
//! set and a message saying what was expected, never a panic or an `Err`, because the model
//! is the one who must react. Nothing here talks to a model or writes the store: stored
//! values are staged and handed back through [`ToolBox::staged`].

mod args;
mod bash;
mod definitions;
mod files;
mod memory;
mod sandbox;
mod search;
mod todo;

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::time::Duration;

use serde_json::Value;

use crate::request::WriteTarget;
use crate::services::BoundCheck;
use crate::services::MemoryAccess;
use args::Args;
use sandbox::Sandbox;

pub use todo::Todo;
pub use todo::TodoStatus;

/// A tool as offered to the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ToolDefinition {
    /// Tool name, as the model calls it.
    pub name: String,
    /// What the tool does and how to use it well.
    pub description: String,
    /// JSON Schema of the arguments (`type: object`, with `required`).
    pub parameters: Value,
}

/// The result of one tool call, as shown to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// Text for the model.
    pub content: String,
    /// Whether the call failed (the model should change something before trying again).
    pub is_error: bool,
}

impl ToolOutcome {
    pub(crate) fn ok(content: impl Into<String>) -> ToolOutcome {
        ToolOutcome {
            content: content.into(),
            is_error: false,
        }
    }

    pub(crate) fn error(content: impl Into<String>) -> ToolOutcome {
        ToolOutcome {
            content: content.into(),
            is_error: true,
        }
    }
}

impl From<Result<String, String>> for ToolOutcome {
    fn from(result: Result<String, String>) -> ToolOutcome {
        match result {
            Ok(content) => ToolOutcome::ok(content),
            Err(content) => ToolOutcome::error(content),
        }
    }
}

/// Bounds on what the tools do and return.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolLimits {
    /// Whether the `bash` tool is offered.
    pub bash: bool,
    /// Timeout of a command when the model asks for none.
    pub bash_timeout: Duration,
    /// Hard cap on a model-requested `timeout_secs`.
    pub bash_max_timeout: Duration,
    /// Most bytes of any tool's content; longer output keeps its head and tail.
    pub output_limit: usize,
    /// Most lines `read_file` returns per call.
    pub read_limit_lines: usize,
}

impl Default for ToolLimits {
    fn default() -> ToolLimits {
        ToolLimits {
            bash: true,
            bash_timeout: Duration::from_secs(120),
            bash_max_timeout: Duration::from_secs(600),
            output_limit: 30_000,
            read_limit_lines: 2000,
        }
    }
}

/// Everything a tool box is built from.
#[derive(Clone)]
pub struct ToolBoxConfig {
    /// The step's workspace; created when missing.
    pub workspace: PathBuf,
    /// Extra environment for `bash` (e.g. a shared `CARGO_TARGET_DIR`).
    pub env: Vec<(String, String)>,
    /// Limits.
    pub limits: ToolLimits,
    /// Memory reads lent by the engine (`None`: the memory tools say memory is unavailable).
    pub memory: Option<Arc<dyn MemoryAccess>>,
    /// The step's deliverables.
    pub writes: Vec<WriteTarget>,
    /// Key prefix (ending in `/`) under which the step may store keys besides its
    /// deliverables.
    pub namespace: Option<String>,
    /// Checks a deliverable must pass before it is staged.
    pub checks: Vec<BoundCheck>,
}

impl std::fmt::Debug for ToolBoxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolBoxConfig")
            .field("workspace", &self.workspace)
            .field("env", &self.env)
            .field("limits", &self.limits)
            .field("memory", &self.memory.is_some())
            .field("writes", &self.writes)
            .field("namespace", &self.namespace)
            .field("checks", &self.checks)
            .finish()
    }
}

/// What the model stored during the step, for the agent to hand back in its output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Staged {
    /// Deliverables by name.
    pub deliverables: BTreeMap<String, Value>,
    /// Other keys (full key) under the step's namespace.
    pub memory: BTreeMap<String, Value>,
}

#[derive(Debug, Default)]
struct State {
    staged: Staged,
    todos: Vec<Todo>,
    files_changed: BTreeSet<String>,
}

/// The tools of one step. Calls may run concurrently; the staged values, todos and changed
/// files are kept behind one lock.
pub struct ToolBox {
    sandbox: Sandbox,
    env: Vec<(String, String)>,
    limits: ToolLimits,
    memory: Option<Arc<dyn MemoryAccess>>,
    writes: Vec<WriteTarget>,
    namespace: Option<String>,
    checks: Vec<BoundCheck>,
    state: Mutex<State>,
}

impl std::fmt::Debug for ToolBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolBox")
            .field("workspace", &self.sandbox.root())
            .field("limits", &self.limits)
            .field("memory", &self.memory.is_some())
            .field("writes", &self.writes)
            .field("namespace", &self.namespace)
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

/// The tools, in the order they are offered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tool {
    ReadFile,
    WriteFile,
    EditFile,
    ListFiles,
    Glob,
    Grep,
    Bash,
    MemoryStore,
    MemoryRetrieve,
    MemorySearch,
    TodoWrite,
    TodoRead,
}

impl Tool {
    const ALL: [Tool; 12] = [
        Tool::ReadFile,
        Tool::WriteFile,
        Tool::EditFile,
        Tool::ListFiles,
        Tool::Glob,
        Tool::Grep,
        Tool::Bash,
        Tool::MemoryStore,
        Tool::MemoryRetrieve,
        Tool::MemorySearch,
        Tool::TodoWrite,
        Tool::TodoRead,
    ];

    fn name(self) -> &'static str {
        match self {
            Tool::ReadFile => "read_file",
            Tool::WriteFile => "write_file",
            Tool::EditFile => "edit_file",
            Tool::ListFiles => "list_files",
            Tool::Glob => "glob",
            Tool::Grep => "grep",
            Tool::Bash => "bash",
            Tool::MemoryStore => "memory_store",
            Tool::MemoryRetrieve => "memory_retrieve",
            Tool::MemorySearch => "memory_search",
            Tool::TodoWrite => "todo_write",
            Tool::TodoRead => "todo_read",
        }
    }
}

impl ToolBox {
    /// Builds the tool box; fails when the workspace cannot be created or the namespace or
    /// checks do not fit the step.
    pub fn new(config: ToolBoxConfig) -> Result<ToolBox, String> {
        if let Some(namespace) = &config.namespace
            && (namespace.is_empty() || !namespace.ends_with('/'))
        {
            return Err(format!(
                "memory namespace `{namespace}` must be a key prefix ending in `/`"
            ));
        }
        if let Some(check) = config.checks.iter().find(|check| {
            !config
                .writes
                .iter()
                .any(|write| write.name == check.deliverable)
        }) {
            return Err(format!(
                "check `{}` is bound to `{}`, which is not a deliverable of this step",
                check.check.describe(),
                check.deliverable
            ));
        }
        let sandbox = Sandbox::new(&config.workspace)?;
        Ok(ToolBox {
            sandbox,
            env: config.env,
            limits: config.limits,
            memory: config.memory,
            writes: config.writes,
            namespace: config.namespace,
            checks: config.checks,
            state: Mutex::new(State::default()),
        })
    }

    /// The tools offered to the model (`bash` only when the limits allow it).
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.offered()
            .into_iter()
            .map(|tool| definitions::definition(tool, &self.limits))
            .collect()
    }

    /// Runs one tool call. `arguments` is the raw JSON text the model sent (empty means
    /// `{}`). The content is capped at the output limit.
    pub async fn call(&self, name: &str, arguments: &str) -> ToolOutcome {
        let offered = self.offered();
        let outcome = match offered.iter().find(|tool| tool.name() == name) {
            None => ToolOutcome::error(format!(
                "unknown tool `{name}`; the tools are: {}",
                offered
                    .iter()
                    .map(|tool| tool.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(tool) => match Args::parse(arguments) {
                Ok(args) => self.dispatch(*tool, &args).await,
                Err(message) => Err(message),
            }
            .unwrap_or_else(|message| {
                ToolOutcome::error(format!("invalid arguments for `{name}`: {message}"))
            }),
        };
        ToolOutcome {
            content: cap_text(&outcome.content, self.limits.output_limit),
            is_error: outcome.is_error,
        }
    }

    /// Values stored so far.
    pub fn staged(&self) -> Staged {
        self.lock().staged.clone()
    }

    /// The current todo list.
    pub fn todos(&self) -> Vec<Todo> {
        self.lock().todos.clone()
    }

    /// Workspace-relative paths written or edited through the file tools, sorted.
    pub fn files_changed(&self) -> Vec<String> {
        self.lock().files_changed.iter().cloned().collect()
    }

    fn offered(&self) -> Vec<Tool> {
        Tool::ALL
            .into_iter()
            .filter(|tool| *tool != Tool::Bash || self.limits.bash)
            .collect()
    }

    /// `Err` is an argument error, reported with the tool's name.
    async fn dispatch(&self, tool: Tool, args: &Args) -> Result<ToolOutcome, String> {
        let outcome = match tool {
            Tool::ReadFile => files::read_file(
                &self.sandbox,
                &self.limits,
                &args.string("path")?,
                args.opt_usize("offset")?,
                args.opt_usize("limit")?,
            ),
            Tool::WriteFile => {
                let outcome = files::write_file(
                    &self.sandbox,
                    &args.string("path")?,
                    &args.string("content")?,
                );
                self.record_change(outcome)
            }
            Tool::EditFile => {
                let outcome = files::edit_file(
                    &self.sandbox,
                    &files::Edit {
                        path: args.string("path")?,
                        old_string: args.string("old_string")?,
                        new_string: args.string("new_string")?,
                        replace_all: args.opt_bool("replace_all")?.unwrap_or(false),
                    },
                );
                self.record_change(outcome)
            }
            Tool::ListFiles => {
                let path = args.opt_string("path")?.unwrap_or_else(|| ".".into());
                let depth = args.opt_usize("depth")?.unwrap_or(2);
                let sandbox = self.sandbox.clone();
                blocking(move || files::list_files(&sandbox, &path, depth)).await
            }
            Tool::Glob => {
                let pattern = args.string("pattern")?;
                let path = args.opt_string("path")?.unwrap_or_else(|| ".".into());
                let sandbox = self.sandbox.clone();
                blocking(move || search::glob(&sandbox, &pattern, &path)).await
            }
            Tool::Grep => {
                let query = search::GrepQuery {
                    pattern: args.string("pattern")?,
                    path: args.opt_string("path")?.unwrap_or_else(|| ".".into()),
                    glob: args.opt_string("glob")?,
                    ignore_case: args.opt_bool("ignore_case")?.unwrap_or(false),
                };
                let sandbox = self.sandbox.clone();
                blocking(move || search::grep(&sandbox, &query)).await
            }
            Tool::Bash => {
                let command = args.string("command")?;
                let timeout = match args.opt_usize("timeout_secs")? {
                    None => self.limits.bash_timeout,
                    Some(0) => return Err("`timeout_secs` must be at least 1".into()),
                    Some(seconds) => {
                        Duration::from_secs(u64::try_from(seconds).unwrap_or(u64::MAX))
                            .min(self.limits.bash_max_timeout)
                    }
                };
                bash::run(&bash::BashRun {
                    root: self.sandbox.root(),
                    env: &self.env,
                    command: &command,
                    timeout,
                    output_limit: self.limits.output_limit,
                })
                .await
            }
            Tool::MemoryStore => {
                let key = args.string("key")?;
                let value = args.value("value")?.clone();
                match self.memory().store(&key, value) {
                    Ok(memory::Stored::Deliverable { name, key, value }) => {
                        let verb = match self.lock().staged.deliverables.insert(name.clone(), value)
                        {
                            Some(_) => "replaced",
                            None => "stored",
                        };
                        ToolOutcome::ok(format!("{verb} deliverable `{name}` (key `{key}`)"))
                    }
                    Ok(memory::Stored::Memory { key, value }) => {
                        let verb = match self.lock().staged.memory.insert(key.clone(), value) {
                            Some(_) => "replaced",
                            None => "stored",
                        };
                        ToolOutcome::ok(format!("{verb} `{key}`"))
                    }
                    Err(message) => ToolOutcome::error(message),
                }
            }
            Tool::MemoryRetrieve => {
                let key = args.string("key")?;
                let staged = self.staged();
                self.memory().retrieve(&staged, &key).into()
            }
            Tool::MemorySearch => {
                let query = args.string("query")?;
                let limit = match args.opt_usize("limit")? {
                    Some(0) => return Err("`limit` must be at least 1".into()),
                    limit => limit.unwrap_or(10),
                };
                let staged = self.staged();
                self.memory().search(&staged, &query, limit).into()
            }
            Tool::TodoWrite => {
                let todos = todo::parse(args.value("todos")?)?;
                let rendered = todo::render(&todos);
                self.lock().todos = todos;
                ToolOutcome::ok(rendered)
            }
            Tool::TodoRead => ToolOutcome::ok(todo::render(&self.lock().todos)),
        };
        Ok(outcome)
    }

    fn memory(&self) -> memory::Memory<'_> {
        memory::Memory {
            access: self.memory.as_deref(),
            writes: &self.writes,
            namespace: self.namespace.as_deref(),
            checks: &self.checks,
        }
    }

    fn record_change(&self, outcome: Result<(String, String), String>) -> ToolOutcome {
        match outcome {
            Ok((relative, message)) => {
                self.lock().files_changed.insert(relative);
                ToolOutcome::ok(message)
            }
            Err(message) => ToolOutcome::error(message),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated (each update
        // is one insert or assignment), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs filesystem work that may walk a large tree off the async worker threads.
async fn blocking(work: impl FnOnce() -> Result<String, String> + Send + 'static) -> ToolOutcome {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.into(),
        Err(error) => ToolOutcome::error(format!("the tool failed unexpectedly: {error}")),
    }
}

/// Keeps the head and tail of `text` within `limit` bytes, marking what was cut; cuts fall
/// on character boundaries.
pub(crate) fn cap_text(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    // The marker's own length depends on the count; the widest count is the text length.
    let reserve = cut_marker(text.len()).len();
    let keep = limit.saturating_sub(reserve);
    let mut head_end = keep / 2;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - (keep - keep / 2);
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    format!(
        "{}{}{}",
        &text[..head_end],
        cut_marker(tail_start - head_end),
        &text[tail_start..]
    )
}

pub(crate) fn cut_marker(bytes: usize) -> String {
    format!("\n[… {bytes} bytes cut …]\n")
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
