//! What every handler shares: the store, the token keys, the deny list, the rate limiters,
//! the metrics and the dashboard's per-run cache.

use std::sync::Arc;

use crate::auth::tokens::DenyList;
use crate::auth::tokens::TokenKeys;
use crate::config::ServerConfig;
use crate::db::Db;
use crate::error::ServerError;
use crate::metrics::Metrics;
use crate::problem::ApiError;
use crate::rate_limit::RateLimiter;
use crate::routes::RunFiguresCache;
use crate::runs::host::RunHost;
use crate::runs::pool::RunPool;

/// The application state: cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    tokens: TokenKeys,
    deny_list: DenyList,
    ip_limiter: RateLimiter,
    principal_limiter: RateLimiter,
    metrics: Metrics,
    body_limit: usize,
    cors_origins: Vec<String>,
    host: Arc<dyn RunHost>,
    pool: RunPool,
    /// Names a run whenever its log or job changes (event streams listen).
    feed: tokio::sync::broadcast::Sender<String>,
    /// Becomes true when the server stops (event streams end).
    stopping: tokio::sync::watch::Sender<bool>,
    workspaces_dir: std::path::PathBuf,
    run_figures: RunFiguresCache,
    run_details: crate::runs::cache::DetailCache,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("body_limit", &self.inner.body_limit)
            .field("cors_origins", &self.inner.cors_origins)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens (and migrates) the store at `config.db_path` and starts the run workers.
    pub fn new(config: &ServerConfig, host: Arc<dyn RunHost>) -> Result<AppState, ServerError> {
        if config.body_limit == 0 {
            return Err(ServerError::Config {
                field: "body_limit",
                expected: "at least 1 byte".to_owned(),
                found: "0".to_owned(),
            });
        }
        for origin in &config.cors_origins {
            if axum::http::HeaderValue::from_str(origin).is_err() || !origin.contains("://") {
                return Err(ServerError::Config {
                    field: "cors_origins",
                    expected: "origins like https://app.example.com".to_owned(),
                    found: origin.clone(),
                });
            }
        }
        let db = Db::open(config.db_path.clone())?;
        let (feed, _) = tokio::sync::broadcast::channel(1024);
        let metrics = Metrics::default();
        let pool = RunPool::start(
            Arc::clone(&host),
            config.workers,
            config.max_queued,
            feed.clone(),
            Arc::clone(&metrics.runs),
        )
        .map_err(ServerError::Serve)?;
        let workspaces_dir = config
            .db_path
            .parent()
            .map_or_else(|| "workspaces".into(), |dir| dir.join("workspaces"));
        Ok(AppState {
            inner: Arc::new(Inner {
                db,
                tokens: TokenKeys::new(&config.jwt_secret),
                deny_list: DenyList::default(),
                ip_limiter: RateLimiter::new("client IP", config.per_ip_per_minute),
                principal_limiter: RateLimiter::new("principal", config.per_principal_per_minute),
                metrics,
                body_limit: config.body_limit,
                cors_origins: config.cors_origins.clone(),
                host,
                pool,
                feed,
                stopping: tokio::sync::watch::channel(false).0,
                workspaces_dir,
                run_figures: RunFiguresCache::default(),
                run_details: crate::runs::cache::DetailCache::default(),
            }),
        })
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    pub(crate) fn tokens(&self) -> &TokenKeys {
        &self.inner.tokens
    }

    pub(crate) fn deny_list(&self) -> &DenyList {
        &self.inner.deny_list
    }

    pub(crate) fn ip_limiter(&self) -> &RateLimiter {
        &self.inner.ip_limiter
    }

    pub(crate) fn principal_limiter(&self) -> &RateLimiter {
        &self.inner.principal_limiter
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    pub(crate) fn cors_origins(&self) -> &[String] {
        &self.inner.cors_origins
    }

    pub(crate) fn host(&self) -> &dyn RunHost {
        self.inner.host.as_ref()
    }

    pub(crate) fn pool(&self) -> &RunPool {
        &self.inner.pool
    }

    pub(crate) fn workspaces_dir(&self) -> &std::path::Path {
        &self.inner.workspaces_dir
    }

    /// Tells event streams that run `run_id` changed.
    pub(crate) fn run_changed(&self, run_id: &str) {
        let _ = self.inner.feed.send(run_id.to_owned());
    }

    pub(crate) fn subscribe_runs(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.inner.feed.subscribe()
    }

    pub(crate) fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }

    /// Ends the event streams (they would keep a graceful shutdown waiting forever).
    pub(crate) fn end_streams(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Ends event streams and stops the workers (their runs stay resumable).
    pub(crate) fn stop(&self, grace: std::time::Duration) {
        self.end_streams();
        self.inner.pool.shutdown(grace);
    }

    /// Runs `work` on the blocking pool (engines, agents' checks, argon2).
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        context: &'static str,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| ApiError::internal(context, err))?
    }

    /// The dashboard's per-run figures, kept between requests.
    pub(crate) fn run_figures(&self) -> &RunFiguresCache {
        &self.inner.run_figures
    }

    /// Rendered run details (`GET /api/v1/runs/{id}`), kept until their run changes.
    pub(crate) fn run_details(&self) -> &crate::runs::cache::DetailCache {
        &self.inner.run_details
    }
}
