//! Many processes writing one database at once: no write is lost and every history is complete.

use std::process::Child;

use crate::support::Sandbox;

#[test]
fn fifty_writers_of_distinct_keys_and_fifty_of_one_key_lose_nothing() {
    let sandbox = Sandbox::new();
    // Create the schema first so the race is about writes, not migrations (which have their
    // own test in the store crate).
    sandbox.expect(&["memory", "list"], 0);
    let mut children: Vec<(String, Child)> = Vec::new();
    for writer in 0..50 {
        let key = format!("load/distinct/{writer}");
        let child = sandbox
            .command(&[
                "memory",
                "store",
                "--key",
                &key,
                "--value",
                &format!("{{\"writer\": {writer}}}"),
            ])
            .spawn()
            .unwrap();
        children.push((key, child));
        let child = sandbox
            .command(&[
                "memory",
                "store",
                "--key",
                "load/shared",
                "--value",
                &format!("{{\"writer\": {writer}}}"),
                "--tag",
                &format!("who=writer-{writer}"),
            ])
            .spawn()
            .unwrap();
        children.push(("load/shared".into(), child));
    }
    for (key, child) in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let distinct: serde_json::Value = serde_json::from_str(&sandbox.expect(
        &[
            "memory",
            "retrieve",
            "--pattern",
            "load/distinct/*",
            "--json",
        ],
        0,
    ))
    .unwrap();
    assert_eq!(distinct.as_array().unwrap().len(), 50);
    let history: serde_json::Value = serde_json::from_str(
        &sandbox.expect(&["memory", "history", "--key", "load/shared", "--json"], 0),
    )
    .unwrap();
    let versions: Vec<i64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, (1..=50).collect::<Vec<_>>());
    let mut writers: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["tags"]["who"].as_str().unwrap().to_string())
        .collect();
    writers.sort();
    writers.dedup();
    assert_eq!(writers.len(), 50, "every writer's write is in the history");
}
