//! `apiwright-fakemodel`: serves a script file until killed (Ctrl-C or SIGTERM).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::Script;
use apiwright_fakemodel::ServeConfig;
use clap::Parser;

/// A scripted fake language model speaking the OpenAI and Anthropic protocols.
#[derive(Debug, Parser)]
#[command(name = "apiwright-fakemodel", version)]
struct Args {
    /// The script: JSON (`.json`) or YAML.
    #[arg(long)]
    script: PathBuf,
    /// The port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Writes each exchange as a JSON line to this file.
    #[arg(long)]
    log: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = std::error::Error::source(&*error);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let script = Script::from_file(&args.script)?;
    let config = ServeConfig {
        port: args.port,
        log: args.log,
    };
    let model = FakeModel::start_with(script, config).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", model.addr())?;
    stdout.flush()?;
    stopped().await?;
    model.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn stopped() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted,
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn stopped() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
