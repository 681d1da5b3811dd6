//! The current hook session: an explicit id, else the id kept in `<state_dir>/session`,
//! created on first use and removed by `session-end`.
//!
//! This module owns that small file only; it must not touch the store or run anything.

use std::hash::BuildHasher;
use std::io::ErrorKind;
use std::path::Path;
use std::path::PathBuf;

use crate::HookError;

/// Name of the file holding the current session id, inside the state directory.
pub const SESSION_FILE: &str = "session";

/// Where the session id of a hook call comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSource {
    /// `--session-id`, else `APIWRIGHT_SESSION_ID` (read by the caller). Empty means none.
    pub explicit: Option<String>,
    /// Directory holding the `session` file (usually `.apiwright`).
    pub state_dir: PathBuf,
}

/// A resolved session id and whether it is the one kept in the session file.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) from_file: bool,
}

impl SessionSource {
    /// A source with no explicit id.
    pub fn in_dir(state_dir: impl Into<PathBuf>) -> SessionSource {
        SessionSource {
            explicit: None,
            state_dir: state_dir.into(),
        }
    }

    /// The session file.
    pub fn file(&self) -> PathBuf {
        self.state_dir.join(SESSION_FILE)
    }

    /// The id stored in the session file, if any.
    pub fn current(&self) -> Result<Option<String>, HookError> {
        read_id(&self.file())
    }

    /// The explicit id, else the stored one, else a new one (stored).
    pub(crate) fn resolve(&self) -> Result<Session, HookError> {
        if let Some(id) = self
            .explicit
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
        {
            return Ok(Session {
                id: id.to_owned(),
                from_file: false,
            });
        }
        let file = self.file();
        if let Some(id) = read_id(&file)? {
            return Ok(Session {
                id,
                from_file: true,
            });
        }
        let id = create_id(&self.state_dir, &file, &new_session_id())?;
        Ok(Session {
            id,
            from_file: true,
        })
    }

    /// Removes the session file if it still holds `id` (so the next call starts a new
    /// session); an already missing file is fine.
    pub(crate) fn end(&self, id: &str) -> Result<(), HookError> {
        let file = self.file();
        if read_id(&file)?.as_deref() != Some(id) {
            return Ok(());
        }
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(source) => Err(HookError::SessionState { path: file, source }),
        }
    }
}

fn read_id(file: &Path) -> Result<Option<String>, HookError> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let id = text.trim();
            Ok((!id.is_empty()).then(|| id.to_owned()))
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(HookError::SessionState {
            path: file.to_path_buf(),
            source,
        }),
    }
}

/// Stores `id` in `file` unless another process got there first, in which case its id
/// wins: the file is written aside and hard-linked into place (atomic, never replaces).
fn create_id(dir: &Path, file: &Path, id: &str) -> Result<String, HookError> {
    let state_error = |source| HookError::SessionState {
        path: file.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(state_error)?;
    let temp = crate::export::temp_path(file);
    std::fs::write(&temp, format!("{id}\n")).map_err(state_error)?;
    let linked = std::fs::hard_link(&temp, file);
    let result = match linked {
        Ok(()) => Ok(id.to_owned()),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => match read_id(file)? {
            Some(existing) => Ok(existing),
            // An empty file (written by hand): replace it.
            None => std::fs::rename(&temp, file)
                .map(|()| id.to_owned())
                .map_err(state_error),
        },
        // No hard links on this file system: plain rename.
        Err(_) => std::fs::rename(&temp, file)
            .map(|()| id.to_owned())
            .map_err(state_error),
    };
    // Best effort: the temporary name is gone already after a rename.
    let _ = std::fs::remove_file(&temp);
    result
}

/// `s<millis><4 hex>`.
pub(crate) fn new_session_id() -> String {
    let salt =
        std::collections::hash_map::RandomState::new().hash_one((std::process::id(), now_nanos()));
    format!("s{}{:04x}", apiwright_store::now_ms(), salt & 0xffff)
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}
