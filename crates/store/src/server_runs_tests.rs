use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;
use crate::Commit;
use crate::NewRun;
use crate::RunStatus;

fn create(store: &Store, id: &str, workflow: &str) {
    store
        .create_run(
            &NewRun {
                id: id.to_owned(),
                workflow_name: workflow.to_owned(),
                workflow_yaml: format!("name: {workflow}\n"),
                params: json!({}),
                workspace: "/tmp/ws".to_owned(),
            },
            &[],
        )
        .unwrap();
}

fn set_status(store: &Store, id: &str, status: RunStatus) {
    store
        .commit(
            id,
            &Commit {
                status: Some(status),
                ..Commit::default()
            },
        )
        .unwrap();
}

fn query(status: Option<&str>, after: Option<(i64, String)>, limit: usize) -> RunQuery {
    RunQuery {
        status: status.map(str::to_owned),
        workflow: None,
        order: RunOrder::Created,
        descending: true,
        after,
        limit,
    }
}

#[test]
fn the_status_folds_queued_and_cancelled_jobs_into_the_run() {
    let store = Store::open_in_memory().unwrap();
    create(&store, "r1", "wf");
    assert_eq!(store.server_run("r1").unwrap().unwrap().status, "running");
    assert_eq!(store.server_run("r1").unwrap().unwrap().job, None);

    let before = store.run_fingerprint("r1").unwrap().unwrap();
    assert_eq!(before.2, "running");
    store.enqueue_job("r1", Some("user:a@example.com")).unwrap();
    let after = store.run_fingerprint("r1").unwrap().unwrap();
    assert_eq!(after.2, "queued");
    assert_eq!(store.run_fingerprint("nope").unwrap(), None);
    let run = store.server_run("r1").unwrap().unwrap();
    assert_eq!(run.status, "queued");
    let job = run.job.unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.requested_by.as_deref(), Some("user:a@example.com"));
    assert_eq!(store.unfinished_jobs().unwrap(), vec!["r1".to_owned()]);

    store.set_job_state("r1", JobState::Running, None).unwrap();
    assert_eq!(store.server_run("r1").unwrap().unwrap().status, "running");

    // Cancelled while running: still running until the run itself fails.
    store
        .cancel_job("r1", "user:b@example.com", "wrong spec")
        .unwrap();
    assert_eq!(store.server_run("r1").unwrap().unwrap().status, "running");
    set_status(&store, "r1", RunStatus::Failed);
    store.set_job_state("r1", JobState::Done, None).unwrap();
    let run = store.server_run("r1").unwrap().unwrap();
    assert_eq!(run.status, "cancelled");
    let job = run.job.unwrap();
    assert_eq!(job.cancelled_by.as_deref(), Some("user:b@example.com"));
    assert_eq!(job.cancel_reason.as_deref(), Some("wrong spec"));
    assert!(store.unfinished_jobs().unwrap().is_empty());

    // A resume queues it again, keeping who started it and clearing the last error.
    store
        .set_job_state("r1", JobState::Done, Some("boom"))
        .unwrap();
    store.enqueue_job("r1", Some("user:c@example.com")).unwrap();
    let job = store.server_run("r1").unwrap().unwrap().job.unwrap();
    assert_eq!(job.requested_by.as_deref(), Some("user:a@example.com"));
    assert_eq!(job.error, None);
}

#[test]
fn jobs_of_unknown_runs_are_refused() {
    let store = Store::open_in_memory().unwrap();
    assert!(matches!(
        store.enqueue_job("nope", None),
        Err(StoreError::UnknownRun(id)) if id == "nope"
    ));
    assert!(matches!(
        store.set_job_state("nope", JobState::Done, None),
        Err(StoreError::UnknownRun(_))
    ));
}

#[test]
fn pages_follow_the_cursor_without_repeats_or_gaps_and_filter() {
    let store = Store::open_in_memory().unwrap();
    for index in 0..7 {
        create(
            &store,
            &format!("r{index}"),
            if index % 2 == 0 { "even" } else { "odd" },
        );
    }
    set_status(&store, "r3", RunStatus::Completed);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.server_runs(&query(None, after.clone(), 3)).unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some((last.created_at, last.id.clone()));
        seen.extend(page.into_iter().map(|run| run.id));
    }
    // Created in the same millisecond or not, the id breaks ties: newest first.
    let mut expected: Vec<String> = (0..7).map(|index| format!("r{index}")).collect();
    expected.reverse();
    let mut by_time = seen.clone();
    by_time.sort();
    by_time.reverse();
    assert_eq!(seen.len(), 7);
    assert_eq!(by_time, expected);

    let completed = store
        .server_runs(&query(Some("completed"), None, 10))
        .unwrap();
    assert_eq!(
        completed
            .iter()
            .map(|run| run.id.as_str())
            .collect::<Vec<_>>(),
        ["r3"]
    );
    let mut odd = query(None, None, 10);
    odd.workflow = Some("odd".to_owned());
    odd.descending = false;
    let odd: Vec<String> = store
        .server_runs(&odd)
        .unwrap()
        .into_iter()
        .map(|run| run.id)
        .collect();
    assert_eq!(odd.len(), 3);
    assert!(
        odd.iter()
            .all(|id| ["r1", "r3", "r5"].contains(&id.as_str()))
    );
}

#[test]
fn workflows_register_once_by_name() {
    let store = Store::open_in_memory().unwrap();
    let record = WorkflowRecord {
        name: "mine".to_owned(),
        description: "d".to_owned(),
        yaml: "name: mine\n".to_owned(),
        registered_by: "user:a@example.com".to_owned(),
        registered_at: 5,
    };
    store.register_workflow(&record).unwrap();
    assert_eq!(
        store.registered_workflow("mine").unwrap(),
        Some(record.clone())
    );
    assert!(matches!(
        store.register_workflow(&record),
        Err(StoreError::Duplicate { .. })
    ));
    assert_eq!(store.registered_workflows().unwrap(), vec![record]);
    assert_eq!(store.registered_workflow("other").unwrap(), None);
}

#[test]
fn point_reads_of_a_run_are_prepared_once() {
    // A join filtered by `r.id = ?1` is re-prepared by SQLite at every new binding (its
    // constant propagation marks the parameter); a point read must not pay that each time.
    let store = Store::open_in_memory().unwrap();
    create(&store, "r1", "wf");
    for _ in 0..3 {
        store.run_fingerprint("r1").unwrap();
        store.run("r1").unwrap();
        store.server_run("r1").unwrap();
    }
    for sql in [
        FINGERPRINT.to_owned(),
        crate::runs::run_by_id_sql(),
        format!("{SERVER_RUNS} WHERE r.id = +?1"),
    ] {
        let stmt = store.conn.prepare_cached(&sql).unwrap();
        assert_eq!(
            stmt.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "{sql}"
        );
    }
}
