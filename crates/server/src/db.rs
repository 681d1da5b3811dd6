//! The state database as the async handlers use it: one connection behind a mutex, used on
//! the blocking thread pool so a slow query never stalls the async workers.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;

use apiwright_store::Store;
use apiwright_store::StoreOptions;

use crate::problem::ApiError;

#[derive(Clone)]
pub(crate) struct Db {
    store: Arc<Mutex<Store>>,
    path: PathBuf,
}

impl Db {
    pub(crate) fn open(path: PathBuf) -> apiwright_store::Result<Db> {
        let store = Store::open(&path, &StoreOptions::default())?;
        Ok(Db {
            store: Arc::new(Mutex::new(store)),
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
