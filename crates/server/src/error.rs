//! Errors of starting and administering the server (request errors are `ApiError`s).

use std::net::SocketAddr;

/// What stopped the server from starting or serving, or an admin command from completing.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound (in use, no permission; not retryable as is).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The IO error.
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("serving failed: {0}")]
    Serve(std::io::Error),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] apiwright_store::StoreError),
    /// A configuration value is unusable (not retryable).
    #[error("invalid server configuration: {field}: expected {expected}, found {found}")]
    Config {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: String,
        /// What it was.
        found: String,
    },
    /// The JWT secret file could not be read or written, or is unsafe.
    #[error("JWT secret {path}: {detail}")]
    Secret {
        /// The file.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// A password is too short (not retryable).
    #[error("password too short: expected at least {expected} characters, found {found}")]
    WeakPassword {
        /// The minimum.
        expected: usize,
        /// Its length.
        found: usize,
    },
    /// An email address is not one (not retryable).
    #[error("invalid email `{0}`: expected an address like name@example.com")]
    InvalidEmail(String),
    /// A user with this email exists (not retryable).
    #[error("a user with email `{0}` already exists")]
    EmailTaken(String),
    /// Hashing a password failed.
    #[error("hashing the password failed")]
    Hashing,
    /// A blocking task panicked or was cancelled.
    #[error("internal task failed while {0}")]
    TaskFailed(&'static str),
}
