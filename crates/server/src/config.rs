//! The server's configuration and its JWT signing secret.

use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::path::PathBuf;

use rand::RngCore as _;

use crate::error::ServerError;

/// How `apiwright serve` runs. No `Default`: the caller decides every field.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port; see `Server::local_addr`).
    pub listen: SocketAddr,
    /// The state database.
    pub db_path: PathBuf,
    /// Signs and checks access tokens (HS256).
    pub jwt_secret: JwtSecret,
    /// Origins allowed by CORS; empty turns CORS off (no CORS headers at all).
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Requests per minute one client IP may send (0: unlimited).
    pub per_ip_per_minute: u32,
    /// Requests per minute one principal (user or API key) may send (0: unlimited).
    pub per_principal_per_minute: u32,
    /// Runs driven at once (at least 1).
    pub workers: usize,
    /// Runs that may wait for a worker; more are refused with 503.
    pub max_queued: usize,
    /// How long a stopping server waits for its workers to record their interruption.
    pub shutdown_grace: std::time::Duration,
}

impl ServerConfig {
    /// The body limit `apiwright serve` uses: 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
    /// Runs driven at once by default: one per core of the machines apiwright targets.
    pub const DEFAULT_WORKERS: usize = 2;
    /// Runs that may wait for a worker by default.
    pub const DEFAULT_MAX_QUEUED: usize = 64;
}

/// The HS256 key. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

/// The shortest secret accepted, in bytes (the HS256 output size).
const MIN_SECRET_BYTES: usize = 32;

impl JwtSecret {
    /// A secret from bytes; refuses fewer than 32.
    pub fn new(bytes: Vec<u8>) -> Result<JwtSecret, ServerError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(ServerError::Config {
                field: "jwt_secret",
                expected: format!("at least {MIN_SECRET_BYTES} bytes"),
                found: format!("{} bytes", bytes.len()),
            });
        }
        Ok(JwtSecret(bytes))
    }

    /// 32 random bytes.
    pub fn generate() -> JwtSecret {
        let mut bytes = vec![0_u8; MIN_SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        JwtSecret(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Reads the secret kept (hex) in `path`, or generates one and writes it there with mode
    /// 0600. A file that others may read (group or other permission bits) is refused.
    pub fn load_or_create(path: &Path) -> Result<JwtSecret, ServerError> {
        let fail = |detail: String| ServerError::Secret {
            path: path.display().to_string(),
            detail,
        };
        match std::fs::metadata(path) {
            Ok(metadata) => {
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(fail(format!(
                        "expected mode 0600 (readable by its owner only), found {mode:04o}"
                    )));
                }
                let text = std::fs::read_to_string(path)
                    .map_err(|err| fail(format!("cannot read it: {err}")))?;
                let bytes = decode_hex(text.trim()).ok_or_else(|| {
                    fail("expected hexadecimal text, found something else".to_owned())
                })?;
                JwtSecret::new(bytes).map_err(|err| fail(err.to_string()))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|err| fail(format!("cannot create its directory: {err}")))?;
                }
                let secret = JwtSecret::generate();
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|err| fail(format!("cannot create it: {err}")))?;
                file.write_all(format!("{}\n", encode_hex(secret.bytes())).as_bytes())
                    .map_err(|err| fail(format!("cannot write it: {err}")))?;
                Ok(secret)
            }
            Err(err) => Err(fail(format!("cannot read it: {err}"))),
        }
    }
}

pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_created_once_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".apiwright/server-secret");
        let first = JwtSecret::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = JwtSecret::load_or_create(&path).unwrap();
        assert_eq!(first.bytes(), second.bytes());
        assert_eq!(format!("{first:?}"), "JwtSecret(<redacted>)");
    }

    #[test]
    fn unsafe_or_short_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server-secret");
        std::fs::write(&path, encode_hex(&[7; 32])).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = JwtSecret::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("found 0644"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "abcd").unwrap();
        let err = JwtSecret::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("at least 32 bytes"), "{err}");
        assert!(JwtSecret::new(vec![1; 31]).is_err());
    }
}
