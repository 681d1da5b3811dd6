//! SQLite storage: one connection behind a mutex, held only for the statements of one
//! operation. Owns the schema and every SQL statement of the service.

use std::path::Path;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::OptionalExtension;
use rusqlite::Row;
use rusqlite::TransactionBehavior;
use rusqlite::params;
use serde::Deserialize;
use serde::Serialize;

use crate::error::ApiError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    salt TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('member', 'admin')),
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    pinned INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_owner ON notes (owner_id, id);
";

/// How long a statement waits for another connection's (or process's) lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `operation` again while SQLite answers `SQLITE_BUSY` without having waited (the
/// journal-mode switch does not always call the busy handler), for up to [`BUSY_TIMEOUT`].
fn retry_while_busy<T>(mut operation: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match operation() {
            Err(rusqlite::Error::SqliteFailure(error, message))
                if matches!(
                    error.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                if std::time::Instant::now() >= deadline {
                    return Err(rusqlite::Error::SqliteFailure(error, message));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// RFC 3339 UTC timestamp with milliseconds, computed by SQLite.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

const USER_COLUMNS: &str = "id, email, role, created_at, token_version, password_hash, salt";
const NOTE_COLUMNS: &str = "id, owner_id, title, body, pinned, created_at, updated_at";
/// Kept apart so a 404 can name the statement that found nothing (for the `verbose-error` flaw).
pub(crate) const NOTE_BY_ID: &str =
    "SELECT id, owner_id, title, body, pinned, created_at, updated_at FROM notes WHERE id = ?1";

/// A statement that failed, with its SQL kept for the logs.
#[derive(Debug)]
pub(crate) struct DbError {
    pub(crate) sql: String,
    pub(crate) source: rusqlite::Error,
}

impl DbError {
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(
            &self.source,
            rusqlite::Error::SqliteFailure(error, _)
                if error.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        )
    }
}

impl From<DbError> for ApiError {
    #[track_caller]
    fn from(error: DbError) -> ApiError {
        ApiError::internal(&error.source).with_sql(&error.sql)
    }
}

fn failed(sql: &str) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
    move |source| DbError {
        sql: sql.to_owned(),
        source,
    }
}

/// What a user may do beyond their own notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Signs in and manages their own notes.
    Member,
    /// Also sees every note and the user list.
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Role {
        if text == "admin" {
            Role::Admin
        } else {
            Role::Member
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) role: Role,
    pub(crate) created_at: String,
    pub(crate) token_version: i64,
    pub(crate) password_hash: String,
    pub(crate) salt: String,
}

impl UserRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
        Ok(UserRow {
            id: row.get(0)?,
            email: row.get(1)?,
            role: Role::parse(&row.get::<_, String>(2)?),
            created_at: row.get(3)?,
            token_version: row.get(4)?,
            password_hash: row.get(5)?,
            salt: row.get(6)?,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct NoteRow {
    pub(crate) id: i64,
    pub(crate) owner_id: String,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) pinned: bool,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl NoteRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<NoteRow> {
        Ok(NoteRow {
            id: row.get(0)?,
            owner_id: row.get(1)?,
            title: row.get(2)?,
            body: row.get(3)?,
            pinned: row.get(4)?,
            created_at: row.get(5)?,
            updated_at: row.get(6)?,
        })
    }
}

pub(crate) struct NewUser<'a> {
    pub(crate) id: &'a str,
    pub(crate) email: &'a str,
    pub(crate) password_hash: &'a str,
    pub(crate) salt: &'a str,
    pub(crate) role: Role,
}

pub(crate) struct NoteChanges<'a> {
    pub(crate) title: Option<&'a str>,
    pub(crate) body: Option<&'a str>,
    pub(crate) pinned: Option<bool>,
    pub(crate) owner_id: Option<&'a str>,
}

/// How the search term reaches the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchSql {
    /// A bound parameter with `%`, `_` and `\` escaped (the clean service).
    Bound,
    /// Pasted into the SQL text (the `injectable-search` flaw).
    Concatenated,
}

pub(crate) struct NoteQuery<'a> {
    /// `None` lists every owner's notes (admins).
    pub(crate) owner_id: Option<&'a str>,
    pub(crate) search: Option<&'a str>,
    pub(crate) search_sql: SearchSql,
    pub(crate) limit: u32,
    pub(crate) offset: u32,
}

pub(crate) struct Db {
    connection: Mutex<Connection>,
}

impl Db {
    /// Opens (and creates) the database: a file in WAL mode, or private memory.
    ///
    /// Several processes may open one file at once (blue and green of a deployment): each
    /// waits up to [`BUSY_TIMEOUT`] for the others' locks, the switch to WAL is retried while
    /// another process holds the file, and the schema is created in one immediate
    /// transaction, so a process that starts beside another never fails with `database is
    /// locked`.
    pub(crate) fn open(path: Option<&Path>) -> rusqlite::Result<Db> {
        let mut connection = match path {
            Some(path) => {
                let connection = Connection::open(path)?;
                connection.busy_timeout(BUSY_TIMEOUT)?;
                retry_while_busy(|| {
                    connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                        row.get::<_, String>(0)
                    })
                })?;
                connection.pragma_update(None, "synchronous", "NORMAL")?;
                connection
            }
            None => Connection::open_in_memory()?,
        };
        retry_while_busy(|| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            transaction.execute_batch(SCHEMA)?;
            transaction.commit()
        })?;
        Ok(Db {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        match self.connection.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(crate) fn insert_user(&self, user: &NewUser<'_>) -> Result<UserRow, DbError> {
        let sql = format!(
            "INSERT INTO users (id, email, password_hash, salt, role, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, {NOW}) RETURNING {USER_COLUMNS}"
        );
        self.lock()
            .query_row(
                &sql,
                params![
                    user.id,
                    user.email,
                    user.password_hash,
                    user.salt,
                    user.role.as_str()
                ],
                UserRow::from_row,
            )
            .map_err(failed(&sql))
    }

    /// Makes `email` an admin with this password, creating the account if needed.
    pub(crate) fn upsert_admin(&self, user: &NewUser<'_>) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO users (id, email, password_hash, salt, role, created_at) \
             VALUES (?1, ?2, ?3, ?4, 'admin', {NOW}) \
             ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, \
             salt = excluded.salt, role = 'admin'"
        );
        self.lock()
            .execute(
                &sql,
                params![user.id, user.email, user.password_hash, user.salt],
            )
            .map(drop)
            .map_err(failed(&sql))
    }

    pub(crate) fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
        self.lock()
            .query_row(&sql, [email], UserRow::from_row)
            .optional()
            .map_err(failed(&sql))
    }

    pub(crate) fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        self.lock()
            .query_row(&sql, [id], UserRow::from_row)
            .optional()
            .map_err(failed(&sql))
    }

    pub(crate) fn users(&self) -> Result<Vec<UserRow>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, rowid");
        let connection = self.lock();
        let mut statement = connection.prepare(&sql).map_err(failed(&sql))?;
        let rows = statement
            .query_map([], UserRow::from_row)
            .map_err(failed(&sql))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(failed(&sql))
    }

    pub(crate) fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let sql =
            "INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)";
        self.lock()
            .execute(sql, params![token_hash, user_id, expires_at])
            .map(drop)
            .map_err(failed(sql))
    }

    /// Revokes a live refresh token and returns its user; `None` when the token is unknown,
    /// revoked or expired. One statement, so a token can be spent only once.
    pub(crate) fn spend_refresh_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<String>, DbError> {
        let sql = "UPDATE refresh_tokens SET revoked = 1 \
                   WHERE token_hash = ?1 AND revoked = 0 AND expires_at > ?2 RETURNING user_id";
        self.lock()
            .query_row(sql, params![token_hash, now], |row| row.get(0))
            .optional()
            .map_err(failed(sql))
    }

    /// Revokes every refresh token of the user and invalidates their access tokens.
    pub(crate) fn log_out(&self, user_id: &str) -> Result<(), DbError> {
        let sql = "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?1; \
                   UPDATE users SET token_version = token_version + 1 WHERE id = ?1";
        let connection = self.lock();
        for statement in sql.split("; ") {
            connection
                .execute(statement, [user_id])
                .map_err(failed(statement))?;
        }
        Ok(())
    }

    pub(crate) fn insert_note(
        &self,
        owner_id: &str,
        title: &str,
        body: &str,
        pinned: bool,
    ) -> Result<NoteRow, DbError> {
        let sql = format!(
            "INSERT INTO notes (owner_id, title, body, pinned, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, {NOW}, {NOW}) RETURNING {NOTE_COLUMNS}"
        );
        self.lock()
            .query_row(
                &sql,
                params![owner_id, title, body, pinned],
                NoteRow::from_row,
            )
            .map_err(failed(&sql))
    }

    pub(crate) fn note(&self, id: i64) -> Result<Option<NoteRow>, DbError> {
        self.lock()
            .query_row(NOTE_BY_ID, [id], NoteRow::from_row)
            .optional()
            .map_err(failed(NOTE_BY_ID))
    }

    pub(crate) fn update_note(
        &self,
        id: i64,
        changes: &NoteChanges<'_>,
    ) -> Result<Option<NoteRow>, DbError> {
        let sql = format!(
            "UPDATE notes SET title = coalesce(?2, title), body = coalesce(?3, body), \
             pinned = coalesce(?4, pinned), owner_id = coalesce(?5, owner_id), \
             updated_at = {NOW} WHERE id = ?1 RETURNING {NOTE_COLUMNS}"
        );
        self.lock()
            .query_row(
                &sql,
                params![
                    id,
                    changes.title,
                    changes.body,
                    changes.pinned,
                    changes.owner_id
                ],
                NoteRow::from_row,
            )
            .optional()
            .map_err(failed(&sql))
    }

    pub(crate) fn delete_note(&self, id: i64) -> Result<bool, DbError> {
        let sql = "DELETE FROM notes WHERE id = ?1";
        self.lock()
            .execute(sql, [id])
            .map(|deleted| deleted > 0)
            .map_err(failed(sql))
    }

    /// One page of notes and the number of notes matching in total.
    pub(crate) fn notes(&self, query: &NoteQuery<'_>) -> Result<(Vec<NoteRow>, i64), DbError> {
        let (condition, search_param) = match (query.search, query.search_sql) {
            (None, _) => (
                "(?1 IS NULL OR owner_id = ?1) AND ?2 IS NULL".to_owned(),
                None,
            ),
            (Some(search), SearchSql::Bound) => (
                "(?1 IS NULL OR owner_id = ?1) \
                 AND (title LIKE ?2 ESCAPE '\\' OR body LIKE ?2 ESCAPE '\\')"
                    .to_owned(),
                Some(format!("%{}%", escape_like(search))),
            ),
            (Some(search), SearchSql::Concatenated) => (
                format!(
                    "?2 IS NULL AND title || ' ' || body LIKE '%{search}%' \
                     AND (?1 IS NULL OR owner_id = ?1)"
                ),
                None,
            ),
        };
        let connection = self.lock();
        let count_sql = format!("SELECT count(*) FROM notes WHERE {condition}");
        let total = connection
            .query_row(&count_sql, params![query.owner_id, search_param], |row| {
                row.get(0)
            })
            .map_err(failed(&count_sql))?;
        let sql = format!(
            "SELECT {NOTE_COLUMNS} FROM notes WHERE {condition} ORDER BY id LIMIT ?3 OFFSET ?4"
        );
        let mut statement = connection.prepare(&sql).map_err(failed(&sql))?;
        let rows = statement
            .query_map(
                params![query.owner_id, search_param, query.limit, query.offset],
                NoteRow::from_row,
            )
            .map_err(failed(&sql))?;
        let notes = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(failed(&sql))?;
        Ok((notes, total))
    }
}

/// Makes `%`, `_` and `\` match themselves in a `LIKE ... ESCAPE '\'` pattern.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with_two_owners() -> Db {
        let db = Db::open(None).unwrap();
        db.insert_note("alice", "groceries", "milk", false).unwrap();
        db.insert_note("alice", "100% done", "", true).unwrap();
        db.insert_note("bob", "bob's secret", "groceries", false)
            .unwrap();
        db
    }

    fn titles(db: &Db, owner_id: Option<&str>, search: &str, search_sql: SearchSql) -> Vec<String> {
        let query = NoteQuery {
            owner_id,
            search: Some(search),
            search_sql,
            limit: 20,
            offset: 0,
        };
        let (notes, total) = db.notes(&query).unwrap();
        assert_eq!(total, i64::try_from(notes.len()).unwrap());
        notes.into_iter().map(|note| note.title).collect()
    }

    #[test]
    fn bound_search_stays_within_the_owner_and_escapes_wildcards() {
        let db = db_with_two_owners();
        assert_eq!(
            titles(&db, Some("alice"), "grocer", SearchSql::Bound),
            ["groceries"]
        );
        assert_eq!(
            titles(&db, Some("alice"), "100%", SearchSql::Bound),
            ["100% done"]
        );
        assert_eq!(
            titles(&db, Some("alice"), "0_", SearchSql::Bound),
            Vec::<String>::new()
        );
        assert_eq!(
            titles(&db, Some("alice"), "' OR '1'='1", SearchSql::Bound),
            Vec::<String>::new()
        );
        assert_eq!(titles(&db, None, "grocer", SearchSql::Bound).len(), 2);
    }

    #[test]
    fn concatenated_search_works_for_plain_words_and_is_injectable() {
        let db = db_with_two_owners();
        assert_eq!(
            titles(&db, Some("alice"), "grocer", SearchSql::Concatenated),
            ["groceries"]
        );
        assert_eq!(
            titles(&db, Some("alice"), "' OR '1'='1", SearchSql::Concatenated).len(),
            3
        );
        let query = NoteQuery {
            owner_id: Some("alice"),
            search: Some("'"),
            search_sql: SearchSql::Concatenated,
            limit: 20,
            offset: 0,
        };
        let error = db.notes(&query).unwrap_err();
        assert!(error.sql.contains("LIKE '%'%'"), "{}", error.sql);
    }

    #[test]
    fn a_refresh_token_is_spent_once() {
        let db = Db::open(None).unwrap();
        db.insert_refresh_token("hash", "alice", 100).unwrap();
        assert_eq!(
            db.spend_refresh_token("hash", 50).unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(db.spend_refresh_token("hash", 50).unwrap(), None);
        db.insert_refresh_token("old", "alice", 100).unwrap();
        assert_eq!(db.spend_refresh_token("old", 100).unwrap(), None);
    }
}
