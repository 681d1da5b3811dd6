//! The accounts of `apiwright serve`: users, API keys and refresh tokens.
//!
//! Secrets never reach this module in clear: callers pass a password's PHC hash and the
//! SHA-256 of API keys and refresh tokens, and look keys and tokens up by that hash. Roles are
//! text (`viewer`, `operator`, `admin`, checked by the schema); the server interprets them.

use rusqlite::Row;
use rusqlite::params;

use crate::Store;
use crate::error::Result;
use crate::error::StoreError;
use crate::now_ms;
use crate::sql::Context;
use crate::sql::col;
use crate::sql::query_all;
use crate::sql::query_first;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Id chosen by the caller.
    pub id: String,
    /// Unique email address.
    pub email: String,
    /// The password's hash (a PHC string).
    pub password_hash: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
}

/// A stored user.
#[derive(Clone, PartialEq)]
pub struct UserRecord {
    /// Id.
    pub id: String,
    /// Email address.
    pub email: String,
    /// The password's hash (a PHC string).
    pub password_hash: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// When (ms since the epoch).
    pub created_at: i64,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// An API key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Id chosen by the caller.
    pub id: String,
    /// The user the key acts for.
    pub user_id: String,
    /// A label chosen by its creator.
    pub name: String,
    /// SHA-256 of the key (hex).
    pub key_hash: String,
    /// The first characters of the key, shown in lists.
    pub prefix: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
}

/// A stored API key (without its hash).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiKeyRecord {
    /// Id.
    pub id: String,
    /// The user the key acts for.
    pub user_id: String,
    /// Label.
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// An active API key found by its hash, with the role of the user it acts for.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyMatch {
    /// The key.
    pub key: ApiKeyRecord,
    /// The role of the key's user (a key never acts above it).
    pub user_role: String,
}

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Id chosen by the caller.
    pub id: String,
    /// The user it refreshes.
    pub user_id: String,
    /// SHA-256 of the token (hex).
    pub token_hash: String,
    /// When it expires (ms since the epoch).
    pub expires_at: i64,
}

/// A refresh token that was spent (see [`Store::spend_refresh_token`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    /// Id.
    pub id: String,
    /// The user it refreshes.
    pub user_id: String,
    /// When it expires (ms since the epoch).
    pub expires_at: i64,
}

fn user_from_row(row: &Row<'_>) -> Result<UserRecord> {
    const TABLE: &str = "users";
    Ok(UserRecord {
        id: col(row, TABLE, 0)?,
        email: col(row, TABLE, 1)?,
        password_hash: col(row, TABLE, 2)?,
        role: col(row, TABLE, 3)?,
        created_at: col(row, TABLE, 4)?,
    })
}

fn api_key_from_row(row: &Row<'_>) -> Result<ApiKeyRecord> {
    const TABLE: &str = "api_keys";
    Ok(ApiKeyRecord {
        id: col(row, TABLE, 0)?,
        user_id: col(row, TABLE, 1)?,
        name: col(row, TABLE, 2)?,
        prefix: col(row, TABLE, 3)?,
        role: col(row, TABLE, 4)?,
        created_at: col(row, TABLE, 5)?,
        revoked_at: col(row, TABLE, 6)?,
    })
}

const API_KEY_COLUMNS: &str =
    "k.id, k.user_id, k.name, k.prefix, k.role, k.created_at, k.revoked_at";

/// `Duplicate` for a unique or primary key violation, the SQLite error otherwise.
pub(crate) fn unique_violation(
    err: rusqlite::Error,
    table: &str,
    key: &str,
    context: &str,
) -> StoreError {
    const UNIQUE: [i32; 2] = [
        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
        rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
    ];
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) if UNIQUE.contains(&failure.extended_code) => {
            StoreError::Duplicate {
                table: table.to_owned(),
                key: key.to_owned(),
            }
        }
        _ => StoreError::Sqlite {
            context: context.to_owned(),
            source: err,
        },
    }
}

impl Store {
    /// Creates a user; [`StoreError::Duplicate`] when the email (or id) is taken.
    pub fn create_user(&self, user: &NewUser) -> Result<UserRecord> {
        let created_at = now_ms();
        self.conn
            .prepare_cached(
                "INSERT INTO users (id, email, password_hash, role, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    user.id,
                    user.email,
                    user.password_hash,
                    user.role,
                    created_at
                ])
            })
            .map_err(|err| unique_violation(err, "users", &user.email, "creating a user"))?;
        Ok(UserRecord {
            id: user.id.clone(),
            email: user.email.clone(),
            password_hash: user.password_hash.clone(),
            role: user.role.clone(),
            created_at,
        })
    }

    /// The user with this email address.
    pub fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        query_first(
            &self.conn,
            "SELECT id, email, password_hash, role, created_at FROM users WHERE email = ?1",
            [email],
            "reading a user",
            user_from_row,
        )
    }

    /// The user with this id.
    pub fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
        query_first(
            &self.conn,
            "SELECT id, email, password_hash, role, created_at FROM users WHERE id = ?1",
            [id],
            "reading a user",
            user_from_row,
        )
    }

    /// Every user, oldest first.
    pub fn users(&self) -> Result<Vec<UserRecord>> {
        query_all(
            &self.conn,
            "SELECT id, email, password_hash, role, created_at FROM users ORDER BY created_at, id",
            [],
            "listing users",
            user_from_row,
        )
    }

    /// Stores an API key (its hash); [`StoreError::Duplicate`] when the id or hash exists.
    pub fn create_api_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord> {
        let created_at = now_ms();
        self.conn
            .prepare_cached(
                "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, role, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    key.id,
                    key.user_id,
                    key.name,
                    key.key_hash,
                    key.prefix,
                    key.role,
                    created_at
                ])
            })
            .map_err(|err| unique_violation(err, "api_keys", &key.id, "creating an API key"))?;
        Ok(ApiKeyRecord {
            id: key.id.clone(),
            user_id: key.user_id.clone(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            role: key.role.clone(),
            created_at,
            revoked_at: None,
        })
    }

    /// Every API key, revoked ones included, oldest first.
    pub fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        query_all(
            &self.conn,
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys k ORDER BY k.created_at, k.id"),
            [],
            "listing API keys",
            api_key_from_row,
        )
    }

    /// The active (not revoked) API key with this hash, with its user's role.
    pub fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyMatch>> {
        query_first(
            &self.conn,
            &format!(
                "SELECT {API_KEY_COLUMNS}, u.role FROM api_keys k JOIN users u ON u.id = k.user_id \
                 WHERE k.key_hash = ?1 AND k.revoked_at IS NULL"
            ),
            [key_hash],
            "reading an API key",
            |row| {
                Ok(ApiKeyMatch {
                    key: api_key_from_row(row)?,
                    user_role: col(row, "users", 7)?,
                })
            },
        )
    }

    /// Revokes an API key; `false` when there is no such key or it was already revoked.
    pub fn revoke_api_key(&self, id: &str) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            )
            .and_then(|mut stmt| stmt.execute(params![id, now_ms()]))
            .ctx("revoking an API key")?;
        Ok(changed > 0)
    }

    /// Stores a refresh token (its hash).
    pub fn put_refresh_token(&self, token: &NewRefreshToken) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    token.id,
                    token.user_id,
                    token.token_hash,
                    token.expires_at
                ])
            })
            .map_err(|err| {
                unique_violation(err, "refresh_tokens", &token.id, "storing a refresh token")
            })?;
        Ok(())
    }

    /// Revokes the refresh token with this hash if it is active (not revoked, not expired at
    /// `now_ms`) and returns it; `None` otherwise. One statement, so a token is spent once
    /// even when two requests present it at the same time.
    pub fn spend_refresh_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<RefreshTokenRecord>> {
        query_first(
            &self.conn,
            "UPDATE refresh_tokens SET revoked_at = ?2 \
             WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
             RETURNING id, user_id, expires_at",
            params![token_hash, now_ms],
            "spending a refresh token",
            |row| {
                Ok(RefreshTokenRecord {
                    id: col(row, "refresh_tokens", 0)?,
                    user_id: col(row, "refresh_tokens", 1)?,
                    expires_at: col(row, "refresh_tokens", 2)?,
                })
            },
        )
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
