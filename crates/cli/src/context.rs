//! Where state lives: the database path and `apiwright.toml`, resolved once per command.

use std::path::PathBuf;

use anyhow::Context as _;
use apiwright_store::Store;
use apiwright_store::StoreOptions;

use crate::app::GlobalArgs;

/// The resolved environment of a command.
pub struct Context {
    pub db_path: PathBuf,
    pub config: apiwright_config::Config,
}

impl Context {
    pub fn load(global: &GlobalArgs) -> anyhow::Result<Context> {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let config = apiwright_config::Config::load(&cwd)?;
        let db_path = global
            .db
            .clone()
            .unwrap_or_else(|| config.store.path.clone());
        Ok(Context { db_path, config })
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        let options = StoreOptions {
            durability: match self.config.store.durability {
                apiwright_config::Durability::Normal => apiwright_store::Durability::Normal,
                apiwright_config::Durability::Full => apiwright_store::Durability::Full,
            },
            ..StoreOptions::default()
        };
        Store::open(&self.db_path, &options)
            .with_context(|| format!("opening state database {}", self.db_path.display()))
    }
}

/// Splits `name=value`.
pub fn split_pair<'a>(flag: &str, pair: &'a str) -> anyhow::Result<(&'a str, &'a str)> {
    pair.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{flag} {pair}: expected NAME=VALUE, found no `=`"))
}
