{{ headline_doc }}
//!
//! The service as a library. [`build_app`] opens the database (applying the embedded
//! migrations), bootstraps the configured admin and assembles the router: the implemented
//! routes under `/api/v1` (see [`resources`]), `/health`, `/metrics`, and the middleware every
//! response passes through. [`serve`] runs the router until a shutdown signal; the binary only
//! reads the configuration and sets up logging.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod list;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod rate_limit;
pub mod resources;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tokio::net::TcpListener;

pub use auth::{bootstrap_admin, ensure_user};
pub use config::AppConfig;
pub use error::StartupError;

/// Everything a handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The configuration the app was built with.
    pub config: Arc<AppConfig>,
    /// The database pool.
    pub db: db::Db,
    /// Signs and verifies access tokens.
    pub tokens: Arc<auth::TokenKeys>,
    /// Request counters per user and per IP.
    pub limiter: Arc<rate_limit::RateLimiter>,
    /// Request counts and latencies.
    pub metrics: Arc<metrics::Metrics>,
}

/// Opens the database, bootstraps the configured admin and builds the router.
pub fn build_app(config: AppConfig) -> Result<Router, StartupError> {
    let db = db::Db::open(&config.database_path, config.db_pool_size)?;
    if let Some(admin) = &config.admin {
        bootstrap_admin(&config, &admin.email, &admin.password)?;
    }
    let state = AppState {
        tokens: Arc::new(auth::TokenKeys::new(&config.jwt_secret)),
        limiter: Arc::new(rate_limit::RateLimiter::per_minute()),
        metrics: Arc::new(metrics::Metrics::default()),
        config: Arc::new(config),
        db,
    };
    let api = resources::routes().layer(from_fn_with_state(state.clone(), middleware::rate_limit));
    Ok(Router::new()
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .merge(api)
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn(middleware::security_headers))
        .layer(from_fn_with_state(state.clone(), middleware::observe))
        .with_state(state))
}

/// Serves the app on `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    config: AppConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let app = build_app(config)?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    tracing::info!("stopped");
    Ok(())
}
