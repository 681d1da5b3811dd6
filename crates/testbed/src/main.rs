//! `apiwright-testbed`: parses arguments and environment, binds 127.0.0.1:PORT, prints the
//! address and serves.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use apiwright_testbed::AdminAccount;
use apiwright_testbed::Config;
use apiwright_testbed::Flaw;
use clap::Parser;

/// A small JSON notes API for testing apiwright's evidence gates, optionally with one
/// deliberate flaw.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The one deliberate flaw to carry (idor, missing-auth, mass-assignment, no-rate-limit,
    /// injectable-search, verbose-error, undocumented-route, slow-endpoint, schema-violation,
    /// unhealthy, server-error).
    /// An empty value or `none` means the clean service.
    #[arg(long, env = "TESTBED_FLAW", value_parser = parse_flaw)]
    flaw: Option<Selected>,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 0)]
    port: u16,
    /// SQLite file; in memory when absent.
    #[arg(long, env = "DATABASE_PATH")]
    database_path: Option<PathBuf>,
    /// HS256 secret; random per process when absent.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Requests per minute per signed-in user.
    #[arg(long, env = "RATE_LIMIT_PER_USER", default_value_t = 600)]
    rate_limit_per_user: u32,
    /// Requests per minute per client IP (anonymous requests and auth endpoints).
    #[arg(long, env = "RATE_LIMIT_PER_IP", default_value_t = 120)]
    rate_limit_per_ip: u32,
    /// Email of an admin account to create at start (with ADMIN_PASSWORD).
    #[arg(long, env = "ADMIN_EMAIL", requires = "admin_password")]
    admin_email: Option<String>,
    /// Password of that admin account.
    #[arg(
        long,
        env = "ADMIN_PASSWORD",
        hide_env_values = true,
        requires = "admin_email"
    )]
    admin_password: Option<String>,
}

/// What `--flaw` selected: a flaw, or explicitly none.
#[derive(Debug, Clone, Copy)]
struct Selected(Option<Flaw>);

fn parse_flaw(name: &str) -> Result<Selected, apiwright_testbed::UnknownFlaw> {
    match name.trim() {
        "" | "none" => Ok(Selected(None)),
        name => name.parse().map(|flaw| Selected(Some(flaw))),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let admin = match (args.admin_email, args.admin_password) {
        (Some(email), Some(password)) => Some(AdminAccount { email, password }),
        (None, _) | (_, None) => None,
    };
    let config = Config {
        flaw: args.flaw.and_then(|selected| selected.0),
        database_path: args.database_path,
        jwt_secret: args.jwt_secret,
        rate_limit_per_user: args.rate_limit_per_user,
        rate_limit_per_ip: args.rate_limit_per_ip,
        admin,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("apiwright-testbed: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, args.port)).await?;
        let address = listener.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on http://{address}")?;
        stdout.flush()?;
        apiwright_testbed::serve(config, listener).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("apiwright-testbed: {error}");
            ExitCode::FAILURE
        }
    }
}
