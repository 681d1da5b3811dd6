//! Loading through the public API: a full example, shape errors rewritten into the house
//! format with exact positions, and the error types' `Display`.

use apiwright_workflow::Diagnostic;
use apiwright_workflow::LoadError;
use apiwright_workflow::Mode;
use apiwright_workflow::load_str;
use pretty_assertions::assert_eq;

pub const FULL: &str = include_str!("fixtures/full.yaml");

const HEAD: &str = "name: w
description: d
memory_pattern: \"m/{agent}/{deliverable}\"
agents:
  - {id: a, description: d}
";

/// The single shape error of `text`, as `file:line:col: message`.
fn shape_error(text: &str) -> String {
    match load_str("w.yaml", text) {
        Err(LoadError::Parse(diagnostic)) => diagnostic.to_string(),
        Err(other) => panic!("semantic errors instead of a shape error:\n{other}"),
        Ok(_) => panic!("loaded, but a shape error was expected:\n{text}"),
    }
}

#[test]
fn loads_the_full_example() {
    let workflow = match load_str("full.yaml", FULL) {
        Ok(workflow) => workflow,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(workflow.name, "books-api");
    let modes: Vec<&str> = workflow
        .phases
        .iter()
        .map(|phase| match phase.mode {
            Mode::Sequential => "sequential",
            Mode::Parallel(_) => "parallel",
            Mode::Iterative(_) => "iterative",
            Mode::Tdd(_) => "tdd",
        })
        .collect();
    assert_eq!(modes, ["sequential", "tdd", "parallel", "iterative"]);
}

#[test]
fn an_unknown_field_lists_the_expected_ones() {
    let text = format!("{HEAD}phases: []\nowner: me\n");
    assert_eq!(
        shape_error(&text),
        "w.yaml:7:1: expected one of `name`, `description`, `source`, `parameters`, `memory_pattern`, `inputs`, `agents`, `phases`, found unknown field `owner`"
    );
}

#[test]
fn an_unknown_field_in_a_nested_flow_mapping() {
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    steps: [{{agent: a, task: t, tsk: x}}]\n"
    );
    assert_eq!(
        shape_error(&text),
        "w.yaml:9:33: expected one of `id`, `agent`, `task`, `reads`, `writes`, `stage`, `timeout_secs`, `retries`, found unknown field `tsk`"
    );
}

#[test]
fn a_wrong_type_names_what_was_found() {
    assert_eq!(
        shape_error(&format!("{HEAD}phases: 3\n")),
        "w.yaml:6:9: expected a sequence, found `3`"
    );
    assert_eq!(
        shape_error(&format!("{HEAD}phases:\n  mode: tdd\n")),
        "w.yaml:7:3: expected a sequence, found a mapping"
    );
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    steps:\n      - {{agent: a, task: t, timeout_secs: soon}}\n"
    );
    assert_eq!(
        shape_error(&text),
        "w.yaml:10:43: expected a non-negative integer, found `soon`"
    );
    let text = format!("{HEAD}phases: []\ninputs: [{{name: spec, key: k, required: maybe}}]\n");
    assert_eq!(
        shape_error(&text),
        "w.yaml:7:41: expected `true` or `false`, found `maybe`"
    );
}

#[test]
fn null_for_a_string() {
    let text = HEAD.replace("name: w", "name:");
    assert_eq!(
        shape_error(&format!("{text}phases: []\n")),
        "w.yaml:1:5: expected a string, found nothing"
    );
}

#[test]
fn an_unknown_variant_lists_the_expected_ones() {
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    mode: {{parallel: {{topology: ring}}}}\n    steps: []\n"
    );
    assert_eq!(
        shape_error(&text),
        "w.yaml:9:33: expected one of `hierarchical`, `mesh`, `star`, found unknown variant `ring`"
    );
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    steps: []\n    on_fail: {{escalate: {{kind: panic}}}}\n"
    );
    assert_eq!(
        shape_error(&text),
        "w.yaml:10:32: expected one of `security_alert`, `data_risk`, `architecture_conflict`, `clarification_needed`, `technical_debt`, found unknown variant `panic`"
    );
}

#[test]
fn a_missing_field_points_at_its_mapping() {
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    steps:\n      - agent: a\n        reads: []\n"
    );
    assert_eq!(
        shape_error(&text),
        "w.yaml:10:9: expected field `task`, found a mapping without it"
    );
}

#[test]
fn a_duplicate_key() {
    assert_eq!(
        shape_error(&format!("{HEAD}name: again\nphases: []\n")),
        "w.yaml:6:1: expected unique keys, found duplicate key `name`"
    );
}

#[test]
fn syntax_errors_and_odd_documents() {
    assert_eq!(
        shape_error(""),
        "w.yaml:1:1: expected a workflow mapping, found an empty document"
    );
    assert_eq!(
        shape_error("- a\n"),
        "w.yaml:1:1: expected a mapping, found a sequence"
    );
    assert_eq!(
        shape_error("name: x\n  foo: bar\n"),
        "w.yaml:2:6: expected valid YAML, found a syntax error (mapping values are not allowed in this context)"
    );
    assert_eq!(
        shape_error(&format!("{HEAD}phases: []\n---\nname: y\n")),
        "w.yaml:8:1: expected a single YAML document, found a second one"
    );
    assert_eq!(
        shape_error("name: *nowhere\n"),
        "w.yaml:1:7: expected an alias of a defined anchor, found an unknown anchor"
    );
}

#[test]
fn aliases_and_merge_keys_load() {
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    steps: &steps\n      - {{agent: a, task: t}}\n  - id: q\n    title: t\n    steps: *steps\n"
    );
    if let Err(error) = load_str("w.yaml", &text) {
        panic!("{error}");
    }
}

#[test]
fn semantic_errors_behind_an_alias_point_at_the_anchor() {
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    steps: &steps\n      - {{agent: b, task: t}}\n  - id: q\n    title: t\n    steps: *steps\n"
    );
    let error = load_str("w.yaml", &text).err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        // Used by two phases, reported once: there is one place to fix.
        Some("w.yaml:10:17: expected one of the agents `a`, found unknown agent `b`")
    );
}

#[test]
fn every_message_is_one_line_in_the_house_format() {
    let broken = [
        "name: [x\n",
        "name: 'x\n",
        "name: \"\\q\"\n",
        "{a: b",
        "a: !!binary x\n",
        "name: &a x\nname2: *a\n",
    ];
    for text in broken {
        let error = match load_str("w.yaml", text) {
            Err(error) => error,
            Ok(_) => panic!("loaded: {text}"),
        };
        for diagnostic in error.diagnostics() {
            assert!(!diagnostic.message.contains('\n'), "{diagnostic}");
            assert!(diagnostic.message.starts_with("expected "), "{diagnostic}");
            assert!(diagnostic.message.contains(", found "), "{diagnostic}");
            assert!(
                diagnostic.line >= 1 && diagnostic.column >= 1,
                "{diagnostic}"
            );
        }
    }
}

#[test]
fn errors_display_one_diagnostic_per_line() {
    let diagnostic = |line, message: &str| Diagnostic {
        source: "f.yaml".to_string(),
        line,
        column: 3,
        message: message.to_string(),
    };
    let parse = LoadError::Parse(diagnostic(1, "expected a, found b"));
    assert_eq!(parse.to_string(), "f.yaml:1:3: expected a, found b");
    let invalid = LoadError::Invalid(vec![diagnostic(1, "one"), diagnostic(2, "two")]);
    assert_eq!(invalid.to_string(), "f.yaml:1:3: one\nf.yaml:2:3: two");
    assert_eq!(invalid.diagnostics().len(), 2);
}

#[test]
fn unit_variants_are_plain_words() {
    let text = format!(
        "{HEAD}phases:\n  - id: p\n    title: t\n    mode: sequential\n    steps: [{{agent: a, task: t}}]\n    on_fail: abort\n"
    );
    if let Err(error) = load_str("w.yaml", &text) {
        panic!("{error}");
    }
}

#[test]
fn columns_count_characters() {
    // Both the deserializer's positions and the span index count characters, not bytes.
    let text = "name: w\ndescription: d\nmemory_pattern: \"m/{agent}/{deliverable}\"\nagents: [{id: é, description: ü, focus: 3}]\nphases: []\n";
    assert_eq!(
        shape_error(text),
        "w.yaml:4:41: expected a sequence, found `3`"
    );
}
