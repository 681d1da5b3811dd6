//! Durable state of apiwright in one SQLite database (`.apiwright/state.db` by default):
//! the namespaced memory (values, tags, full history), run records with their append-only
//! event log, hook records, and the users, API keys and refresh tokens of `apiwright serve`.
//!
//! Every write is a real transaction (`BEGIN IMMEDIATE`, WAL, busy timeout), so many
//! processes can share one file without losing writes. [`Store::commit`] appends a run's
//! events, its memory writes and its new status in one transaction: an event is never
//! recorded without the state it describes, and the reverse.
//!
//! This crate must not interpret events or workflows: event kinds and payloads are opaque
//! JSON to it. It performs no network IO.

#![deny(missing_docs)]

mod error;
mod hooks;
mod memory;
mod pattern;
mod prompts;
mod runs;
mod schema;
mod server_runs;
mod sql;
mod users;

pub use error::Result;
pub use error::StoreError;
pub use hooks::HookRecord;
pub use memory::HistoryOp;
pub use memory::MemoryEntry;
pub use memory::MemoryVersion;
pub use memory::MemoryWrite;
pub use memory::Tags;
pub use memory::Value;
pub use memory::validate_key;
pub use pattern::KeyPattern;
pub use prompts::StepPrompt;
pub use runs::Claim;
pub use runs::Commit;
pub use runs::EventRecord;
pub use runs::NewEvent;
pub use runs::NewRun;
pub use runs::RunRecord;
pub use runs::RunStatus;
pub use runs::held_elsewhere;
pub use server_runs::JobRecord;
pub use server_runs::JobState;
pub use server_runs::RunOrder;
pub use server_runs::RunQuery;
pub use server_runs::ServerRun;
pub use server_runs::WorkflowRecord;
pub use users::ApiKeyMatch;
pub use users::ApiKeyRecord;
pub use users::NewApiKey;
pub use users::NewRefreshToken;
pub use users::NewUser;
pub use users::RefreshTokenRecord;
pub use users::UserRecord;

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit survives the process being killed
    /// (SIGKILL); after a power loss the last commits may be rolled back, never half-applied.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is on disk before it returns.
    Full,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// See [`Durability`].
    pub durability: Durability,
    /// How long a writer waits for another process's lock before failing.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(30),
        }
    }
}

/// A connection to the state database. Not shared between threads: open one per thread
/// (opening is cheap, a few hundred microseconds).
pub struct Store {
    pub(crate) conn: rusqlite::Connection,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating it and its parent directory if needed) the database at `path`,
    /// sets WAL, the busy timeout and the durability, and applies pending migrations.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store> {
        schema::open(path, options)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Store> {
        schema::open_in_memory()
    }

    /// Whether the database at `path` answers a query: it exists (it is not created), opens
    /// read-only and has the schema this build writes. For readiness checks.
    pub fn probe(path: &Path) -> Result<()> {
        schema::probe(path)
    }

    /// The database file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
