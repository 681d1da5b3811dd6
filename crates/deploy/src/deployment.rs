//! A deployment's directory: the releases apiwright keeps (blue of the next deploy), the data
//! blue and green share, the secrets generated once per deployment, the logs, and the state
//! (which release is live, which is kept for rollback, and the history).
//!
//! ```text
//! STATE_DIR/NAME/
//!   releases/ID/        files of each release (release.json describes how to start it)
//!   data/               the database blue and green share
//!   logs/ID.log         each instance's output
//!   secrets.json        0600: generated secrets and the admin account
//!   state.json          live and kept releases, history
//!   daemon.json         0600: the running supervisor's addresses and control token
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use apiwright_probe::session::Login;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::DeployError;
use crate::instance::Launch;

/// How a release is started, as written by whoever made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseManifest {
    pub id: String,
    pub created_unix_ms: u64,
    /// Shell command run in the release directory.
    pub run: String,
    #[serde(default = "default_port_env")]
    pub port_env: String,
    /// Non-secret environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Variables receiving the deployment's kept secrets.
    #[serde(default)]
    pub secret_env: Vec<String>,
    /// Variable receiving the shared database file's path.
    #[serde(default)]
    pub database_env: Option<String>,
    /// Variables through which the service creates the admin account (email, password).
    #[serde(default)]
    pub admin_env: Option<(String, String)>,
    #[serde(default = "default_ready")]
    pub ready: String,
    #[serde(default = "default_startup")]
    pub startup_secs: u64,
    /// The OpenAPI document, relative to the release directory.
    pub openapi: String,
    /// Where the release came from (workspace, run), for people.
    #[serde(default)]
    pub source: String,
}

fn default_port_env() -> String {
    "PORT".into()
}
fn default_ready() -> String {
    "/health".into()
}
fn default_startup() -> u64 {
    120
}

impl ReleaseManifest {
    /// The admin account the release creates at start, when it has one.
    pub fn admin_login(&self, secrets: &Secrets) -> Option<Login> {
        self.admin_env.as_ref().map(|_| Login {
            email: secrets.admin_email.clone(),
            password: secrets.admin_password.clone(),
        })
    }

    /// How to start the release: its environment plus the secrets, the data directory
    /// (`APIWRIGHT_DATA`), the database file in it and the admin account.
    pub fn launch(&self, secrets: &Secrets, data_dir: &Path) -> Launch {
        let mut env: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        for name in &self.secret_env {
            if let Some(value) = secrets.values.get(name) {
                env.push((name.clone(), value.clone()));
            }
        }
        env.push(("APIWRIGHT_DATA".into(), data_dir.display().to_string()));
        if let Some(variable) = &self.database_env {
            env.push((
                variable.clone(),
                data_dir.join("service.db").display().to_string(),
            ));
        }
        if let Some((email, password)) = &self.admin_env {
            env.push((email.clone(), secrets.admin_email.clone()));
            env.push((password.clone(), secrets.admin_password.clone()));
        }
        Launch {
            run: self.run.clone(),
            port_env: self.port_env.clone(),
            env,
            ready: self.ready.clone(),
            startup: Duration::from_secs(self.startup_secs.max(1)),
        }
    }
}

/// Secrets generated once per deployment; never written anywhere else.
#[derive(Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Secrets {
    /// Value per variable name.
    pub values: BTreeMap<String, String>,
    pub admin_email: String,
    pub admin_password: String,
}

impl Secrets {
    /// Fresh secrets for `names` and a fresh admin account (a staging instance's, or a new
    /// deployment's).
    pub fn generate(names: &[String]) -> Secrets {
        Secrets {
            values: names
                .iter()
                .map(|name| (name.clone(), random_secret()))
                .collect(),
            admin_email: format!("admin-{}@apiwright.deploy", random_hex(8)),
            admin_password: format!("Aw-{}-{}", random_hex(12), random_hex(12)),
        }
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .field("admin_email", &self.admin_email)
            .finish_non_exhaustive()
    }
}

/// One thing that happened to the deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_unix_ms: u64,
    /// `deployed`, `rolled_back`, `failed`, `promoted`, `blue_retired`, `rollback`.
    pub kind: String,
    pub release: String,
    pub detail: String,
}

/// What is live and what is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct State {
    /// The release serving all traffic.
    pub live: Option<String>,
    /// The release kept running (or kept on disk) for rollback: blue after a shift.
    pub blue: Option<String>,
    /// When blue is retired unless something else happens first.
    pub blue_retire_at_unix_ms: Option<u64>,
    /// The proxy's port, reused when the supervisor restarts.
    pub proxy_port: Option<u16>,
    pub history: Vec<Event>,
}

/// The addresses of a running supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    pub control_url: String,
    pub proxy_url: String,
    pub token: String,
}

/// Where deployments live unless a gate or command names a directory: `APIWRIGHT_DEPLOY_DIR`,
/// else `.apiwright/deploy` in the current directory.
pub fn default_state_dir() -> PathBuf {
    std::env::var_os("APIWRIGHT_DEPLOY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_dir()
                .unwrap_or_default()
                .join(".apiwright")
                .join("deploy")
        })
}

/// Paths and persistence of one deployment.
#[derive(Debug, Clone)]
pub struct DeploymentDir {
    root: PathBuf,
}

impl DeploymentDir {
    /// `state_dir/name`, created if missing. `name` must be a plain name.
    pub fn open(state_dir: &Path, name: &str) -> Result<DeploymentDir, DeployError> {
        check_name(name)?;
        let root = state_dir.join(name);
        for sub in ["releases", "data", "logs"] {
            create_dir(&root.join(sub))?;
        }
        Ok(DeploymentDir { root })
    }

    /// `state_dir/name` if it exists; nothing is created.
    pub fn existing(state_dir: &Path, name: &str) -> Result<Option<DeploymentDir>, DeployError> {
        check_name(name)?;
        let root = state_dir.join(name);
        Ok(root.is_dir().then_some(DeploymentDir { root }))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn release_dir(&self, id: &str) -> PathBuf {
        self.root.join("releases").join(id)
    }
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.root.join("logs").join(format!("{id}.log"))
    }

    /// A new, empty release directory with an id from the time and a counter.
    pub fn new_release(&self) -> Result<(String, PathBuf), DeployError> {
        let stamp = crate::unix_ms();
        for attempt in 0..1000 {
            let id = format!("r{stamp}-{attempt}");
            let dir = self.release_dir(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok((id, dir)),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(DeployError::Io { path: dir, source }),
            }
        }
        Err(DeployError::Io {
            path: self.root.join("releases"),
            source: std::io::Error::other("no free release id"),
        })
    }

    pub fn manifest(&self, id: &str) -> Result<ReleaseManifest, DeployError> {
        read_json(&self.release_dir(id).join("release.json"))
    }

    pub fn write_manifest(&self, manifest: &ReleaseManifest) -> Result<(), DeployError> {
        write_json(
            &self.release_dir(&manifest.id).join("release.json"),
            manifest,
            false,
        )
    }

    pub fn state(&self) -> Result<State, DeployError> {
        let path = self.root.join("state.json");
        if path.exists() {
            read_json(&path)
        } else {
            Ok(State::default())
        }
    }

    pub fn save_state(&self, state: &State) -> Result<(), DeployError> {
        write_json(&self.root.join("state.json"), state, false)
    }

    /// The deployment's secrets, generated on first use for `names` (and extended when a
    /// later release names more).
    pub fn secrets(&self, names: &[String]) -> Result<Secrets, DeployError> {
        let path = self.root.join("secrets.json");
        let (mut secrets, mut changed) = if path.exists() {
            (read_json(&path)?, false)
        } else {
            (Secrets::generate(&[]), true)
        };
        for name in names {
            if !secrets.values.contains_key(name) {
                secrets.values.insert(name.clone(), random_secret());
                changed = true;
            }
        }
        if changed {
            write_json(&path, &secrets, true)?;
        }
        Ok(secrets)
    }

    pub fn daemon(&self) -> Option<DaemonInfo> {
        read_json(&self.root.join("daemon.json")).ok()
    }

    pub fn write_daemon(&self, info: &DaemonInfo) -> Result<(), DeployError> {
        write_json(&self.root.join("daemon.json"), info, true)
    }

    pub fn remove_daemon(&self) {
        let _ = std::fs::remove_file(self.root.join("daemon.json"));
    }
}

/// A deployment name is one plain path segment.
fn check_name(name: &str) -> Result<(), DeployError> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(DeployError::BadName(name.to_string()))
    }
}

fn create_dir(path: &Path) -> Result<(), DeployError> {
    std::fs::create_dir_all(path).map_err(|source| DeployError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, DeployError> {
    let text = std::fs::read_to_string(path).map_err(|source| DeployError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|error| DeployError::BadFile {
        path: path.to_path_buf(),
        line: error.line(),
        message: error.to_string(),
    })
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file;
/// `private` files are readable by the owner only.
fn write_json<T: Serialize>(path: &Path, value: &T, private: bool) -> Result<(), DeployError> {
    let io = |source| DeployError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string_pretty(value)
        .map_err(|error| io(std::io::Error::other(error.to_string())))?;
    let temporary = path.with_extension("json.tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        if private {
            options.mode(0o600);
        }
        let mut file = options.open(&temporary).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&temporary, path).map_err(io)
}

/// A fresh 256-bit secret as 64 hex digits.
pub fn random_secret() -> String {
    random_hex(32)
}

pub(crate) fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_the_state_dir_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["", "..", "a/b", ".hidden", "a b"] {
            assert!(
                matches!(
                    DeploymentDir::open(dir.path(), name),
                    Err(DeployError::BadName(_))
                ),
                "{name:?}"
            );
        }
        assert!(DeploymentDir::open(dir.path(), "bookstore").is_ok());
    }

    #[test]
    fn secrets_are_generated_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let deployment = DeploymentDir::open(dir.path(), "api").unwrap();
        let first = deployment.secrets(&["JWT_SECRET".into()]).unwrap();
        let again = deployment.secrets(&["JWT_SECRET".into()]).unwrap();
        assert_eq!(first, again, "blue and green must share the secret");
        assert_eq!(first.values["JWT_SECRET"].len(), 64);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(deployment.root().join("secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "secrets.json must not be readable by others"
        );
        assert!(!format!("{first:?}").contains(&first.values["JWT_SECRET"]));
    }

    #[test]
    fn a_broken_state_file_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let deployment = DeploymentDir::open(dir.path(), "api").unwrap();
        std::fs::write(deployment.root().join("state.json"), "{\n  \"live\": 3,\n}").unwrap();
        let error = deployment.state().map(|_| ()).unwrap_err().to_string();
        assert!(
            error.contains("state.json") && error.contains("line 2"),
            "{error}"
        );
    }
}
