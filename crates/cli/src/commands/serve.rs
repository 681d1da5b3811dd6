//! `apiwright serve`: the REST API on the state database until Ctrl-C (or SIGTERM); runs
//! started through it are driven exactly as `apiwright run` drives them (same configuration,
//! agents and report).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use apiwright_agents::AnyAgent;
use apiwright_engine::Engine;
use apiwright_server::HostError;
use apiwright_server::RunHost;
use apiwright_workflow::Workflow;

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
        workers: args.workers,
        max_queued: args.max_queued,
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace_secs),
    };
    let host = Arc::new(CliHost {
        context: Context {
            db_path: context.db_path.clone(),
            config: context.config.clone(),
        },
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let server = apiwright_server::Server::bind(config, host).await?;
        let address = server.local_addr()?;
        eprintln!("listening on http://{address}");
        server.run(shutdown_signal()).await?;
        eprintln!("stopped");
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}

/// Engines and agents as `apiwright run` builds them.
struct CliHost {
    context: Context,
}

impl RunHost for CliHost {
    fn engine(&self) -> Result<Engine, HostError> {
        crate::commands::run::build_engine(&self.context)
            .map_err(|err| HostError(format!("{err:#}")))
    }

    fn agents(
        &self,
        workflow: &Workflow,
        provider: Option<&str>,
    ) -> Result<BTreeMap<String, AnyAgent>, HostError> {
        crate::commands::run::resolve_agents(&self.context, workflow, provider)
            .map_err(|err| HostError(format!("{err:#}")))
    }

    fn after_drive(&self, engine: &Engine, run_id: &str) {
        if let Err(err) = crate::commands::run::write_report(engine, run_id) {
            tracing::warn!(run_id, "could not write REPORT.md: {err:#}");
        }
    }
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
