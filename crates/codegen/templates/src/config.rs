//! Runtime configuration: [`AppConfig::from_env`] for the binary, [`AppConfig::new`] for tests
//! and embedding. The defaults come from the requirements spec.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::auth;

/// Roles a user can have; `admin` may call every operation and sees every record.
{{ roles_const }}
/// Role of users who register.
pub const DEFAULT_ROLE: &str = "{{ default_role }}";
/// Minimum password length, in characters.
pub const PASSWORD_MIN_LENGTH: usize = {{ password_min }};
/// Maximum password length, in characters (hashing cost is bounded).
pub const PASSWORD_MAX_LENGTH: usize = 1024;
/// Requests per minute per authenticated user.
pub const RATE_LIMIT_PER_USER: u32 = {{ rate_per_user }};
/// Requests per minute per client IP (anonymous requests and credential endpoints).
pub const RATE_LIMIT_PER_IP: u32 = {{ rate_per_ip }};
/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything the service needs to run.
#[derive(Clone)]
pub struct AppConfig {
    /// SQLite database file (`DATABASE_PATH`).
    pub database_path: PathBuf,
    /// HMAC key of access tokens (`JWT_SECRET`, required when `APP_ENV=production`, random
    /// per process otherwise).
    pub jwt_secret: Vec<u8>,
    /// TCP port (`PORT`).
    pub port: u16,
    /// Requests per minute per user (`RATE_LIMIT_PER_USER`).
    pub rate_limit_per_user: u32,
    /// Requests per minute per IP (`RATE_LIMIT_PER_IP`).
    pub rate_limit_per_ip: u32,
    /// Return password reset tokens in the response instead of only issuing them
    /// (`EXPOSE_RESET_TOKENS`; for tests and demos, never in production).
    pub expose_reset_tokens: bool,
    /// Lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_token_ttl: Duration,
    /// Lifetime of password reset tokens.
    pub reset_token_ttl: Duration,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most database connections used at once.
    pub db_pool_size: usize,
    /// Admin account created (or reset) at start (`ADMIN_EMAIL` and `ADMIN_PASSWORD`).
    pub admin: Option<AdminAccount>,
}

/// Credentials of the bootstrapped admin.
#[derive(Clone)]
pub struct AdminAccount {
    /// Email address (the login).
    pub email: String,
    /// Password.
    pub password: String,
}

/// A configuration variable with an unusable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl AppConfig {
    /// The spec's defaults, with a random token secret and the database at `database_path`.
    pub fn new(database_path: impl Into<PathBuf>) -> Self {
        Self {
            database_path: database_path.into(),
            jwt_secret: auth::random_token().into_bytes(),
            port: 8080,
            rate_limit_per_user: RATE_LIMIT_PER_USER,
            rate_limit_per_ip: RATE_LIMIT_PER_IP,
            expose_reset_tokens: false,
            access_token_ttl: Duration::from_secs({{ access_minutes }} * 60),
            refresh_token_ttl: Duration::from_secs({{ refresh_days }} * 24 * 60 * 60),
            reset_token_ttl: Duration::from_secs(30 * 60),
            max_body_bytes: MAX_BODY_BYTES,
            db_pool_size: 8,
            admin: None,
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let path = lookup("DATABASE_PATH").unwrap_or_else(|| "{{ crate_name }}.db".to_owned());
        let mut config = Self::new(path);
        let production = lookup("APP_ENV").is_some_and(|env| env == "production");
        match lookup("JWT_SECRET") {
            Some(secret) if secret.len() >= 32 => config.jwt_secret = secret.into_bytes(),
            Some(_) => return Err(invalid("JWT_SECRET", "must be at least 32 bytes long")),
            None if production => {
                return Err(invalid("JWT_SECRET", "is required when APP_ENV=production"));
            }
            None => {}
        }
        if let Some(port) = parse(&lookup, "PORT")? {
            config.port = port;
        }
        if let Some(limit) = parse(&lookup, "RATE_LIMIT_PER_USER")? {
            config.rate_limit_per_user = limit;
        }
        if let Some(limit) = parse(&lookup, "RATE_LIMIT_PER_IP")? {
            config.rate_limit_per_ip = limit;
        }
        if let Some(expose) = parse(&lookup, "EXPOSE_RESET_TOKENS")? {
            config.expose_reset_tokens = expose;
        }
        config.admin = match (lookup("ADMIN_EMAIL"), lookup("ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => Some(AdminAccount { email, password }),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "ADMIN_EMAIL",
                    "and ADMIN_PASSWORD must be set together",
                ));
            }
        };
        Ok(config)
    }
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppConfig")
            .field("database_path", &self.database_path)
            .field("jwt_secret", &"<redacted>")
            .field("port", &self.port)
            .field("rate_limit_per_user", &self.rate_limit_per_user)
            .field("rate_limit_per_ip", &self.rate_limit_per_ip)
            .field("expose_reset_tokens", &self.expose_reset_tokens)
            .field("admin", &self.admin.as_ref().map(|admin| &admin.email))
            .finish_non_exhaustive()
    }
}

fn invalid(variable: &'static str, message: &'static str) -> ConfigError {
    ConfigError { variable, message }
}

/// Parses an optional variable (`true`/`false` for flags).
fn parse<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<T>, ConfigError> {
    lookup(variable)
        .map(|raw| {
            raw.trim()
                .parse()
                .map_err(|_| invalid(variable, "has an invalid value"))
        })
        .transpose()
}
