//! The `apiwright` binary: argument parsing, logging setup and exit codes. Each subcommand
//! lives in `commands/`; the work itself is done by the library crates.

mod app;
mod commands;
mod context;
mod output;
mod progress;
mod report_md;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = app::Cli::parse();
    // A server's requests are its log: `serve` starts at info.
    let serving = matches!(cli.command, app::Command::Serve(_));
    init_tracing(cli.global.verbose, cli.global.log_format, serving);
    match commands::dispatch(cli) {
        Ok(code) => code.into(),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn init_tracing(verbose: u8, format: app::LogFormat, serving: bool) {
    let default = match (verbose, serving) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("APIWRIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        app::LogFormat::Text => builder.init(),
        app::LogFormat::Json => builder.json().with_current_span(true).init(),
    }
}
