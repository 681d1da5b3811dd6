//! apiwright-hooks: the logic behind `apiwright hooks pre-task|post-task|pre-edit|
//! post-edit|notify|session-end`, called by interactive coding agents around their work.
//! Every call is recorded in the store under the current session; `post-edit
//! --memory-key` also writes memory; `session-end --export` writes the session's records
//! to a file and ends the session; user hook commands from `[hooks]` run after recording.
//!
//! Latency matters (agents call this on every edit): this crate must not start an async
//! runtime or a thread, must not open the store itself (the caller passes it), must not
//! read environment variables (the caller passes the session id), and spawns no process
//! when no user hook is configured for the event. User hooks fail open: they never make
//! a call fail.

#![deny(missing_docs)]

mod export;
mod session;
mod user;

use std::path::Path;
use std::path::PathBuf;

use apiwright_config::HooksConfig;
use apiwright_store::MemoryWrite;
use apiwright_store::Store;
use apiwright_store::StoreError;
use apiwright_store::Tags;
use apiwright_store::Value;
use serde_json::json;

pub use session::SESSION_FILE;
pub use session::SessionSource;
pub use user::OUTPUT_TAIL_BYTES;
pub use user::UserHookResult;
pub use user::run_event_hooks;

/// One `apiwright hooks …` call with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookCall {
    /// A task starts; a task id `task-<millis>` is generated when none is given.
    PreTask {
        /// What the task is.
        description: String,
        /// Its id, if the agent has one.
        task_id: Option<String>,
    },
    /// A task ended.
    PostTask {
        /// Its id.
        task_id: String,
    },
    /// A file is about to be edited.
    PreEdit {
        /// The file, as given.
        file: PathBuf,
    },
    /// A file was edited.
    PostEdit {
        /// The file, as given.
        file: PathBuf,
        /// Memory key at which to record the edit, if any.
        memory_key: Option<String>,
    },
    /// A message for the record.
    Notify {
        /// The message.
        message: String,
    },
    /// The session ends; its records are exported first when asked.
    SessionEnd {
        /// File to write the session's records to.
        export: Option<PathBuf>,
    },
}

impl HookCall {
    /// The hook kind: `pre-task`, `post-task`, `pre-edit`, `post-edit`, `notify`,
    /// `session-end` (as recorded, and as the `[hooks]` key).
    pub fn kind(&self) -> &'static str {
        match self {
            HookCall::PreTask { .. } => "pre-task",
            HookCall::PostTask { .. } => "post-task",
            HookCall::PreEdit { .. } => "pre-edit",
            HookCall::PostEdit { .. } => "post-edit",
            HookCall::Notify { .. } => "notify",
            HookCall::SessionEnd { .. } => "session-end",
        }
    }
}

/// What a hook call did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HookOutcome {
    /// The session the call was recorded under.
    pub session_id: String,
    /// Row id of the hook record.
    pub record_id: i64,
    /// How each configured user hook command went (empty when none is configured).
    pub user_hooks: Vec<UserHookResult>,
    /// The export file written by `session-end --export` (absolute).
    pub exported: Option<PathBuf>,
    /// The task id of `pre-task` (given or generated) and `post-task`.
    pub task_id: Option<String>,
}

/// Why a hook call failed (user hooks never make it fail).
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The store failed, or the memory key is invalid.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session file could not be read or written.
    #[error("session state {}: {source}", path.display())]
    SessionState {
        /// The session file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The export file could not be written.
    #[error("cannot export session {session_id} to {}: {source}", path.display())]
    Export {
        /// The export file.
        path: PathBuf,
        /// The session.
        session_id: String,
        /// The IO error.
        source: std::io::Error,
    },
}

/// `path` made absolute against the current directory (lexically: symlinks are not
/// resolved and the file need not exist); `path` itself when that fails.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Records one hook call under the current session, performs its side effect (memory
/// write, export and end of session) and runs the user hooks configured for its kind.
pub fn run_hook(
    store: &Store,
    config: &HooksConfig,
    session: &SessionSource,
    call: HookCall,
) -> Result<HookOutcome, HookError> {
    if let HookCall::PostEdit {
        memory_key: Some(key),
        ..
    } = &call
    {
        // Fail before recording anything.
        apiwright_store::validate_key(key)?;
    }
    let current = session.resolve()?;
    let session_id = current.id.clone();
    let kind = call.kind();
    let mut hook_env: Vec<(&str, String)> = vec![
        ("APIWRIGHT_HOOK", kind.to_owned()),
        ("APIWRIGHT_SESSION_ID", session_id.clone()),
    ];
    let mut task_id = None;
    let mut exported = None;

    let record_id = match &call {
        HookCall::PreTask {
            description,
            task_id: given,
        } => {
            let given = given.as_deref().map(str::trim).filter(|id| !id.is_empty());
            let id = given.map_or_else(
                || format!("task-{}", apiwright_store::now_ms()),
                str::to_owned,
            );
            let payload = json!({
                "description": description,
                "task_id": id,
                "task_id_generated": given.is_none(),
            });
            let record_id = store.record_hook(&session_id, kind, &payload)?;
            hook_env.push(("APIWRIGHT_DESCRIPTION", description.clone()));
            hook_env.push(("APIWRIGHT_TASK_ID", id.clone()));
            task_id = Some(id);
            record_id
        }
        HookCall::PostTask { task_id: given } => {
            let record_id = store.record_hook(&session_id, kind, &json!({ "task_id": given }))?;
            hook_env.push(("APIWRIGHT_TASK_ID", given.clone()));
            task_id = Some(given.clone());
            record_id
        }
        HookCall::PreEdit { file } => {
            let abs = absolute(file);
            let payload = json!({ "file": path_text(file), "abs_file": path_text(&abs) });
            let record_id = store.record_hook(&session_id, kind, &payload)?;
            hook_env.push(("APIWRIGHT_FILE", path_text(&abs)));
            record_id
        }
        HookCall::PostEdit { file, memory_key } => {
            let abs = absolute(file);
            let bytes = std::fs::metadata(&abs).ok().map(|meta| meta.len());
            let payload = json!({
                "file": path_text(file),
                "abs_file": path_text(&abs),
                "bytes": bytes,
                "memory_key": memory_key,
            });
            let record_id = store.record_hook(&session_id, kind, &payload)?;
            if let Some(key) = memory_key {
                let value = json!({
                    "file": path_text(&abs),
                    "bytes": bytes,
                    "edited_at": apiwright_store::now_ms(),
                    "session": session_id,
                });
                let tags: Tags = [
                    ("who".to_owned(), "hook".to_owned()),
                    ("why".to_owned(), format!("post-edit {}", file.display())),
                ]
                .into_iter()
                .collect();
                store.memory_put(&MemoryWrite {
                    key: key.clone(),
                    value: Value::Json(value),
                    tags,
                })?;
                hook_env.push(("APIWRIGHT_MEMORY_KEY", key.clone()));
            }
            hook_env.push(("APIWRIGHT_FILE", path_text(&abs)));
            record_id
        }
        HookCall::Notify { message } => {
            let record_id = store.record_hook(&session_id, kind, &json!({ "message": message }))?;
            hook_env.push(("APIWRIGHT_MESSAGE", message.clone()));
            record_id
        }
        HookCall::SessionEnd { export } => {
            let abs = export.as_deref().map(absolute);
            let payload = json!({
                "export": export.as_deref().map(path_text),
                "abs_export": abs.as_deref().map(path_text),
            });
            let record_id = store.record_hook(&session_id, kind, &payload)?;
            if let Some(path) = abs {
                export_session(store, &session_id, &path)?;
                hook_env.push(("APIWRIGHT_EXPORT", path_text(&path)));
                exported = Some(path);
            }
            if current.from_file {
                session.end(&session_id)?;
            }
            record_id
        }
    };

    let commands = config.commands_for(kind);
    let user_hooks = if commands.is_empty() {
        Vec::new()
    } else {
        user::run_commands(commands, config.timeout(), &hook_env)
    };
    Ok(HookOutcome {
        session_id,
        record_id,
        user_hooks,
        exported,
        task_id,
    })
}

/// Writes `{ "session_id", "exported_at", "records" }` of a session to `path`
/// atomically, creating its parent directories.
pub fn export_session(store: &Store, session_id: &str, path: &Path) -> Result<(), HookError> {
    let records = store.hook_records(session_id)?;
    let document = export::document(session_id, apiwright_store::now_ms(), &records);
    let export_error = |source| HookError::Export {
        path: path.to_path_buf(),
        session_id: session_id.to_owned(),
        source,
    };
    let mut bytes = serde_json::to_vec_pretty(&document)
        .map_err(|err| export_error(std::io::Error::other(err)))?;
    bytes.push(b'\n');
    export::write_atomic(path, &bytes).map_err(export_error)
}
