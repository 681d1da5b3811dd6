use apiwright_store::Claim;
use apiwright_store::Commit;
use apiwright_store::NewEvent;
use apiwright_store::NewRun;
use apiwright_store::RunStatus;
use apiwright_store::StoreError;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::open;
use crate::temp_store;
use crate::text;
use crate::write;

fn new_run(id: &str) -> NewRun {
    NewRun {
        id: id.to_owned(),
        workflow_name: "api-development".to_owned(),
        workflow_yaml: "name: api-development\n".to_owned(),
        params: json!({"feature": "books"}),
        workspace: "/work/books".to_owned(),
    }
}

fn event(kind: &str) -> NewEvent {
    NewEvent {
        kind: kind.to_owned(),
        payload: json!({"kind": kind}),
    }
}

fn prompt(step: &str) -> apiwright_store::StepPrompt {
    apiwright_store::StepPrompt {
        run_id: "r".into(),
        round: "p#1".into(),
        phase: "p".into(),
        step: step.into(),
        item: None,
        attempt: 1,
        provider: "builtin".into(),
        prompt: "do it".into(),
        transcript: None,
        at: 0,
    }
}

#[test]
fn commit_is_atomic() {
    let (_dir, store) = temp_store();
    store
        .create_run(&new_run("r"), &[event("run_started")])
        .unwrap();
    let before = store.run("r").unwrap().unwrap();

    let bad = Commit {
        events: vec![event("step_finished"), event("phase_finished")],
        memory: vec![
            write("ok/key", text("v"), "t"),
            write("bad//key", text("v"), "t"),
        ],
        prompts: vec![prompt("started-then-rolled-back")],
        status: Some(RunStatus::Completed),
    };
    let err = store.commit("r", &bad).unwrap_err();
    assert!(matches!(err, StoreError::InvalidKey { .. }), "{err}");

    assert_eq!(store.events("r", 0).unwrap().len(), 1);
    assert_eq!(store.memory_get("ok/key").unwrap(), None);
    assert!(store.memory_history("ok/key").unwrap().is_empty());
    assert!(
        store.prompts("r", None).unwrap().is_empty(),
        "the prompt rolled back too"
    );
    let after = store.run("r").unwrap().unwrap();
    assert_eq!(after, before);
    assert_eq!(after.status, RunStatus::Running);

    // The connection is usable afterwards and numbering continues without a gap.
    let seq = store
        .commit(
            "r",
            &Commit {
                events: vec![event("step_finished")],
                memory: vec![write("ok/key", text("v"), "t")],
                prompts: vec![prompt("kept")],
                status: None,
            },
        )
        .unwrap();
    assert_eq!(seq, 2);
    let kept = store.prompts("r", None).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].step, "kept");
    assert_eq!(store.memory_get("ok/key").unwrap().unwrap().version, 1);
}

#[test]
fn event_seq_is_gap_free_across_commits_and_connections() {
    let (dir, store) = temp_store();
    store
        .create_run(
            &new_run("r"),
            &[event("run_started"), event("phase_started")],
        )
        .unwrap();
    let other = open(&dir.path().join("state.db"));
    let mut expected_last = 2;
    for round in 0..20 {
        let events: Vec<NewEvent> = (0..(round % 3)).map(|_| event("step")).collect();
        expected_last += events.len() as i64;
        let via = if round % 2 == 0 { &store } else { &other };
        let status = (round == 19).then_some(RunStatus::Failed);
        let last = via
            .commit(
                "r",
                &Commit {
                    events,
                    memory: vec![],
                    prompts: Vec::new(),
                    status,
                },
            )
            .unwrap();
        assert_eq!(last, expected_last);
    }
    let seqs: Vec<i64> = store
        .events("r", 0)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=expected_last).collect::<Vec<_>>());
    let run = other.run("r").unwrap().unwrap();
    assert_eq!(run.last_seq, expected_last);
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.updated_at >= run.created_at);
    assert!(matches!(
        store.commit("nope", &Commit::default()),
        Err(StoreError::UnknownRun(_))
    ));
}

#[test]
fn runs_are_listed_newest_first() {
    let (_dir, store) = temp_store();
    for id in ["r1", "r2", "r3"] {
        store.create_run(&new_run(id), &[]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let ids: Vec<String> = store.runs(10).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["r3", "r2", "r1"]);
    assert_eq!(store.runs(2).unwrap().len(), 2);
}

#[test]
fn claim_release_and_dead_owner() {
    let (_dir, store) = temp_store();
    store.create_run(&new_run("r"), &[]).unwrap();
    let me = std::process::id();

    // A live child holds the run.
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let child_pid = child.id();
    assert_eq!(store.claim_run("r", child_pid).unwrap(), Claim::Acquired);
    assert_eq!(
        store.claim_run("r", me).unwrap(),
        Claim::HeldBy(i64::from(child_pid))
    );
    assert_eq!(
        store.run("r").unwrap().unwrap().owner_pid,
        Some(i64::from(child_pid))
    );

    // Once it has exited (and been reaped), its claim is stale.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(store.claim_run("r", me).unwrap(), Claim::Acquired);
    assert_eq!(
        store.run("r").unwrap().unwrap().owner_pid,
        Some(i64::from(me))
    );

    // Re-claiming is idempotent; release by another pid is a no-op.
    assert_eq!(store.claim_run("r", me).unwrap(), Claim::Acquired);
    store.release_run("r", child_pid).unwrap();
    assert_eq!(
        store.run("r").unwrap().unwrap().owner_pid,
        Some(i64::from(me))
    );
    store.release_run("r", me).unwrap();
    assert_eq!(store.run("r").unwrap().unwrap().owner_pid, None);

    // A process that ran and was waited for.
    let mut done = std::process::Command::new("true").spawn().unwrap();
    let dead = done.id();
    done.wait().unwrap();
    assert_eq!(store.claim_run("r", dead).unwrap(), Claim::Acquired);
    assert_eq!(store.claim_run("r", me).unwrap(), Claim::Acquired);
}

#[test]
fn hooks_are_recorded() {
    let (_dir, store) = temp_store();
    let id = store
        .record_hook("session-1", "pre-edit", &json!({"file": "src/main.rs"}))
        .unwrap();
    let records = store.hook_records("session-1").unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, id);
    assert_eq!(records[0].payload, json!({"file": "src/main.rs"}));
}
