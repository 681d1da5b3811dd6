use super::*;
use crate::memory::Tags;
use crate::memory::Value;
use serde_json::json;

fn new_run(id: &str) -> NewRun {
    NewRun {
        id: id.to_owned(),
        workflow_name: "wf".to_owned(),
        workflow_yaml: "name: wf\n".to_owned(),
        params: json!({"feature": "books"}),
        workspace: "/tmp/ws".to_owned(),
    }
}

fn event(kind: &str, n: i64) -> NewEvent {
    NewEvent {
        kind: kind.to_owned(),
        payload: json!({"n": n}),
    }
}

fn write(key: &str, text: &str) -> MemoryWrite {
    MemoryWrite {
        key: key.to_owned(),
        value: Value::Text(text.to_owned()),
        tags: Tags::new(),
    }
}

#[test]
fn status_names_roundtrip() {
    for status in [
        RunStatus::Running,
        RunStatus::WaitingApproval,
        RunStatus::Escalated,
        RunStatus::Completed,
        RunStatus::Failed,
    ] {
        assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            json!(status.as_str())
        );
    }
    assert_eq!(RunStatus::parse("bogus"), None);
}

#[test]
fn create_and_read_runs() {
    let store = Store::open_in_memory().unwrap();
    store
        .create_run(&new_run("r1"), &[event("run_started", 1)])
        .unwrap();
    store.create_run(&new_run("r2"), &[]).unwrap();
    let r1 = store.run("r1").unwrap().unwrap();
    assert_eq!(r1.status, RunStatus::Running);
    assert_eq!(r1.last_seq, 1);
    assert_eq!(r1.params, json!({"feature": "books"}));
    assert_eq!(r1.workflow_yaml, "name: wf\n");
    assert_eq!(r1.workspace, "/tmp/ws");
    assert_eq!(r1.owner_pid, None);
    assert_eq!(store.run("r2").unwrap().unwrap().last_seq, 0);
    assert_eq!(store.run("nope").unwrap(), None);
    let listed: Vec<String> = store.runs(10).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(store.runs(1).unwrap().len(), 1);
    // Duplicate ids are a database error.
    assert!(matches!(
        store.create_run(&new_run("r1"), &[]),
        Err(StoreError::Sqlite { .. })
    ));
}

#[test]
fn commit_appends_gap_free_and_applies_everything() {
    let store = Store::open_in_memory().unwrap();
    store
        .create_run(&new_run("r"), &[event("start", 0)])
        .unwrap();
    let seq = store
        .commit(
            "r",
            &Commit {
                events: vec![event("a", 1), event("b", 2)],
                memory: vec![write("r/x", "1")],
                prompts: Vec::new(),
                status: None,
            },
        )
        .unwrap();
    assert_eq!(seq, 3);
    let seq = store
        .commit(
            "r",
            &Commit {
                events: vec![event("c", 3)],
                memory: vec![write("r/x", "2"), write("r/y", "y")],
                prompts: Vec::new(),
                status: Some(RunStatus::WaitingApproval),
            },
        )
        .unwrap();
    assert_eq!(seq, 4);
    // An empty commit returns the current last seq.
    assert_eq!(store.commit("r", &Commit::default()).unwrap(), 4);

    let events = store.events("r", 0).unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(events[3].kind, "c");
    assert_eq!(events[3].payload, json!({"n": 3}));
    assert_eq!(store.events("r", 2).unwrap().len(), 2);
    assert!(store.events("other", 0).unwrap().is_empty());

    let run = store.run("r").unwrap().unwrap();
    assert_eq!(run.status, RunStatus::WaitingApproval);
    assert_eq!(run.last_seq, 4);
    assert_eq!(store.memory_get("r/x").unwrap().unwrap().version, 2);
    assert_eq!(store.memory_history("r/x").unwrap().len(), 2);
}

#[test]
fn commit_to_unknown_run_fails() {
    let store = Store::open_in_memory().unwrap();
    let err = store
        .commit(
            "ghost",
            &Commit {
                events: vec![event("a", 1)],
                memory: vec![write("k", "v")],
                prompts: Vec::new(),
                status: None,
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownRun(ref id) if id == "ghost"),
        "{err}"
    );
    assert_eq!(store.memory_get("k").unwrap(), None);
}

#[test]
fn claim_and_release() {
    let store = Store::open_in_memory().unwrap();
    store.create_run(&new_run("r"), &[]).unwrap();
    let me = std::process::id();
    assert_eq!(store.claim_run("r", me).unwrap(), Claim::Acquired);
    assert_eq!(store.claim_run("r", me).unwrap(), Claim::Acquired);
    // pid 1 is alive on Linux (and any holder counts as alive without /proc).
    assert_eq!(
        store.claim_run("r", 1).unwrap(),
        Claim::HeldBy(i64::from(me))
    );
    // Releasing by a non-holder changes nothing.
    store.release_run("r", 1).unwrap();
    assert_eq!(
        store.run("r").unwrap().unwrap().owner_pid,
        Some(i64::from(me))
    );
    store.release_run("r", me).unwrap();
    assert_eq!(store.run("r").unwrap().unwrap().owner_pid, None);
    assert_eq!(store.claim_run("r", 1).unwrap(), Claim::Acquired);
    assert!(matches!(
        store.claim_run("ghost", me),
        Err(StoreError::UnknownRun(_))
    ));
    assert!(matches!(
        store.release_run("ghost", me),
        Err(StoreError::UnknownRun(_))
    ));
}

#[test]
fn corrupt_run_rows_are_errors() {
    let store = Store::open_in_memory().unwrap();
    store
        .conn
        .execute_batch(
            "INSERT INTO runs VALUES ('bad-status', 'wf', '{}', '/', 'dancing', 0, 0, 0, NULL);
             INSERT INTO run_definitions VALUES ('bad-status', '');
             INSERT INTO runs VALUES ('bad-params', 'wf', '{', '/', 'running', 0, 0, 0, NULL);
             INSERT INTO run_definitions VALUES ('bad-params', '');
             INSERT INTO events VALUES ('bad-params', 1, 'k', 'not json', 0);",
        )
        .unwrap();
    assert!(matches!(
        store.run("bad-status"),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.run("bad-params"),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(store.runs(10), Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        store.events("bad-params", 0),
        Err(StoreError::Corrupt { .. })
    ));
}
