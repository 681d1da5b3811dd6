//! User hook commands: environment, output capture, failure and time limit all fail open;
//! nothing is spawned when nothing is configured.

use std::path::PathBuf;
use std::time::Duration;
use std::time::Instant;

use apiwright_hooks::HookCall;
use apiwright_hooks::OUTPUT_TAIL_BYTES;
use apiwright_hooks::run_event_hooks;

use crate::support::Env;
use crate::support::hooks;

#[test]
fn user_hook_sees_its_environment_and_output_is_captured() {
    let env = Env::new();
    let config = hooks(
        r#"
[hooks]
post-edit = ['printf "%s|%s|%s|%s" "$APIWRIGHT_HOOK" "$APIWRIGHT_FILE" "$APIWRIGHT_SESSION_ID" "$APIWRIGHT_MEMORY_KEY"; echo " err" >&2']
notify = ['printf "%s" "$APIWRIGHT_MESSAGE"', 'read line; echo "stdin=[$line] rc=$?"']
"#,
    );
    let file = env.path().join("a.rs");
    let outcome = env.call(
        &config,
        HookCall::PostEdit {
            file: file.clone(),
            memory_key: Some("k/v".into()),
        },
    );
    assert_eq!(outcome.user_hooks.len(), 1);
    let result = &outcome.user_hooks[0];
    assert!(result.succeeded(), "{result:?}");
    assert_eq!(result.exit_code, Some(0));
    assert!(!result.timed_out);
    assert_eq!(
        result.output_tail,
        format!(
            "post-edit|{}|{}|k/v err\n",
            file.display(),
            outcome.session_id
        )
    );

    let outcome = env.call(
        &config,
        HookCall::Notify {
            message: "hello there".into(),
        },
    );
    let tails: Vec<&str> = outcome
        .user_hooks
        .iter()
        .map(|r| r.output_tail.as_str())
        .collect();
    assert_eq!(tails, ["hello there", "stdin=[] rc=1\n"]);
}

#[test]
fn failing_and_missing_hooks_do_not_fail_the_call() {
    let env = Env::new();
    let config = hooks(
        r#"
[hooks]
pre-task = ["echo about to fail; exit 1", "no-such-command-apiwright-test", "echo $APIWRIGHT_TASK_ID $APIWRIGHT_DESCRIPTION"]
"#,
    );
    let outcome = env.call(
        &config,
        HookCall::PreTask {
            description: "desc".into(),
            task_id: Some("t1".into()),
        },
    );
    let codes: Vec<Option<i32>> = outcome.user_hooks.iter().map(|r| r.exit_code).collect();
    assert_eq!(codes, [Some(1), Some(127), Some(0)]);
    assert_eq!(outcome.user_hooks[0].output_tail, "about to fail\n");
    assert!(
        outcome.user_hooks[1].output_tail.contains("not found"),
        "{:?}",
        outcome.user_hooks[1]
    );
    assert_eq!(outcome.user_hooks[2].output_tail, "t1 desc\n");
    assert!(outcome.user_hooks.iter().all(|r| !r.timed_out));
    assert_eq!(
        env.store.hook_records(&outcome.session_id).unwrap().len(),
        1
    );
}

#[test]
fn hanging_hook_is_killed_after_the_timeout() {
    let env = Env::new();
    let config =
        hooks("[hooks]\ntimeout_ms = 200\nnotify = [\"echo started; sleep 5\", \"echo next\"]\n");
    let started = Instant::now();
    let outcome = env.call(
        &config,
        HookCall::Notify {
            message: "m".into(),
        },
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
    let hung = &outcome.user_hooks[0];
    assert!(hung.timed_out, "{hung:?}");
    assert_eq!(hung.exit_code, None);
    assert!(hung.duration_ms >= 200, "{hung:?}");
    assert_eq!(hung.output_tail, "started\n");
    assert!(outcome.user_hooks[1].succeeded());
}

#[test]
fn nothing_runs_when_nothing_is_configured() {
    let env = Env::new();
    let config = hooks("[hooks]\nnotify = [\"exit 3\"]\n");
    let calls = [
        HookCall::PreTask {
            description: "d".into(),
            task_id: None,
        },
        HookCall::PostTask {
            task_id: "t".into(),
        },
        HookCall::PreEdit {
            file: PathBuf::from("x"),
        },
        HookCall::PostEdit {
            file: PathBuf::from("x"),
            memory_key: None,
        },
        HookCall::SessionEnd { export: None },
    ];
    for call in calls {
        let outcome = env.call(&config, call);
        assert!(outcome.user_hooks.is_empty(), "{outcome:?}");
    }
    assert!(run_event_hooks(&config, "run_completed", &[]).is_empty());
    assert!(run_event_hooks(&config, "no-such-event", &[]).is_empty());
}

#[test]
fn chatty_hook_keeps_only_the_tail() {
    let env = Env::new();
    let config = hooks(
        "[hooks]\nnotify = [\"i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done\"]\n",
    );
    let outcome = env.call(
        &config,
        HookCall::Notify {
            message: "m".into(),
        },
    );
    let result = &outcome.user_hooks[0];
    assert!(result.succeeded(), "{result:?}");
    assert!(result.output_tail.len() <= OUTPUT_TAIL_BYTES);
    assert!(result.output_tail.ends_with("line-19999\n"), "{result:?}");
}

#[test]
fn event_hooks_get_the_event_and_the_given_environment() {
    let config = hooks(
        "[hooks.events]\nrun_failed = ['printf \"%s %s\" \"$APIWRIGHT_EVENT\" \"$APIWRIGHT_RUN_ID\"', 'exit 2']\n",
    );
    let results = run_event_hooks(
        &config,
        "run_failed",
        &[("APIWRIGHT_RUN_ID", "r-1".to_owned())],
    );
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].output_tail, "run_failed r-1");
    assert_eq!(results[1].exit_code, Some(2));
}
