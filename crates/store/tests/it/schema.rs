use apiwright_store::Durability;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use pretty_assertions::assert_eq;

use crate::open;
use crate::text;
use crate::write;

fn schema_of(path: &std::path::Path) -> (i64, Vec<String>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let version = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1")
        .unwrap();
    let names = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    (version, names)
}

#[test]
fn migrations_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/state.db");
    {
        let store = open(&path);
        store.memory_put(&write("k", text("v"), "t")).unwrap();
    }
    let first = schema_of(&path);
    assert_eq!(first.0, 4);
    assert_eq!(
        first.1,
        [
            "index api_keys_user",
            "index hooks_session",
            "index memory_history_key",
            "index runs_by_updated",
            "index runs_by_workflow",
            "index runs_created",
            "index server_jobs_unfinished",
            "index step_prompts_step",
            "table api_keys",
            "table events",
            "table hooks",
            "table memory",
            "table memory_history",
            "table refresh_tokens",
            "table run_definitions",
            "table runs",
            "table server_jobs",
            "table step_prompts",
            "table users",
            "table workflows",
        ]
    );
    for durability in [Durability::Normal, Durability::Full, Durability::Normal] {
        let options = StoreOptions {
            durability,
            ..StoreOptions::default()
        };
        let store = Store::open(&path, &options).unwrap();
        assert_eq!(store.memory_get("k").unwrap().unwrap().version, 1);
        drop(store);
        assert_eq!(schema_of(&path), first);
    }
}

#[test]
fn probe_answers_for_a_current_database_and_fails_once_it_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let missing = Store::probe(&path).unwrap_err();
    assert!(
        matches!(missing, apiwright_store::StoreError::Open { .. }),
        "{missing}"
    );
    assert!(!path.exists(), "probe must not create the database");
    let store = open(&path);
    Store::probe(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(Store::probe(&path).is_err());
    drop(store);
}
