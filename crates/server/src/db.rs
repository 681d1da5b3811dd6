//! The state database as the async handlers use it: one connection behind a mutex, used on
//! the blocking thread pool so a slow query never stalls the async workers; and a few more
//! connections for point reads (one indexed row) run in place, where handing the work to
//! another thread would cost more than the query.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;

use apiwright_store::Store;
use apiwright_store::StoreOptions;

use crate::problem::ApiError;

#[derive(Clone)]
pub(crate) struct Db {
    store: Arc<Mutex<Store>>,
    /// Connections for [`Db::point_read`]; as many as the async runtime has workers.
    readers: Arc<[Mutex<Store>]>,
    path: PathBuf,
}

/// Connections kept for point reads.
const READERS: usize = 2;

impl Db {
    pub(crate) fn open(path: PathBuf) -> apiwright_store::Result<Db> {
        let store = Store::open(&path, &StoreOptions::default())?;
        let readers = (0..READERS)
            .map(|_| Store::open(&path, &StoreOptions::default()).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Db {
            store: Arc::new(Mutex::new(store)),
            readers: readers.into(),
            path,
        })
    }

    /// Runs `work` with the store on the blocking pool.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        context: &'static str,
        work: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves the connection usable: SQLite rolls back
            // an unfinished transaction when the next one begins.
            let store = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            work(&store)
        })
        .await
        .map_err(|err| ApiError::internal(context, err))?
    }

    /// Runs `work` — a point read: one indexed row, microseconds — in place on a free reader
    /// connection, or on the blocking pool like [`Db::call`] when every reader is busy.
    pub(crate) async fn point_read<T: Send + 'static>(
        &self,
        context: &'static str,
        work: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        for reader in self.readers.iter() {
            if let Ok(store) = reader.try_lock() {
                return work(&store);
            }
        }
        self.call(context, work).await
    }

    /// Whether the database file still answers a query (a fresh read-only connection).
    pub(crate) async fn probe(&self) -> Result<(), ApiError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || Store::probe(&path))
            .await
            .map_err(|err| ApiError::internal("probing the state database", err))?
            .map_err(|err| {
                tracing::warn!(error = %err, "readiness probe failed");
                ApiError::Unavailable("the state database does not answer".to_owned())
            })
    }
}
