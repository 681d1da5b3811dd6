//! The namespaced memory: hierarchical `/`-separated keys with JSON or text values, tags
//! (conventionally `who` and `why`) and a history row for every put and delete.

use std::collections::BTreeMap;

use rusqlite::Row;
use rusqlite::params;

use crate::Store;
use crate::error::Result;
use crate::error::StoreError;
use crate::now_ms;
use crate::pattern::KeyPattern;
use crate::sql::Context;
use crate::sql::WriteTx;
use crate::sql::col;
use crate::sql::corrupt;
use crate::sql::query_all;
use crate::sql::query_first;

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
    ///
    /// One exception keeps data intact: a bare integer too large for 64 bits (say a long
    /// numeric id) would silently lose digits as a JSON float, so it stays text.
    pub fn from_text_guess(text: &str) -> Value {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Number(number))
                if number.is_f64() && !text.contains(['.', 'e', 'E']) =>
            {
                Value::Text(text.to_owned())
            }
            Ok(json) => Value::Json(json),
            Err(_) => Value::Text(text.to_owned()),
        }
    }

    /// The value as text: JSON compactly serialized, text as is.
    pub fn to_text(&self) -> String {
        match self {
            Value::Json(json) => json.to_string(),
            Value::Text(text) => text.clone(),
        }
    }

    /// The stored `value_type`.
    fn type_name(&self) -> &'static str {
        match self {
            Value::Json(_) => "json",
            Value::Text(_) => "text",
        }
    }

    /// Decodes stored `value` + `value_type` columns.
    fn decode(table: &str, text: String, value_type: &str) -> Result<Value> {
        match value_type {
            "json" => serde_json::from_str(&text)
                .map(Value::Json)
                .map_err(|err| corrupt(table, format!("value is not JSON: {err}"))),
            "text" => Ok(Value::Text(text)),
            other => Err(corrupt(table, format!("unknown value_type `{other}`"))),
        }
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
    /// Version number this row produced (a delete keeps the version of the value it removed,
    /// so the next put continues counting from it).
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

/// Longest key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// Checks a key: non-empty `/`-separated segments, no empty segment, no `*`, no control
/// characters, at most 1024 bytes.
pub fn validate_key(key: &str) -> Result<()> {
    let problem = if key.is_empty() {
        Some("the key is empty".to_owned())
    } else if key.len() > MAX_KEY_BYTES {
        Some(format!("the key is {} bytes long", key.len()))
    } else if key.split('/').any(str::is_empty) {
        Some("found an empty segment (leading, trailing or doubled `/`)".to_owned())
    } else if key.contains('*') {
        Some("found `*`, which only patterns may use".to_owned())
    } else if key.chars().any(char::is_control) {
        Some("found a control character".to_owned())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(StoreError::InvalidKey {
            key: key.to_owned(),
            expected: format!(
                "non-empty `/`-separated segments without `*` or control characters, at most \
                 {MAX_KEY_BYTES} bytes, like `project/phase-1/agent/result` ({problem})"
            ),
        }),
    }
}

/// Columns of `memory` read by [`entry_from_row`].
const ENTRY_COLUMNS: &str = "key, value, value_type, tags, version, updated_at";

fn encode_tags(tags: &Tags) -> Result<String> {
    serde_json::to_string(tags)
        .map_err(|err| corrupt("memory", format!("cannot encode tags: {err}")))
}

fn decode_tags(table: &str, row: &Row<'_>, idx: usize) -> Result<Tags> {
    let text: String = col(row, table, idx)?;
    serde_json::from_str(&text).map_err(|err| {
        corrupt(
            table,
            format!("tags are not a JSON object of strings: {err}"),
        )
    })
}

fn entry_from_row(row: &Row<'_>) -> Result<MemoryEntry> {
    let value_type: String = col(row, "memory", 2)?;
    Ok(MemoryEntry {
        key: col(row, "memory", 0)?,
        value: Value::decode("memory", col(row, "memory", 1)?, &value_type)?,
        tags: decode_tags("memory", row, 3)?,
        version: col(row, "memory", 4)?,
        updated_at: col(row, "memory", 5)?,
    })
}

fn version_from_row(row: &Row<'_>) -> Result<MemoryVersion> {
    const TABLE: &str = "memory_history";
    let op: String = col(row, TABLE, 2)?;
    let op = match op.as_str() {
        "put" => HistoryOp::Put,
        "delete" => HistoryOp::Delete,
        other => return Err(corrupt(TABLE, format!("unknown op `{other}`"))),
    };
    let value: Option<String> = col(row, TABLE, 3)?;
    let value_type: Option<String> = col(row, TABLE, 4)?;
    let value = match (op, value, value_type) {
        (HistoryOp::Delete, _, _) => None,
        (HistoryOp::Put, Some(value), Some(value_type)) => {
            Some(Value::decode(TABLE, value, &value_type)?)
        }
        (HistoryOp::Put, _, _) => return Err(corrupt(TABLE, "a put row without a value")),
    };
    Ok(MemoryVersion {
        key: col(row, TABLE, 0)?,
        version: col(row, TABLE, 1)?,
        op,
        value,
        tags: decode_tags(TABLE, row, 5)?,
        at: col(row, TABLE, 6)?,
    })
}

/// Applies one put inside an open write transaction (shared by `memory_put` and `commit`);
/// returns the new version.
pub(crate) fn put_in(tx: &WriteTx<'_>, write: &MemoryWrite, now: i64) -> Result<i64> {
    validate_key(&write.key)?;
    let conn = tx.conn();
    let context = "writing memory";
    // The current version, or (after a delete) the last one in the history; history
    // versions only grow, so the newest row by id holds the largest.
    // (Two plain statements rather than one `coalesce` of two subqueries: SQLite re-prepared
    // that form on every execution, about 15% of a commit in a profile.)
    let current: Option<i64> = query_first(
        conn,
        "SELECT version FROM memory WHERE key = ?1",
        [&write.key],
        context,
        |row| col(row, "memory", 0),
    )?;
    let previous = match current {
        Some(version) => version,
        None => query_first(
            conn,
            "SELECT version FROM memory_history WHERE key = ?1 ORDER BY id DESC LIMIT 1",
            [&write.key],
            context,
            |row| col(row, "memory_history", 0),
        )?
        .unwrap_or(0),
    };
    let version = previous + 1;
    let text = write.value.to_text();
    let value_type = write.value.type_name();
    let tags = encode_tags(&write.tags)?;
    conn.prepare_cached(
        "INSERT INTO memory (key, value, value_type, tags, version, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, value_type = excluded.value_type, \
         tags = excluded.tags, version = excluded.version, updated_at = excluded.updated_at",
    )
    .and_then(|mut stmt| stmt.execute(params![write.key, text, value_type, tags, version, now]))
    .ctx(context)?;
    conn.prepare_cached(
        "INSERT INTO memory_history (key, version, op, value, value_type, tags, at) \
         VALUES (?1, ?2, 'put', ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| stmt.execute(params![write.key, version, text, value_type, tags, now]))
    .ctx(context)?;
    Ok(version)
}

impl Store {
    /// Writes a key (one transaction: value, version + 1, history row).
    pub fn memory_put(&self, write: &MemoryWrite) -> Result<MemoryEntry> {
        validate_key(&write.key)?;
        let now = now_ms();
        let tx = WriteTx::begin(&self.conn)?;
        let version = put_in(&tx, write, now)?;
        tx.commit()?;
        Ok(MemoryEntry {
            key: write.key.clone(),
            value: write.value.clone(),
            tags: write.tags.clone(),
            version,
            updated_at: now,
        })
    }

    /// The current value of a key.
    pub fn memory_get(&self, key: &str) -> Result<Option<MemoryEntry>> {
        validate_key(key)?;
        self.memory_exact(key)
    }

    /// The entry of `key`, without validating it (a literal pattern may name no valid key).
    fn memory_exact(&self, key: &str) -> Result<Option<MemoryEntry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM memory WHERE key = ?1");
        query_first(&self.conn, &sql, [key], "reading memory", entry_from_row)
    }

    /// Every current key matching the pattern, sorted by key.
    pub fn memory_match(&self, pattern: &KeyPattern) -> Result<Vec<MemoryEntry>> {
        if pattern.is_literal() {
            return Ok(self.memory_exact(pattern.as_str())?.into_iter().collect());
        }
        let candidates = self.memory_under(pattern.literal_prefix())?;
        Ok(candidates
            .into_iter()
            .filter(|entry| pattern.matches(&entry.key))
            .collect())
    }

    /// Keys whose key or value contains `text` (case-insensitive), sorted by key, at most `limit`.
    ///
    /// Case folding is SQLite's `lower()`, which folds ASCII letters only.
    pub fn memory_search(&self, text: &str, limit: usize) -> Result<Vec<MemoryEntry>> {
        // instr() rather than LIKE: no escaping of `%` and `_` in the needle.
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM memory \
             WHERE instr(lower(key), lower(?1)) > 0 OR instr(lower(value), lower(?1)) > 0 \
             ORDER BY key LIMIT ?2"
        );
        let limit = crate::sql::limit(limit);
        query_all(
            &self.conn,
            &sql,
            params![text, limit],
            "searching memory",
            entry_from_row,
        )
    }

    /// Every current key, or those under `prefix` (a key prefix ending at a segment boundary:
    /// `a/b` lists `a/b` and `a/b/...`, not `a/bc`), sorted by key.
    pub fn memory_list(&self, prefix: Option<&str>) -> Result<Vec<MemoryEntry>> {
        // A trailing `/` (`a/b/`) means the same as `a/b`.
        self.memory_under(prefix.unwrap_or("").trim_end_matches('/'))
    }

    /// Every key equal to `prefix` or under `prefix/` (everything if `prefix` is empty).
    fn memory_under(&self, prefix: &str) -> Result<Vec<MemoryEntry>> {
        let context = "listing memory";
        if prefix.is_empty() {
            let sql = format!("SELECT {ENTRY_COLUMNS} FROM memory ORDER BY key");
            return query_all(&self.conn, &sql, [], context, entry_from_row);
        }
        // Keys starting with `prefix/` are exactly those in [`prefix/`, `prefix0`) in binary
        // collation ('0' follows '/'): an index range scan, with no LIKE escaping to get wrong.
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM memory \
             WHERE key = ?1 OR (key >= ?2 AND key < ?3) ORDER BY key"
        );
        let (low, high) = (format!("{prefix}/"), format!("{prefix}0"));
        query_all(
            &self.conn,
            &sql,
            params![prefix, low, high],
            context,
            entry_from_row,
        )
    }

    /// Every put and delete of a key, oldest first.
    pub fn memory_history(&self, key: &str) -> Result<Vec<MemoryVersion>> {
        validate_key(key)?;
        query_all(
            &self.conn,
            "SELECT key, version, op, value, value_type, tags, at FROM memory_history \
             WHERE key = ?1 ORDER BY id",
            [key],
            "reading memory history",
            version_from_row,
        )
    }

    /// Deletes a key (keeping a history row); `false` if it did not exist.
    pub fn memory_delete(&self, key: &str, tags: &Tags) -> Result<bool> {
        validate_key(key)?;
        let context = "deleting memory";
        let tags = encode_tags(tags)?;
        let tx = WriteTx::begin(&self.conn)?;
        let conn = tx.conn();
        let removed: Vec<i64> = query_all(
            conn,
            "DELETE FROM memory WHERE key = ?1 RETURNING version",
            [key],
            context,
            |row| col(row, "memory", 0),
        )?;
        let Some(version) = removed.first() else {
            return Ok(false);
        };
        conn.prepare_cached(
            "INSERT INTO memory_history (key, version, op, value, value_type, tags, at) \
             VALUES (?1, ?2, 'delete', NULL, NULL, ?3, ?4)",
        )
        .and_then(|mut stmt| stmt.execute(params![key, version, tags, now_ms()]))
        .ctx(context)?;
        tx.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
