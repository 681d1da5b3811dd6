//! Small SQLite helpers shared by the modules: error context, the write transaction guard,
//! and decoding of columns into [`StoreError::Corrupt`] on bad rows.

use rusqlite::Connection;
use rusqlite::Params;
use rusqlite::Row;
use rusqlite::types::FromSql;

use crate::error::Result;
use crate::error::StoreError;

/// Attaches "what the store was doing" to a SQLite error.
pub(crate) trait Context<T> {
    /// Maps the error to [`StoreError::Sqlite`] with `context`.
    fn ctx(self, context: &str) -> Result<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, context: &str) -> Result<T> {
        self.map_err(|source| StoreError::Sqlite {
            context: context.to_owned(),
            source,
        })
    }
}

/// A `Corrupt` error for `table`.
pub(crate) fn corrupt(table: &str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: table.to_owned(),
        detail: detail.into(),
    }
}

/// Reads column `idx` of a row of `table`: a value of the wrong type (or out of range) is
/// [`StoreError::Corrupt`]; any other failure stays a SQLite error.
pub(crate) fn col<T: FromSql>(row: &Row<'_>, table: &str, idx: usize) -> Result<T> {
    row.get::<_, T>(idx).map_err(|source| match source {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => corrupt(table, format!("column {idx}: {source}")),
        source => StoreError::Sqlite {
            context: format!("reading a row of {table}"),
            source,
        },
    })
}

/// Parses a JSON column.
pub(crate) fn json_col(row: &Row<'_>, table: &str, idx: usize) -> Result<serde_json::Value> {
    let text: String = col(row, table, idx)?;
    serde_json::from_str(&text)
        .map_err(|err| corrupt(table, format!("column {idx} is not JSON: {err}")))
}

/// A write transaction started with `BEGIN IMMEDIATE`; rolled back on drop unless committed.
///
/// Why not `rusqlite::Transaction`: `Store::conn` is not `mut` (a `Store` is used through
/// `&self`), so `transaction_with_behavior` is unavailable, and `unchecked_transaction` /
/// `Transaction::new_unchecked` re-parse `BEGIN …`/`COMMIT` on every call through
/// `execute_batch`. This guard runs both from the prepared-statement cache (commit is on the
/// engine's hot path) and takes the write lock up front: with a deferred transaction, a
/// read-then-write could fail with `SQLITE_BUSY_SNAPSHOT` without ever waiting on the busy
/// timeout, whereas `BEGIN IMMEDIATE` waits for the lock (up to the busy timeout) before
/// reading anything. A busy timeout that expires surfaces as [`StoreError::Sqlite`].
/// Nesting is impossible by construction: every public method opens at most one.
pub(crate) struct WriteTx<'c> {
    conn: &'c Connection,
    committed: bool,
}

impl<'c> WriteTx<'c> {
    /// `BEGIN IMMEDIATE`.
    pub(crate) fn begin(conn: &'c Connection) -> Result<WriteTx<'c>> {
        conn.prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut stmt| stmt.execute([]))
            .ctx("beginning a write transaction")?;
        Ok(WriteTx {
            conn,
            committed: false,
        })
    }

    /// The connection, for statements inside the transaction.
    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }

    /// `COMMIT`.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.conn
            .prepare_cached("COMMIT")
            .and_then(|mut stmt| stmt.execute([]))
            .ctx("committing")?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        // SQLite may already have rolled back by itself (for example after SQLITE_FULL), in
        // which case the connection is back in autocommit mode and there is nothing to undo.
        if !self.committed && !self.conn.is_autocommit() {
            // Nothing sensible to do if the rollback itself fails: the connection then keeps
            // the transaction open and the next BEGIN reports the problem.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// `usize` limit → SQL integer (saturating).
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Runs a cached query and decodes every row.
pub(crate) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    context: &str,
    decode: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).ctx(context)?;
    let mut rows = stmt.query(params).ctx(context)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().ctx(context)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Runs a cached query and decodes its first row, if any.
pub(crate) fn query_first<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    context: &str,
    decode: impl FnOnce(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).ctx(context)?;
    let mut rows = stmt.query(params).ctx(context)?;
    match rows.next().ctx(context)? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}
