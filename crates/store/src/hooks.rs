//! Hook records: what interactive coding agents report through `apiwright hooks …`.

use crate::Store;
use crate::error::Result;

/// One recorded hook call.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HookRecord {
    /// Row id (increasing).
    pub id: i64,
    /// Session the call belongs to.
    pub session_id: String,
    /// Hook kind: `pre-task`, `post-task`, `pre-edit`, `post-edit`, `notify`, `session-end`.
    pub kind: String,
    /// Arguments of the call.
    pub payload: serde_json::Value,
    /// When (ms since the epoch).
    pub at: i64,
}

impl Store {
    /// Records a hook call (one short transaction); returns its row id.
    pub fn record_hook(&self, session_id: &str, kind: &str, payload: &serde_json::Value) -> Result<i64> {
        unimplemented!("{session_id}{kind}{payload}")
    }

    /// Every hook call of a session, oldest first.
    pub fn hook_records(&self, session_id: &str) -> Result<Vec<HookRecord>> {
        unimplemented!("{session_id}")
    }
}
