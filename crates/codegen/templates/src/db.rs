//! SQLite: a small pool of connections (WAL, busy timeout, foreign keys on) whose work runs on
//! tokio's blocking threads, the embedded migrations tracked by `PRAGMA user_version`, the
//! seed data, and the write helpers the resource modules share.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior, params_from_iter};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::error::ApiError;

/// Up and down SQL of each migration, in order; migration `n` sets `user_version` to `n`.
const MIGRATIONS: &[(&str, &str)] = &[(
    include_str!("../migrations/0001_init.up.sql"),
    include_str!("../migrations/0001_init.down.sql"),
)];

/// Sample rows (`migrations/seed.sql`), for demos and local development.
const SEED: &str = include_str!("../migrations/seed.sql");

/// Opens a connection configured for concurrent use.
pub fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Applies the migrations the database does not have yet.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(version).unwrap_or(0);
    for (version, (up, _)) in (1_i64..).zip(MIGRATIONS).skip(applied) {
        tx.execute_batch(up)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()
}

/// Reverts every applied migration (the down SQL, newest first).
pub fn migrate_down(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(version).unwrap_or(0);
    let reverted: Vec<_> = (1_i64..).zip(MIGRATIONS).take(applied).collect();
    for (version, (_, down)) in reverted.into_iter().rev() {
        tx.execute_batch(down)?;
        tx.pragma_update(None, "user_version", version - 1)?;
    }
    tx.commit()
}

/// Inserts the sample rows of `migrations/seed.sql`.
pub fn seed(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SEED)?;
    tx.commit()
}

/// A pool of connections to one database file.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Pool>,
}

struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    /// How many connections may be in use at once (the semaphore's permits).
    size: usize,
}

impl Db {
    /// Opens the database and applies the migrations.
    pub fn open(path: &Path, size: usize) -> rusqlite::Result<Self> {
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        let size = size.max(1);
        Ok(Self {
            inner: Arc::new(Pool {
                path: path.to_owned(),
                idle: Mutex::new(vec![conn]),
                permits: Semaphore::new(size),
                size,
            }),
        })
    }

    /// How many connections the pool lends at most (`db_pool_size`, at least 1).
    pub fn max_connections(&self) -> usize {
        self.inner.size
    }

    /// How many connections are lent right now (permits taken); work waiting for one is not
    /// counted.
    pub fn connections_in_use(&self) -> usize {
        self.inner
            .size
            .saturating_sub(self.inner.permits.available_permits())
    }

    /// Runs `work` with a connection on a blocking thread.
    pub async fn call<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("the database pool is closed".to_owned()))?;
        let idle = self.idle().pop();
        let path = self.inner.path.clone();
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let mut conn = match idle {
                Some(conn) => conn,
                None => connect(&path)?,
            };
            let result = work(&mut conn);
            Ok::<_, ApiError>((conn, result))
        })
        .await
        .map_err(|error| ApiError::Internal(format!("database task failed: {error}")))??;
        self.idle().push(conn);
        result
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The current time as stored: RFC 3339 in UTC with microseconds, so text order is time order.
pub fn now() -> String {
    format!("{:.6}", jiff::Timestamp::now())
}

/// The time `ttl` from now, as stored.
pub fn timestamp_after(ttl: Duration) -> Result<String, ApiError> {
    jiff::SignedDuration::try_from(ttl)
        .ok()
        .and_then(|ttl| jiff::Timestamp::now().checked_add(ttl).ok())
        .map(|at| format!("{at:.6}"))
        .ok_or_else(|| ApiError::Internal(format!("a lifetime of {ttl:?} is out of range")))
}

/// A new record id.
pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// `name` as a quoted SQL identifier (table names arrive already written as SQL).
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Inserts a record with a new id, its timestamps, its owner (owned resources) and `values`;
/// returns the id.
pub fn insert(
    conn: &Connection,
    table: &str,
    owner_id: Option<&str>,
    values: Vec<(&'static str, Value)>,
) -> Result<String, ApiError> {
    let id = new_id();
    let now = now();
    let mut columns = vec!["id", "created_at", "updated_at"];
    let mut params = vec![
        Value::Text(id.clone()),
        Value::Text(now.clone()),
        Value::Text(now),
    ];
    if let Some(owner_id) = owner_id {
        columns.push("owner_id");
        params.push(Value::Text(owner_id.to_owned()));
    }
    for (column, value) in values {
        columns.push(column);
        params.push(value);
    }
    let names: Vec<String> = columns.iter().map(|column| quote(column)).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    );
    conn.execute(&sql, params_from_iter(params))?;
    Ok(id)
}

/// Sets `values` (and `updated_at`) on record `id`, restricted to `owner_id`'s records when
/// given; returns whether the record was found.
pub fn update(
    conn: &Connection,
    table: &str,
    id: &str,
    owner_id: Option<&str>,
    values: Vec<(&'static str, Value)>,
) -> Result<bool, ApiError> {
    let mut assignments = vec![format!("{} = ?1", quote("updated_at"))];
    let mut params = vec![Value::Text(now())];
    for (column, value) in values {
        params.push(value);
        assignments.push(format!("{} = ?{}", quote(column), params.len()));
    }
    params.push(Value::Text(id.to_owned()));
    let mut sql = format!(
        "UPDATE {table} SET {} WHERE id = ?{}",
        assignments.join(", "),
        params.len()
    );
    if let Some(owner_id) = owner_id {
        params.push(Value::Text(owner_id.to_owned()));
        sql.push_str(&format!(" AND owner_id = ?{}", params.len()));
    }
    Ok(conn.execute(&sql, params_from_iter(params))? > 0)
}

/// Deletes record `id` (restricted to `owner_id`'s records when given); returns whether it
/// was found. Deleting a record that others refer to is a 409.
pub fn delete(
    conn: &Connection,
    table: &str,
    id: &str,
    owner_id: Option<&str>,
) -> Result<bool, ApiError> {
    let deleted = match owner_id {
        Some(owner_id) => conn.execute(
            &format!("DELETE FROM {table} WHERE id = ?1 AND owner_id = ?2"),
            [id, owner_id],
        )?,
        None => conn.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?,
    };
    Ok(deleted > 0)
}
