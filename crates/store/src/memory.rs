//! The namespaced memory: hierarchical `/`-separated keys with JSON or text values, tags
//! (conventionally `who` and `why`) and a history row for every put and delete.

use std::collections::BTreeMap;

use crate::Store;
use crate::error::Result;
use crate::pattern::KeyPattern;

/// Tags attached to a write, for example `who=backend-developer`, `why=run 0193…/step tdd`.
pub type Tags = BTreeMap<String, String>;

/// A stored value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// A JSON document.
    Json(serde_json::Value),
    /// Plain text (anything that is not valid JSON, or asked to be kept as text).
    Text(String),
}

impl Value {
    /// Parses `text` as JSON when it is valid JSON, else keeps it as text.
    pub fn from_text_guess(text: &str) -> Value {
        unimplemented!("{text}")
    }

    /// The value as text: JSON compactly serialized, text as is.
    pub fn to_text(&self) -> String {
        unimplemented!()
    }
}

/// One write into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryWrite {
    /// Full key, for example `api-development/books/phase-1/product-manager/requirements`.
    pub key: String,
    /// The value.
    pub value: Value,
    /// Tags (who wrote it, why).
    pub tags: Tags,
}

/// The current value of a key.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemoryEntry {
    /// Full key.
    pub key: String,
    /// Current value.
    pub value: Value,
    /// Tags of the last write.
    pub tags: Tags,
    /// 1 for the first write, +1 for every later put (a delete then put continues counting).
    pub version: i64,
    /// When the last write happened (ms since the epoch).
    pub updated_at: i64,
}

/// Whether a history row records a put or a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOp {
    /// The key got this value.
    Put,
    /// The key was deleted.
    Delete,
}

/// One row of a key's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemoryVersion {
    /// Full key.
    pub key: String,
    /// Version number this row produced.
    pub version: i64,
    /// Put or delete.
    pub op: HistoryOp,
    /// The value written (`None` for a delete).
    pub value: Option<Value>,
    /// Tags of the write.
    pub tags: Tags,
    /// When (ms since the epoch).
    pub at: i64,
}

/// Checks a key: non-empty `/`-separated segments, no empty segment, no `*`, no control
/// characters, at most 1024 bytes.
pub fn validate_key(key: &str) -> Result<()> {
    unimplemented!("{key}")
}

impl Store {
    /// Writes a key (one transaction: value, version + 1, history row).
    pub fn memory_put(&self, write: &MemoryWrite) -> Result<MemoryEntry> {
        unimplemented!("{write:?}")
    }

    /// The current value of a key.
    pub fn memory_get(&self, key: &str) -> Result<Option<MemoryEntry>> {
        unimplemented!("{key}")
    }

    /// Every current key matching the pattern, sorted by key.
    pub fn memory_match(&self, pattern: &KeyPattern) -> Result<Vec<MemoryEntry>> {
        unimplemented!("{pattern:?}")
    }

    /// Keys whose key or value contains `text` (case-insensitive), sorted by key, at most `limit`.
    pub fn memory_search(&self, text: &str, limit: usize) -> Result<Vec<MemoryEntry>> {
        unimplemented!("{text}{limit}")
    }

    /// Every current key, or those under `prefix` (a key prefix ending at a segment boundary:
    /// `a/b` lists `a/b` and `a/b/...`, not `a/bc`), sorted by key.
    pub fn memory_list(&self, prefix: Option<&str>) -> Result<Vec<MemoryEntry>> {
        unimplemented!("{prefix:?}")
    }

    /// Every put and delete of a key, oldest first.
    pub fn memory_history(&self, key: &str) -> Result<Vec<MemoryVersion>> {
        unimplemented!("{key}")
    }

    /// Deletes a key (keeping a history row); `false` if it did not exist.
    pub fn memory_delete(&self, key: &str, tags: &Tags) -> Result<bool> {
        unimplemented!("{key}{tags:?}")
    }
}
