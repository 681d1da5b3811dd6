//! A small JSON notes API (accounts, JWT auth, notes with ownership, an admin listing) that
//! serves as the target of apiwright's evidence gates in tests.
//!
//! Owns: the service, its hand-written OpenAPI 3.1 document ([`OPENAPI_DOCUMENT`]) and its
//! deliberate flaws ([`Flaw`]). The clean service is the positive control: contract, security
//! and load gates must pass on it. A service started with one flaw is a negative control: the
//! matching gate must fail on it.
//!
//! Must not: be used as a template for real services (it is a fixture: passwords are salted
//! SHA-256, the database is one connection), know anything about gates, workflows or runs, or
//! carry more than one flaw at a time. It binds only where its caller's listener is bound.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod admin;
mod auth;
mod db;
mod error;
mod extract;
mod flaw;
mod limit;
mod notes;
mod router;

use std::fmt;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

pub use db::Role;
pub use error::FieldError;
pub use error::TestbedError;
pub use flaw::Flaw;
pub use flaw::UnknownFlaw;
pub use router::DEBUG_PATH;
pub use router::OPENAPI_DOCUMENT;
pub use router::ROUTES;

/// An account created (or promoted to admin) when the service starts.
#[derive(Clone)]
pub struct AdminAccount {
    /// The admin's email (`ADMIN_EMAIL`).
    pub email: String,
    /// The admin's password (`ADMIN_PASSWORD`), at least 8 characters.
    pub password: String,
}

impl fmt::Debug for AdminAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAccount")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to run the service. Start from [`Config::clean`] or [`Config::flawed`].
#[derive(Clone)]
pub struct Config {
    /// The one deliberate flaw, or `None` for the clean service.
    pub flaw: Option<Flaw>,
    /// SQLite file (WAL mode); `None` keeps the data in memory for the life of the process.
    pub database_path: Option<PathBuf>,
    /// HS256 secret for access tokens; `None` draws a random one per process.
    pub jwt_secret: Option<String>,
    /// Requests per minute per signed-in user.
    pub rate_limit_per_user: u32,
    /// Requests per minute per client IP, for anonymous requests and all auth endpoints.
    pub rate_limit_per_ip: u32,
    /// An admin account to create at start.
    pub admin: Option<AdminAccount>,
}

impl Config {
    /// The clean service with default limits (600 per user, 120 per IP), in-memory storage,
    /// a random JWT secret and no admin.
    pub fn clean() -> Config {
        Config {
            flaw: None,
            database_path: None,
            jwt_secret: None,
            rate_limit_per_user: 600,
            rate_limit_per_ip: 120,
            admin: None,
        }
    }

    /// [`Config::clean`] with one flaw.
    pub fn flawed(flaw: Flaw) -> Config {
        Config {
            flaw: Some(flaw),
            ..Config::clean()
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("flaw", &self.flaw)
            .field("database_path", &self.database_path)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("rate_limit_per_user", &self.rate_limit_per_user)
            .field("rate_limit_per_ip", &self.rate_limit_per_ip)
            .field("admin", &self.admin)
            .finish()
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) db: db::Db,
    pub(crate) jwt_secret: Vec<u8>,
    pub(crate) tokens: auth::TokenKeys,
    pub(crate) limiter: limit::RateLimiter,
    /// Reads of single notes so far (the server-error flaw starts failing after a few).
    pub(crate) note_reads: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub(crate) fn has(&self, flaw: Flaw) -> bool {
        self.config.flaw == Some(flaw)
    }
}

/// Opens the database, creates the admin account and builds the router, without serving it
/// (for `tower::ServiceExt::oneshot`-style tests; requests carry no client IP there, so they
/// all share one anonymous rate-limit window).
pub fn router(config: Config) -> Result<axum::Router, TestbedError> {
    let db = db::Db::open(config.database_path.as_deref())?;
    let jwt_secret = config
        .jwt_secret
        .clone()
        .unwrap_or_else(|| auth::random_hex(32))
        .into_bytes();
    let state = AppState(Arc::new(Shared {
        note_reads: std::sync::atomic::AtomicU64::new(0),
        db,
        tokens: auth::TokenKeys::new(&jwt_secret),
        jwt_secret,
        limiter: limit::RateLimiter::new(config.rate_limit_per_user, config.rate_limit_per_ip),
        config,
    }));
    if let Some(admin) = &state.config.admin {
        auth::bootstrap_admin(&state, &admin.email, &admin.password)
            .map_err(TestbedError::Config)?;
    }
    Ok(router::router(state))
}

/// Serves the API on `listener` until the task is dropped or the listener fails.
pub async fn serve(config: Config, listener: tokio::net::TcpListener) -> Result<(), TestbedError> {
    serve_with_shutdown(config, listener, std::future::pending()).await
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns.
pub async fn serve_with_shutdown(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TestbedError> {
    if let Some(flaw) = config.flaw {
        tracing::warn!(%flaw, "serving with a deliberate flaw");
    }
    let app = router(config)?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// The API served on a loopback port by a runtime of its own, for tests and tools that need a
/// real server next to synchronous code. Dropping it stops the server.
#[derive(Debug)]
pub struct Background {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

impl Background {
    /// Binds 127.0.0.1 on a free port and serves `config` there on two worker threads.
    pub fn start(config: Config) -> std::io::Result<Background> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind((
            std::net::Ipv4Addr::LOCALHOST,
            0,
        )))?;
        let address = listener.local_addr()?;
        runtime.spawn(serve(config, listener));
        Ok(Background {
            url: format!("http://{address}"),
            _runtime: runtime,
        })
    }
}
