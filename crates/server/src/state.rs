//! What every handler shares: the store, the token keys, the deny list, the rate limiters,
//! the metrics and the dashboard's per-run cache.

use std::sync::Arc;

use crate::auth::tokens::DenyList;
use crate::auth::tokens::TokenKeys;
use crate::config::ServerConfig;
use crate::db::Db;
use crate::error::ServerError;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::routes::RunFiguresCache;

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
    run_figures: RunFiguresCache,
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
    /// Opens (and migrates) the store at `config.db_path`.
    pub fn new(config: &ServerConfig) -> Result<AppState, ServerError> {
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
        Ok(AppState {
            inner: Arc::new(Inner {
                db,
                tokens: TokenKeys::new(&config.jwt_secret),
                deny_list: DenyList::default(),
                ip_limiter: RateLimiter::new("client IP", config.per_ip_per_minute),
                principal_limiter: RateLimiter::new("principal", config.per_principal_per_minute),
                metrics: Metrics::default(),
                body_limit: config.body_limit,
                cors_origins: config.cors_origins.clone(),
                run_figures: RunFiguresCache::default(),
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

    /// The dashboard's per-run figures, kept between requests.
    pub(crate) fn run_figures(&self) -> &RunFiguresCache {
        &self.inner.run_figures
    }
}
