//! The HTTP surface of `apiwright serve`: the REST API under `/api/v1` (memory, analytics,
//! workflows, API keys), authentication (argon2 passwords, JWT access tokens, refresh tokens,
//! API keys), roles (viewer < operator < admin), RFC 9457 problem+json errors, and the
//! operations endpoints (`/healthz`, `/readyz`, `/metrics`), with the cross-cutting layers
//! every response goes through (request ids, security headers, body limit, CORS, rate limits).
//!
//! This crate must not schedule or interpret workflows: it calls the store (and the engine's
//! run reports, for analytics) and turns their answers into HTTP. It keeps secrets only as
//! hashes (passwords as argon2 PHC strings, API keys and refresh tokens as SHA-256), and every
//! route checks a role except the public ones listed in `routes/mod.rs`.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod auth;
mod config;
mod db;
mod error;
mod headers;
mod metrics;
mod problem;
mod rate_limit;
mod routes;
mod runs;
mod state;

pub use auth::Role;
pub use config::JwtSecret;
pub use config::ServerConfig;
pub use error::ServerError;
pub use routes::openapi::openapi;
pub use routes::openapi::openapi_json;
pub use routes::router;
pub use runs::host::HostError;
pub use runs::host::RunHost;
pub use state::AppState;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use apiwright_store::NewUser;
use apiwright_store::Store;
use apiwright_store::StoreOptions;

/// The shortest password `create_admin` accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A bound listener with its application, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown_grace: std::time::Duration,
}

impl Server {
    /// Opens the store, starts the run workers with `host`, queues again the runs a previous
    /// server left unfinished, and binds `config.listen`.
    pub async fn bind(config: ServerConfig, host: Arc<dyn RunHost>) -> Result<Server, ServerError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServerError::Bind {
                address: config.listen,
                source,
            })?;
        let state = AppState::new(&config, host)?;
        let resumed = state
            .db()
            .call("listing unfinished runs", |store| {
                Ok(store.unfinished_jobs()?)
            })
            .await
            .map_err(|_| ServerError::TaskFailed("listing unfinished runs"))?;
        for run_id in resumed {
            tracing::info!(run_id = %run_id, "resuming a run left unfinished by the last server");
            // Forced: these were accepted before; the bound is for new work.
            let _ = state.pool().submit(&run_id, true);
        }
        Ok(Server {
            listener,
            state,
            shutdown_grace: config.shutdown_grace,
        })
    }

    /// The address actually bound (the port chosen when `listen` asked for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.listener.local_addr().map_err(ServerError::Serve)
    }

    /// Serves until `shutdown` completes, then stops accepting and waits for the requests in
    /// flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state.clone();
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let stopping = state.clone();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                // Event streams end now, so the requests in flight can finish.
                stopping.end_streams();
            })
            .await
            .map_err(ServerError::Serve);
        let grace = self.shutdown_grace;
        let workers = state.clone();
        tokio::task::spawn_blocking(move || workers.stop(grace))
            .await
            .map_err(|_| ServerError::TaskFailed("stopping the run workers"))?;
        served
    }
}

/// Binds `config.listen` and serves until `shutdown` completes. Prints nothing.
pub async fn serve(
    config: ServerConfig,
    host: Arc<dyn RunHost>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::bind(config, host).await?.run(shutdown).await
}

/// The email (trimmed) of an account to create, once the password is long enough and the
/// email plausible.
pub(crate) fn check_account(email: &str, password: &str) -> Result<String, ServerError> {
    let found = password.chars().count();
    if found < MIN_PASSWORD_CHARS {
        return Err(ServerError::WeakPassword {
            expected: MIN_PASSWORD_CHARS,
            found,
        });
    }
    let email = email.trim().to_owned();
    if !auth::is_plausible_email(&email) {
        return Err(ServerError::InvalidEmail(email));
    }
    Ok(email)
}

/// The user `create_admin` created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    /// Its id.
    pub id: String,
    /// Its email address.
    pub email: String,
}

/// Creates an admin user in the database at `db_path` (creating the database if needed).
/// Refuses a password shorter than [`MIN_PASSWORD_CHARS`], an email without `@`, and an
/// email that is taken.
pub async fn create_admin(
    db_path: &Path,
    email: &str,
    password: &str,
) -> Result<CreatedUser, ServerError> {
    let email = check_account(email, password)?;
    let password_hash = auth::password::hash(password.to_owned())
        .await
        .map_err(|_| ServerError::Hashing)?;
    let db_path = db_path.to_path_buf();
    let id = auth::secrets::new_id("usr");
    let user = NewUser {
        id: id.clone(),
        email: email.clone(),
        password_hash,
        role: Role::Admin.as_str().to_owned(),
    };
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&db_path, &StoreOptions::default())?;
        store.create_user(&user)
    })
    .await
    .map_err(|_| ServerError::TaskFailed("creating the admin user"))?
    .map_err(|source| match source {
        apiwright_store::StoreError::Duplicate { .. } => ServerError::EmailTaken(email.clone()),
        source => ServerError::Store(source),
    })?;
    Ok(CreatedUser { id, email })
}
