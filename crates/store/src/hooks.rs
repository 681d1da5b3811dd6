//! Hook records: what interactive coding agents report through `apiwright hooks …`.

use rusqlite::Row;
use rusqlite::params;

use crate::Store;
use crate::error::Result;
use crate::now_ms;
use crate::sql::Context;
use crate::sql::WriteTx;
use crate::sql::col;
use crate::sql::json_col;
use crate::sql::query_all;

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

fn hook_from_row(row: &Row<'_>) -> Result<HookRecord> {
    const TABLE: &str = "hooks";
    Ok(HookRecord {
        id: col(row, TABLE, 0)?,
        session_id: col(row, TABLE, 1)?,
        kind: col(row, TABLE, 2)?,
        payload: json_col(row, TABLE, 3)?,
        at: col(row, TABLE, 4)?,
    })
}

impl Store {
    /// Records a hook call (one short transaction); returns its row id.
    pub fn record_hook(
        &self,
        session_id: &str,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<i64> {
        let context = "recording a hook call";
        let tx = WriteTx::begin(&self.conn)?;
        tx.conn()
            .prepare_cached(
                "INSERT INTO hooks (session_id, kind, payload, at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![session_id, kind, payload.to_string(), now_ms()])
            })
            .ctx(context)?;
        let id = tx.conn().last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Every hook call of a session, oldest first.
    pub fn hook_records(&self, session_id: &str) -> Result<Vec<HookRecord>> {
        query_all(
            &self.conn,
            "SELECT id, session_id, kind, payload, at FROM hooks WHERE session_id = ?1 ORDER BY id",
            [session_id],
            "reading hook calls",
            hook_from_row,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hooks_roundtrip_per_session() {
        let store = Store::open_in_memory().unwrap();
        let a1 = store
            .record_hook("s1", "pre-task", &json!({"task": "x"}))
            .unwrap();
        let b1 = store.record_hook("s2", "notify", &json!("hello")).unwrap();
        let a2 = store
            .record_hook("s1", "post-task", &json!({"ok": true}))
            .unwrap();
        assert!(a1 < b1 && b1 < a2);
        let records = store.hook_records("s1").unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].id, a1);
        assert_eq!(records[0].kind, "pre-task");
        assert_eq!(records[0].payload, json!({"task": "x"}));
        assert_eq!(records[1].id, a2);
        assert_eq!(records[1].session_id, "s1");
        assert!(records[1].at > 0);
        assert!(store.hook_records("nope").unwrap().is_empty());
    }
}
