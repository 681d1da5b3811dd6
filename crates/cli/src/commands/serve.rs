//! `apiwright serve`: the REST API on the state database until Ctrl-C (or SIGTERM).

use anyhow::Context as _;

use super::Exit;
use crate::app::ServeArgs;
use crate::context::Context;

/// The JWT secret's file name, next to the state database.
const SECRET_FILE: &str = "server-secret";

pub fn run(context: &Context, args: ServeArgs) -> anyhow::Result<Exit> {
    let secret_path = context
        .db_path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .map_or_else(|| SECRET_FILE.into(), |parent| parent.join(SECRET_FILE));
    let jwt_secret = apiwright_server::JwtSecret::load_or_create(&secret_path)?;
    let config = apiwright_server::ServerConfig {
        listen: args.listen,
        db_path: context.db_path.clone(),
        jwt_secret,
        cors_origins: args.cors_origins,
        body_limit: args.body_limit,
        per_ip_per_minute: args.per_ip_per_minute,
        per_principal_per_minute: args.per_principal_per_minute,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let server = apiwright_server::Server::bind(config).await?;
        let address = server.local_addr()?;
        eprintln!("listening on http://{address}");
        server.run(shutdown_signal()).await?;
        eprintln!("stopped");
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = interrupt.await;
        }
    }
}
