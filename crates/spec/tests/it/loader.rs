//! Shape errors (from the deserializer) through the public API, in the house format.

use apiwright_spec::SpecError;
use apiwright_spec::load_str;
use pretty_assertions::assert_eq;

const HEAD: &str = "api: { name: shop, version: 1.0.0 }
resources:
  - name: item
    fields:
";

fn shape_error(text: &str) -> String {
    match load_str("s.yaml", text) {
        Err(SpecError::Parse(diagnostic)) => diagnostic.to_string(),
        Err(other) => panic!("semantic errors instead of a shape error:\n{other}"),
        Ok(_) => panic!("loaded, but a shape error was expected:\n{text}"),
    }
}

#[test]
fn an_empty_document() {
    assert_eq!(
        shape_error(""),
        "s.yaml:1:1: expected a spec mapping, found an empty document"
    );
}

#[test]
fn an_unknown_field_type() {
    let text = format!("{HEAD}      - {{ name: a, type: money }}\n");
    assert_eq!(
        shape_error(&text),
        "s.yaml:5:26: expected one of `string`, `text`, `integer`, `decimal`, `boolean`, `date-time`, `enum`, `email`, `uuid`, `reference`, found unknown variant `money`"
    );
}

#[test]
fn an_unknown_key_of_a_field() {
    let text = format!("{HEAD}      - {{ name: a, type: string, maxlength: 3 }}\n");
    let error = shape_error(&text);
    assert!(
        error.starts_with("s.yaml:5:34: expected one of `name`, `type`, `required`"),
        "{error}"
    );
    assert!(
        error.ends_with("found unknown field `maxlength`"),
        "{error}"
    );
}

#[test]
fn a_missing_required_key_points_at_its_mapping() {
    let text = format!("{HEAD}      - {{ name: a }}\n");
    assert_eq!(
        shape_error(&text),
        "s.yaml:5:9: expected field `type`, found a mapping without it"
    );
}

#[test]
fn a_wrong_type() {
    let text =
        format!("{HEAD}      - {{ name: a, type: string }}\n    list: {{ page_size: many }}\n");
    assert_eq!(
        shape_error(&text),
        "s.yaml:6:24: expected a non-negative integer, found `many`"
    );
}

#[test]
fn a_missing_resources_list() {
    assert_eq!(
        shape_error("api: { name: shop, version: 1.0.0 }\n"),
        "s.yaml:1:1: expected field `resources`, found a mapping without it"
    );
}

#[test]
fn errors_display_one_diagnostic_per_line() {
    let text = "api: { name: Shop, version: one }\nresources: []\n";
    let Err(error) = load_str("s.yaml", text) else {
        panic!("loaded")
    };
    assert_eq!(error.diagnostics().len(), 3);
    assert_eq!(
        error.to_string(),
        "s.yaml:1:14: expected a lowercase name (`a-z`, `0-9` and `-`, starting with a letter), found `Shop`\n\
         s.yaml:1:29: expected a semantic version such as `1.0.0`, found `one`\n\
         s.yaml:2:12: expected at least one resource, found an empty list"
    );
}

#[test]
fn booleans_are_yaml_1_2() {
    // `y`, `yes`, `no`, `on` are strings: an enum can have them as values and as default.
    let text = format!("{HEAD}      - {{ name: a, type: enum, values: [y, n], default: y }}\n");
    let spec = load_str("s.yaml", &text).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        spec.resources[0].fields[0].default,
        Some(serde_json::json!("y"))
    );
    // ... and do not fill a boolean.
    let text = format!("{HEAD}      - {{ name: a, type: string, required: yes }}\n");
    assert_eq!(
        shape_error(&text),
        "s.yaml:5:44: expected `true` or `false`, found `yes`"
    );
}

#[test]
fn an_unquoted_version_is_read_as_text() {
    let text = format!("{HEAD}      - {{ name: a, type: string }}\n").replace("1.0.0", "1.0");
    let Err(error) = load_str("s.yaml", &text) else {
        panic!("loaded")
    };
    assert_eq!(
        error.to_string(),
        "s.yaml:1:29: expected a semantic version such as `1.0.0`, found `1.0`"
    );
}

#[test]
fn every_truncation_of_an_example_loads_or_fails_without_panicking() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/order-service.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{error}"));
    let mut failures = 0;
    for (cut, _) in text.char_indices().step_by(7) {
        if let Err(error) = load_str("o.yaml", &text[..cut]) {
            failures += 1;
            for diagnostic in error.diagnostics() {
                assert!(
                    diagnostic.line >= 1 && diagnostic.column >= 1,
                    "{diagnostic}"
                );
                assert!(diagnostic.message.starts_with("expected "), "{diagnostic}");
                assert!(!diagnostic.message.contains('\n'), "{diagnostic}");
            }
        }
    }
    assert!(failures > 0);
}
