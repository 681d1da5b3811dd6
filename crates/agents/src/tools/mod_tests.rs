//! Dispatch, argument errors, definitions and the output cap.

use std::collections::BTreeSet;

use serde_json::json;

use super::testing::call;
use super::testing::call_raw;
use super::testing::config;
use super::testing::error;
use super::testing::ok;
use super::testing::toolbox;
use super::*;

const ALL_TOOLS: [&str; 12] = [
    "read_file",
    "write_file",
    "edit_file",
    "list_files",
    "glob",
    "grep",
    "bash",
    "memory_store",
    "memory_retrieve",
    "memory_search",
    "todo_write",
    "todo_read",
];

fn names(toolbox: &ToolBox) -> Vec<String> {
    toolbox
        .definitions()
        .into_iter()
        .map(|definition| definition.name)
        .collect()
}

#[test]
fn definitions_name_exactly_the_tools_and_bash_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(names(&toolbox(dir.path())), ALL_TOOLS);
    let mut without_bash = config(dir.path());
    without_bash.limits.bash = false;
    let toolbox = ToolBox::new(without_bash).unwrap();
    let expected: Vec<&str> = ALL_TOOLS
        .into_iter()
        .filter(|name| *name != "bash")
        .collect();
    assert_eq!(names(&toolbox), expected);
    let refused = error(call(&toolbox, "bash", json!({"command": "echo hi"})));
    assert!(refused.starts_with("unknown tool `bash`; the tools are: read_file, write_file"));
    assert!(!refused.contains(", bash,"), "{refused}");
}

#[test]
fn every_definition_is_an_object_schema_whose_required_fields_exist() {
    let dir = tempfile::tempdir().unwrap();
    for definition in toolbox(dir.path()).definitions() {
        let schema = &definition.parameters;
        assert_eq!(schema["type"], "object", "{}", definition.name);
        let properties = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{} has no properties", definition.name));
        let required = schema["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no required list", definition.name));
        for field in required {
            let field = field.as_str().unwrap();
            assert!(
                properties.contains_key(field),
                "{}: required `{field}` is not a property",
                definition.name
            );
        }
        assert!(!definition.description.is_empty(), "{}", definition.name);
    }
}

#[test]
fn an_unknown_tool_lists_the_tools() {
    let dir = tempfile::tempdir().unwrap();
    let message = error(call(&toolbox(dir.path()), "delete_everything", json!({})));
    assert_eq!(
        message,
        format!(
            "unknown tool `delete_everything`; the tools are: {}",
            ALL_TOOLS.join(", ")
        )
    );
}

#[test]
fn argument_mistakes_name_the_field_and_the_expected_type() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    let cases = [
        (
            "read_file",
            "{not json",
            "invalid arguments for `read_file`: the arguments are not valid JSON",
        ),
        (
            "read_file",
            "[1, 2]",
            "expected the arguments to be a JSON object, found an array",
        ),
        (
            "read_file",
            "{}",
            "invalid arguments for `read_file`: missing required field `path` (a string)",
        ),
        (
            "read_file",
            r#"{"path": 7}"#,
            "field `path` must be a string, found a number",
        ),
        (
            "read_file",
            r#"{"path": "a", "offset": "3"}"#,
            "field `offset` must be a non-negative integer, found a string",
        ),
        (
            "read_file",
            r#"{"path": "a", "limit": -1}"#,
            "field `limit` must be a non-negative integer, found -1",
        ),
        (
            "edit_file",
            r#"{"path": "a", "old_string": "x"}"#,
            "missing required field `new_string` (a string)",
        ),
        (
            "edit_file",
            r#"{"path": "a", "old_string": "x", "new_string": "y", "replace_all": "yes"}"#,
            "field `replace_all` must be a boolean, found a string",
        ),
        (
            "memory_store",
            r#"{"key": "k"}"#,
            "missing required field `value`",
        ),
        (
            "bash",
            r#"{"command": "true", "timeout_secs": 0}"#,
            "`timeout_secs` must be at least 1",
        ),
        (
            "grep",
            r#"{"pattern": "x", "ignore_case": 1}"#,
            "field `ignore_case` must be a boolean, found a number",
        ),
    ];
    for (tool, arguments, expected) in cases {
        let message = error(call_raw(&toolbox, tool, arguments));
        assert!(message.contains(expected), "{tool} {arguments}: {message}");
    }
}

#[test]
fn empty_or_null_arguments_mean_an_empty_object() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    assert_eq!(ok(call_raw(&toolbox, "todo_read", "")), "(no todos)");
    assert_eq!(ok(call_raw(&toolbox, "todo_read", "  null ")), "(no todos)");
    assert!(ok(call_raw(&toolbox, "list_files", "")).contains("is empty"));
}

#[test]
fn cap_text_keeps_head_and_tail_within_the_limit() {
    let text: String = (0..10_000).map(|line| format!("line {line}\n")).collect();
    let capped = cap_text(&text, 1000);
    assert!(capped.len() <= 1000, "{}", capped.len());
    assert!(capped.starts_with("line 0\nline 1\n"));
    assert!(capped.ends_with("line 9999\n"));
    let marker_start = capped.find("[… ").unwrap();
    let cut: usize = capped[marker_start + "[… ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let kept = capped.len() - cut_marker(cut).len();
    assert_eq!(
        kept + cut,
        text.len(),
        "the marker counts exactly what was cut"
    );
    assert_eq!(cap_text("short", 1000), "short");
    // Multi-byte characters are never split.
    let wide = "é".repeat(2000);
    let capped = cap_text(&wide, 301);
    assert!(capped.len() <= 301);
    assert!(capped.contains("bytes cut"));
}

#[test]
fn every_tool_output_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let mut small = config(dir.path());
    small.limits.output_limit = 500;
    let toolbox = ToolBox::new(small).unwrap();
    for index in 0..200 {
        std::fs::write(dir.path().join(format!("file-{index:03}.txt")), "x").unwrap();
    }
    let listing = ok(call(&toolbox, "list_files", json!({})));
    assert!(listing.len() <= 500, "{}", listing.len());
    assert!(listing.starts_with("file-000.txt\n"));
    assert!(listing.ends_with("file-199.txt"));
    assert!(listing.contains("bytes cut"));
}

#[test]
fn new_checks_the_namespace_and_the_checks_against_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad_namespace = config(dir.path());
    bad_namespace.namespace = Some("wf/x".into());
    let message = ToolBox::new(bad_namespace).unwrap_err();
    assert!(
        message.contains("must be a key prefix ending in `/`"),
        "{message}"
    );

    let mut stray_check = config(dir.path());
    stray_check.writes = vec![testing::write_target("prd", "wf/x/prd")];
    stray_check.checks = vec![BoundCheck {
        deliverable: "stories".into(),
        check: Arc::new(testing::RequiresField("title")),
    }];
    let message = ToolBox::new(stray_check).unwrap_err();
    assert_eq!(
        message,
        "check `field `title` is present` is bound to `stories`, which is not a deliverable of \
         this step"
    );
}

#[test]
fn the_tool_box_is_send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ToolBox>();
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    let debug = format!("{toolbox:?}");
    assert!(debug.starts_with("ToolBox {"), "{debug}");
    // The future of `call` must be Send so agents can spawn their tool loop.
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&toolbox.call("todo_read", ""));
}

#[test]
fn files_changed_are_sorted_unique_workspace_paths() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    ok(call(
        &toolbox,
        "write_file",
        json!({"path": "src/b.rs", "content": "b"}),
    ));
    ok(call(
        &toolbox,
        "write_file",
        json!({"path": "./a.rs", "content": "a"}),
    ));
    ok(call(
        &toolbox,
        "edit_file",
        json!({"path": "src/../src/b.rs", "old_string": "b", "new_string": "c"}),
    ));
    error(call(
        &toolbox,
        "write_file",
        json!({"path": "../x", "content": "x"}),
    ));
    ok(call(&toolbox, "read_file", json!({"path": "a.rs"})));
    assert_eq!(toolbox.files_changed(), vec!["a.rs", "src/b.rs"]);
    let unique: BTreeSet<String> = toolbox.files_changed().into_iter().collect();
    assert_eq!(unique.len(), 2);
}
