//! The memory commands as a user types them.

use crate::support::Sandbox;

#[test]
fn store_retrieve_pattern_search_list_history_delete() {
    let sandbox = Sandbox::new();
    let key = "api-development/books/phase-1/product-manager/requirements";
    sandbox.expect(
        &[
            "memory",
            "store",
            "--key",
            key,
            "--value",
            "{\"endpoints\": 12}",
            "--tag",
            "who=pm",
            "--tag",
            "why=planning",
        ],
        0,
    );
    sandbox.expect(
        &[
            "memory",
            "store",
            "--key",
            key,
            "--value",
            "{\"endpoints\": 15}",
        ],
        0,
    );
    sandbox.expect(
        &[
            "memory",
            "store",
            "--key",
            "api-development/books/phase-1/system-architect/openapi-spec",
            "--value",
            "openapi: 3.1.0",
        ],
        0,
    );
    sandbox.expect(
        &[
            "memory",
            "store",
            "--key",
            "api-development/books/phase-3/tester/auth/register-tests",
            "--value",
            "tests",
        ],
        0,
    );

    assert_eq!(
        sandbox
            .expect(&["memory", "retrieve", "--key", key], 0)
            .trim(),
        "{\"endpoints\":15}"
    );
    let phase_one: serde_json::Value = serde_json::from_str(&sandbox.expect(
        &[
            "memory",
            "retrieve",
            "--pattern",
            "api-development/books/phase-1/*/*",
            "--json",
        ],
        0,
    ))
    .unwrap();
    assert_eq!(phase_one.as_array().unwrap().len(), 2);
    let deep: serde_json::Value = serde_json::from_str(&sandbox.expect(
        &[
            "memory",
            "retrieve",
            "--pattern",
            "api-development/books/**",
            "--json",
        ],
        0,
    ))
    .unwrap();
    assert_eq!(deep.as_array().unwrap().len(), 3);
    let found = sandbox.expect(&["memory", "search", "openapi"], 0);
    assert!(found.contains("system-architect/openapi-spec"), "{found}");
    let history: serde_json::Value =
        serde_json::from_str(&sandbox.expect(&["memory", "history", "--key", key, "--json"], 0))
            .unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["tags"]["who"], "pm");
    assert_eq!(history[1]["version"], 2);
    sandbox.expect(&["memory", "delete", "--key", key], 0);
    sandbox.expect(&["memory", "retrieve", "--key", key], 5);
    let history: serde_json::Value =
        serde_json::from_str(&sandbox.expect(&["memory", "history", "--key", key, "--json"], 0))
            .unwrap();
    assert_eq!(
        history.as_array().unwrap().len(),
        3,
        "the delete is part of the history"
    );
}

#[test]
fn a_bad_key_is_refused_with_what_was_expected() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["memory", "store", "--key", "a//b", "--value", "x"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid memory key `a//b`: expected"),
        "{stderr}"
    );
}
