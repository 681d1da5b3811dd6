//! Loading scripts from YAML and JSON files.

use std::path::Path;

use apiwright_fakemodel::Script;
use apiwright_fakemodel::ScriptError;
use serde_json::json;

pub const HELLO_YAML: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.yaml");

#[test]
fn the_example_yaml_script_loads() {
    let script = Script::from_file(Path::new(HELLO_YAML)).unwrap();
    assert_eq!(script.api_key, None);
    let names: Vec<&str> = script
        .conversations
        .iter()
        .map(|conversation| conversation.name.as_str())
        .collect();
    assert_eq!(names, vec!["weather", "hello"]);
    let weather = &script.conversations[0];
    assert_eq!(weather.turns[0].tool_calls[0].name, "get_weather");
    assert_eq!(
        weather.turns[0].tool_calls[0].arguments,
        json!({ "city": "Paris", "unit": "celsius" })
    );
    assert_eq!(weather.turns[0].delay_ms, 5);
    assert_eq!(weather.turns[1].expect, vec!["18"]);
    assert_eq!(
        weather.turns[1]
            .usage
            .map(|usage| (usage.input_tokens, usage.output_tokens)),
        Some((120, 12))
    );
}

#[test]
fn a_json_script_loads_with_faults_and_key() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("script.json");
    let text = json!({
        "api_key": "sk-test",
        "conversations": [{ "name": "c", "matches": ["x"], "turns": [{ "text": "y" }] }],
        "faults": [{ "request": 2, "status": 429, "retry_after_secs": 1 }],
    });
    std::fs::write(&path, text.to_string()).unwrap();
    let script = Script::from_file(&path).unwrap();
    assert_eq!(script.api_key.as_deref(), Some("sk-test"));
    assert_eq!(script.conversations[0].turns[0].text.as_deref(), Some("y"));
    assert_eq!(
        (
            script.faults[0].request,
            script.faults[0].status,
            script.faults[0].cut_stream
        ),
        (2, 429, false)
    );
}

#[test]
fn bad_scripts_are_errors() {
    let directory = tempfile::tempdir().unwrap();
    let unknown_field = directory.path().join("unknown.yaml");
    std::fs::write(
        &unknown_field,
        "conversations:\n  - name: a\n    turns: []\n    colour: red\n",
    )
    .unwrap();
    assert!(matches!(
        Script::from_file(&unknown_field),
        Err(ScriptError::Yaml { .. })
    ));
    let zero_fault = directory.path().join("zero.yaml");
    std::fs::write(&zero_fault, "faults:\n  - request: 0\n    status: 500\n").unwrap();
    assert!(matches!(
        Script::from_file(&zero_fault),
        Err(ScriptError::Invalid { .. })
    ));
    let missing = directory.path().join("missing.json");
    assert!(matches!(
        Script::from_file(&missing),
        Err(ScriptError::Read { .. })
    ));
}
