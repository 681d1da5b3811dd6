//! Errors of the store.

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (includes a busy timeout: retryable).
    #[error("database error while {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database file or its directory could not be created or opened.
    #[error("cannot open state database {path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// A key is malformed (not retryable).
    #[error("invalid memory key `{key}`: expected {expected}")]
    InvalidKey {
        /// The key.
        key: String,
        /// What a key must look like.
        expected: String,
    },
    /// A pattern is malformed (not retryable).
    #[error("invalid key pattern `{pattern}`: expected {expected}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// What a pattern must look like.
        expected: String,
    },
    /// The run does not exist.
    #[error("no run with id `{0}`")]
    UnknownRun(String),
    /// A row with the same unique value exists (not retryable).
    #[error("a row in {table} with `{key}` already exists")]
    Duplicate {
        /// Table name.
        table: String,
        /// The value that is taken (an email, an id).
        key: String,
    },
    /// A stored row could not be decoded (database written by a newer version, or corrupt).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// Table name.
        table: String,
        /// What was wrong.
        detail: String,
    },
}
