//! Session lifecycle: ids kept in the session file across calls, records, memory writes,
//! export and the start of a new session after `session-end`.

use std::path::PathBuf;

use apiwright_config::HooksConfig;
use apiwright_hooks::HookCall;
use apiwright_hooks::HookError;
use apiwright_hooks::SessionSource;
use apiwright_store::Value;
use serde_json::json;

use crate::support::Env;

#[test]
fn session_lifecycle_across_calls() {
    let env = Env::new();
    let config = HooksConfig::default();
    let session_file = env.path().join(".apiwright/session");
    assert!(!session_file.exists());

    let pre = env.call(
        &config,
        HookCall::PreTask {
            description: "API Development: bookstore".into(),
            task_id: None,
        },
    );
    let session_id = pre.session_id.clone();
    assert!(
        session_id.starts_with('s') && session_id.len() > 5,
        "{session_id}"
    );
    assert_eq!(
        std::fs::read_to_string(&session_file).unwrap().trim(),
        session_id
    );
    let task_id = pre.task_id.clone().unwrap();
    assert!(task_id.starts_with("task-"), "{task_id}");
    assert!(pre.user_hooks.is_empty());
    assert_eq!(pre.exported, None);

    let source = env.path().join("src/routes/auth.rs");
    std::fs::create_dir_all(source.parent().unwrap()).unwrap();
    std::fs::write(&source, "fn main() {}\n").unwrap();
    let key = "api-development/bookstore/phase-3/backend-developer/auth";
    let edit = env.call(
        &config,
        HookCall::PostEdit {
            file: source.clone(),
            memory_key: Some(key.into()),
        },
    );
    assert_eq!(edit.session_id, session_id);
    assert!(edit.record_id > pre.record_id);
    let entry = env.store.memory_get(key).unwrap().unwrap();
    let Value::Json(value) = &entry.value else {
        panic!("expected JSON, got {:?}", entry.value);
    };
    assert_eq!(value["file"], json!(source.to_string_lossy()));
    assert_eq!(value["bytes"], json!(13));
    assert_eq!(value["session"], json!(session_id));
    assert!(value["edited_at"].as_i64().unwrap() > 0);
    assert_eq!(entry.tags.get("who").map(String::as_str), Some("hook"));
    assert_eq!(
        entry.tags.get("why"),
        Some(&format!("post-edit {}", source.display()))
    );

    let notify = env.call(
        &config,
        HookCall::Notify {
            message: "Development environment ready".into(),
        },
    );
    assert_eq!(notify.session_id, session_id);

    let export = env.path().join("out/nested/workflow.json");
    let end = env.call(
        &config,
        HookCall::SessionEnd {
            export: Some(export.clone()),
        },
    );
    assert_eq!(end.session_id, session_id);
    assert_eq!(end.exported.as_deref(), Some(export.as_path()));
    assert!(
        !session_file.exists(),
        "session-end removes the session file"
    );

    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(document["session_id"], json!(session_id));
    assert!(document["exported_at"].as_i64().unwrap() > 0);
    let records = document["records"].as_array().unwrap();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["pre-task", "post-edit", "notify", "session-end"]);
    let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        [
            pre.record_id,
            edit.record_id,
            notify.record_id,
            end.record_id
        ]
    );
    assert_eq!(
        records[0]["payload"]["description"],
        json!("API Development: bookstore")
    );
    assert_eq!(records[0]["payload"]["task_id"], json!(task_id));
    assert_eq!(records[1]["payload"]["bytes"], json!(13));
    assert_eq!(records[1]["payload"]["memory_key"], json!(key));
    assert_eq!(
        records[2]["payload"]["message"],
        json!("Development environment ready")
    );
    assert!(records.iter().all(|r| r["session_id"] == json!(session_id)));
    let leftovers: Vec<PathBuf> = std::fs::read_dir(export.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        leftovers,
        std::slice::from_ref(&export),
        "no temporary file left behind"
    );

    let next = env.call(
        &config,
        HookCall::PostTask {
            task_id: task_id.clone(),
        },
    );
    assert_ne!(next.session_id, session_id);
    assert_eq!(next.task_id.as_deref(), Some(task_id.as_str()));
    assert_eq!(
        std::fs::read_to_string(&session_file).unwrap().trim(),
        next.session_id
    );
    assert_eq!(env.store.hook_records(&next.session_id).unwrap().len(), 1);
    assert_eq!(env.store.hook_records(&session_id).unwrap().len(), 4);
}

#[test]
fn given_task_id_and_paths_relative_and_absolute() {
    let env = Env::new();
    let config = HooksConfig::default();
    let pre = env.call(
        &config,
        HookCall::PreTask {
            description: "x".into(),
            task_id: Some("phase-1-planning".into()),
        },
    );
    assert_eq!(pre.task_id.as_deref(), Some("phase-1-planning"));

    let edit = env.call(
        &config,
        HookCall::PreEdit {
            file: PathBuf::from("src/does-not-exist.rs"),
        },
    );
    let missing = env.call(
        &config,
        HookCall::PostEdit {
            file: PathBuf::from("src/does-not-exist.rs"),
            memory_key: Some("notes/edit".into()),
        },
    );
    let records = env.store.hook_records(&pre.session_id).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].payload["task_id_generated"], json!(false));
    let cwd = std::env::current_dir().unwrap();
    for record in &records[1..] {
        assert_eq!(record.payload["file"], json!("src/does-not-exist.rs"));
        assert_eq!(
            record.payload["abs_file"],
            json!(cwd.join("src/does-not-exist.rs").to_string_lossy())
        );
    }
    assert_eq!(records[2].payload["bytes"], json!(null));
    assert_eq!(records[1].id, edit.record_id);
    assert_eq!(records[2].id, missing.record_id);
    let entry = env.store.memory_get("notes/edit").unwrap().unwrap();
    assert_eq!(entry.value, Value::Json(entry_value(&entry.value, &cwd)));
}

/// The expected memory value of the missing-file edit (taking `edited_at` from `actual`).
fn entry_value(actual: &Value, cwd: &std::path::Path) -> serde_json::Value {
    let Value::Json(actual) = actual else {
        panic!("expected JSON, got {actual:?}");
    };
    json!({
        "file": cwd.join("src/does-not-exist.rs").to_string_lossy(),
        "bytes": null,
        "edited_at": actual["edited_at"],
        "session": actual["session"],
    })
}

#[test]
fn explicit_session_id_leaves_the_session_file_alone() {
    let env = Env::new();
    let config = HooksConfig::default();
    let from_file = env.call(
        &config,
        HookCall::Notify {
            message: "a".into(),
        },
    );
    let explicit = SessionSource {
        explicit: Some("agent-42".into()),
        ..env.session.clone()
    };
    let outcome = apiwright_hooks::run_hook(
        &env.store,
        &config,
        &explicit,
        HookCall::SessionEnd { export: None },
    )
    .unwrap();
    assert_eq!(outcome.session_id, "agent-42");
    assert_eq!(outcome.exported, None);
    assert_eq!(
        env.session.current().unwrap(),
        Some(from_file.session_id.clone())
    );
    assert_eq!(env.store.hook_records("agent-42").unwrap().len(), 1);

    let blank = SessionSource {
        explicit: Some("  ".into()),
        ..env.session.clone()
    };
    let outcome = apiwright_hooks::run_hook(
        &env.store,
        &config,
        &blank,
        HookCall::Notify {
            message: "b".into(),
        },
    )
    .unwrap();
    assert_eq!(outcome.session_id, from_file.session_id);
}

#[test]
fn invalid_memory_key_fails_before_recording() {
    let env = Env::new();
    let result = apiwright_hooks::run_hook(
        &env.store,
        &HooksConfig::default(),
        &env.session,
        HookCall::PostEdit {
            file: PathBuf::from("a.rs"),
            memory_key: Some("bad//key".into()),
        },
    );
    assert!(matches!(result, Err(HookError::Store(_))), "{result:?}");
    assert_eq!(env.session.current().unwrap(), None);
}

#[test]
fn export_error_names_the_path() {
    let env = Env::new();
    let blocker = env.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let target = blocker.join("export.json");
    let result = apiwright_hooks::run_hook(
        &env.store,
        &HooksConfig::default(),
        &env.session,
        HookCall::SessionEnd {
            export: Some(target.clone()),
        },
    );
    let Err(error @ HookError::Export { .. }) = result else {
        panic!("expected an export error, got {result:?}");
    };
    assert!(
        error.to_string().contains(&target.display().to_string()),
        "{error}"
    );
}
