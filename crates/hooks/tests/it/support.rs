//! Shared helpers of the integration tests: a store and a session directory in a
//! temporary directory, and `[hooks]` sections parsed from TOML.

use std::path::Path;

use apiwright_config::Config;
use apiwright_config::HooksConfig;
use apiwright_hooks::HookCall;
use apiwright_hooks::HookOutcome;
use apiwright_hooks::SessionSource;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use tempfile::TempDir;

/// A store and a state directory in a temporary directory.
pub struct Env {
    pub dir: TempDir,
    pub store: Store,
    pub session: SessionSource,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join(".apiwright/state.db"),
            &StoreOptions::default(),
        )
        .unwrap();
        let session = SessionSource::in_dir(dir.path().join(".apiwright"));
        Env {
            dir,
            store,
            session,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn call(&self, config: &HooksConfig, call: HookCall) -> HookOutcome {
        apiwright_hooks::run_hook(&self.store, config, &self.session, call).unwrap()
    }
}

/// The `[hooks]` section of a configuration file.
pub fn hooks(toml: &str) -> HooksConfig {
    Config::from_toml_str(toml, Path::new("apiwright.toml"), &|_: &str| None)
        .unwrap()
        .hooks
}
