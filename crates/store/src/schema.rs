//! Opening the database and applying migrations (tracked with `PRAGMA user_version`).

use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use rusqlite::Connection;

use crate::Durability;
use crate::Store;
use crate::StoreOptions;
use crate::error::Result;
use crate::error::StoreError;
use crate::sql::Context;
use crate::sql::WriteTx;
use crate::sql::corrupt;

/// The migrations, in order: migration `i` (0-based) brings `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_prompts.sql"),
    include_str!("../migrations/0003_server.sql"),
    include_str!("../migrations/0004_server_runs.sql"),
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Statements the store keeps prepared per connection (rusqlite's default of 16 is less than
/// the number of distinct statements, which would make the hot ones re-prepare).
const STATEMENT_CACHE: usize = 64;

pub(crate) fn open(path: &Path, options: &StoreOptions) -> Result<Store> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        // `create_dir_all` is a single `stat` when the directory exists: cheap enough for
        // the per-hook-call open.
        std::fs::create_dir_all(parent).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
    }
    // A file that cannot be opened or created (permissions, a directory in the way…) is not
    // a retryable database error: report it as `Open`.
    let conn = Connection::open(path).map_err(|err| StoreError::Open {
        path: path.display().to_string(),
        source: std::io::Error::other(err),
    })?;
    // The busy timeout first: switching a fresh file to WAL and migrating take locks that
    // another process opening the same file at the same time may hold.
    conn.busy_timeout(options.busy_timeout)
        .ctx("setting the busy timeout")?;
    let synchronous = match options.durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    // journal_mode=WAL is persistent in the file: on an existing WAL database it is a no-op.
    // On a fresh file several processes may race to switch it, and SQLite reports that race
    // as SQLITE_BUSY without consulting the busy handler (a lock upgrade that could
    // deadlock), so it is retried here within the same busy timeout.
    retry_busy(options.busy_timeout, || {
        conn.execute_batch("PRAGMA journal_mode=WAL")
    })
    .ctx("switching to WAL")?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous={synchronous}; PRAGMA foreign_keys=ON;"
    ))
    .ctx("configuring the connection")?;
    prepare(conn, Some(path.to_path_buf()), options.busy_timeout)
}

pub(crate) fn probe(path: &Path) -> Result<()> {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|err| StoreError::Open {
        path: path.display().to_string(),
        source: std::io::Error::other(err),
    })?;
    let version = user_version(&conn)?;
    if version != SCHEMA_VERSION {
        return Err(corrupt(
            "schema",
            format!("expected schema version {SCHEMA_VERSION}, found {version}"),
        ));
    }
    Ok(())
}

/// Whether SQLite reported a lock conflict.
fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs `attempt` until it does not fail with a lock conflict or `timeout` has passed.
fn retry_busy<T>(
    timeout: Duration,
    mut attempt: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(500);
    loop {
        match attempt() {
            Err(err) if is_busy(&err) && start.elapsed() < timeout => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

pub(crate) fn open_in_memory() -> Result<Store> {
    let conn = Connection::open_in_memory().ctx("opening an in-memory database")?;
    conn.execute_batch("PRAGMA foreign_keys=ON;")
        .ctx("configuring the connection")?;
    prepare(conn, None, Duration::ZERO)
}

fn prepare(
    conn: Connection,
    path: Option<std::path::PathBuf>,
    busy_timeout: Duration,
) -> Result<Store> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    migrate(&conn, busy_timeout)?;
    Ok(Store { conn, path })
}

fn user_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .ctx("reading the schema version")
}

/// Brings the schema up to [`SCHEMA_VERSION`]. The common case (already current) costs one
/// `PRAGMA user_version` read and no write lock.
fn migrate(conn: &Connection, busy_timeout: Duration) -> Result<()> {
    // A read can meet the same busy-without-handler race while another process is switching
    // a fresh file to WAL.
    let seen = retry_busy(busy_timeout, || {
        conn.query_row("PRAGMA user_version", [], |row| row.get(0))
    })
    .ctx("reading the schema version")?;
    check_not_newer(seen)?;
    if seen == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = WriteTx::begin(conn)?;
    // Another process may have migrated between our read and our lock: look again.
    let current = user_version(tx.conn())?;
    check_not_newer(current)?;
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let target = index + 1;
        tx.conn()
            .execute_batch(sql)
            .ctx(&format!("applying migration {target}"))?;
        // PRAGMA arguments cannot be bound; `target` is an integer, not user input.
        tx.conn()
            .execute_batch(&format!("PRAGMA user_version = {target}"))
            .ctx("recording the schema version")?;
    }
    tx.commit()
}

fn check_not_newer(version: i64) -> Result<()> {
    if version > SCHEMA_VERSION {
        return Err(corrupt(
            "schema",
            format!(
                "the database has schema version {version} but this apiwright knows only up to \
                 {SCHEMA_VERSION} (written by a newer version?)"
            ),
        ));
    }
    if version < 0 {
        return Err(corrupt(
            "schema",
            format!("negative schema version {version}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_is_migrated_and_reopen_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/state.db");
        let store = Store::open(&path, &StoreOptions::default()).unwrap();
        assert_eq!(user_version(&store.conn).unwrap(), SCHEMA_VERSION);
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let sync: i64 = store
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1); // NORMAL
        drop(store);
        let options = StoreOptions {
            durability: Durability::Full,
            ..StoreOptions::default()
        };
        let store = Store::open(&path, &options).unwrap();
        assert_eq!(user_version(&store.conn).unwrap(), SCHEMA_VERSION);
        let sync: i64 = store
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2); // FULL
        assert_eq!(store.path(), Some(path.as_path()));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path, &StoreOptions::default()).unwrap();
        store
            .conn
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        drop(store);
        let err = Store::open(&path, &StoreOptions::default()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn unopenable_path_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        // The database path is an existing directory.
        let err = Store::open(dir.path(), &StoreOptions::default()).unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");
        // The parent "directory" is a file.
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = Store::open(&file.join("state.db"), &StoreOptions::default()).unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");
    }

    #[test]
    fn in_memory_has_the_schema() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(user_version(&store.conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(store.path(), None);
    }
}
