//! The hook commands as an interactive coding agent calls them (seed 000's scripts).

use crate::support::Sandbox;

#[test]
fn a_session_of_hooks_is_recorded_and_exported_with_the_seed_spelling() {
    let sandbox = Sandbox::new();
    sandbox.write("src/routes/auth.ts", "export {}\n");
    let task_id = sandbox.expect(
        &[
            "hooks",
            "pre-task",
            "--description",
            "API Development: books",
        ],
        0,
    );
    assert!(task_id.trim().starts_with("task-"), "{task_id}");
    sandbox.expect(&["hooks", "pre-edit", "--file", "src/routes/auth.ts"], 0);
    sandbox.expect(
        &[
            "hooks",
            "post-edit",
            "--file",
            "src/routes/auth.ts",
            "--memory-key",
            "api-development/books/phase-3/completed/auth",
        ],
        0,
    );
    sandbox.expect(
        &[
            "hooks",
            "notify",
            "--message",
            "Development environment ready",
        ],
        0,
    );
    sandbox.expect(
        &[
            "hooks",
            "post-task",
            "--task-id",
            task_id.trim(),
            "--export-metrics",
            "true",
        ],
        0,
    );
    let export = sandbox.path().join("out/books-workflow.json");
    sandbox.expect(
        &[
            "hooks",
            "session-end",
            "--export-workflow",
            export.to_str().unwrap(),
        ],
        0,
    );

    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let kinds: Vec<&str> = exported["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "pre-task",
            "pre-edit",
            "post-edit",
            "notify",
            "post-task",
            "session-end"
        ]
    );
    let edit: serde_json::Value = serde_json::from_str(&sandbox.expect(
        &[
            "memory",
            "retrieve",
            "--key",
            "api-development/books/phase-3/completed/auth",
            "--json",
        ],
        0,
    ))
    .unwrap();
    assert_eq!(edit[0]["value"]["value"]["bytes"], 10);

    // The next hook starts a new session.
    let next: serde_json::Value = serde_json::from_str(
        &sandbox.expect(&["hooks", "notify", "--message", "again", "--json"], 0),
    )
    .unwrap();
    assert_ne!(next["session_id"], exported["session_id"]);
}

#[test]
fn a_failing_user_hook_does_not_fail_the_call() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "apiwright.toml",
        "[hooks]\ntimeout_ms = 500\npost-edit = [\"echo formatting $APIWRIGHT_FILE; exit 3\"]\n",
    );
    let outcome: serde_json::Value = serde_json::from_str(
        &sandbox.expect(&["hooks", "post-edit", "--file", "a.rs", "--json"], 0),
    )
    .unwrap();
    assert_eq!(outcome["user_hooks"][0]["exit_code"], 3);
    let tail = outcome["user_hooks"][0]["output_tail"].as_str().unwrap();
    assert!(
        tail.starts_with("formatting /") && tail.trim_end().ends_with("/a.rs"),
        "absolute path expected: {tail}"
    );
}
