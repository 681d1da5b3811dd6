//! Integration tests of apiwright-store against real database files.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod memory;
mod runs;
mod schema;

use std::path::Path;

use apiwright_store::MemoryWrite;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use apiwright_store::Tags;
use apiwright_store::Value;

/// A store on a fresh file in a temporary directory (kept alive by the returned guard).
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state.db"));
    (dir, store)
}

pub fn open(path: &Path) -> Store {
    Store::open(path, &StoreOptions::default()).unwrap()
}

pub fn write(key: &str, value: Value, who: &str) -> MemoryWrite {
    MemoryWrite {
        key: key.to_owned(),
        value,
        tags: Tags::from([("who".to_owned(), who.to_owned())]),
    }
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}
