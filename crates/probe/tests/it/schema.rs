//! Samples are valid, invalid variants are invalid, and validation names instance paths.

use apiwright_probe::openapi::Api;
use apiwright_probe::schema;
use apiwright_probe::schema::Hints;
use apiwright_probe::schema::InvalidBody;
use serde_json::Value;
use serde_json::json;

use crate::support;

fn schemas() -> Vec<Value> {
    vec![
        json!({"$ref": "#/components/schemas/NoteCreate"}),
        json!({"$ref": "#/components/schemas/Note"}),
        json!({"type": "string", "format": "email"}),
        json!({"type": "string", "format": "uuid"}),
        json!({"type": "string", "format": "date-time"}),
        json!({"type": "string", "format": "date"}),
        json!({"type": "string", "format": "uri"}),
        json!({"type": "string", "minLength": 40, "maxLength": 45}),
        json!({"type": "string", "maxLength": 3}),
        json!({"type": "string", "pattern": "^[0-9]{9}[0-9X]$|^[0-9]{13}$"}),
        json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,2})?$"}),
        json!({"type": "integer", "minimum": 10, "maximum": 12}),
        json!({"type": "integer", "exclusiveMinimum": 0, "multipleOf": 5}),
        json!({"type": "number", "maximum": -3}),
        json!({"type": ["null", "string"], "enum": [null, "a"]}),
        json!({"const": 7}),
        json!({"type": "array", "minItems": 2, "uniqueItems": true, "items": {"enum": ["x", "y", "z"]}}),
        json!({"type": "object", "required": ["isbn", "author_id", "rating"], "properties": {
            "isbn": {"type": "string", "pattern": "^[0-9]{9}[0-9X]$|^[0-9]{13}$"},
            "author_id": {"type": "string", "format": "uuid"},
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "nested": {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}}},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1}
        }}),
        json!({"oneOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "boolean"}}}, {"type": "string"}]}),
        json!({"anyOf": [{"type": "integer", "minimum": 3}]}),
    ]
}

#[test]
fn samples_validate_against_their_own_schema() {
    let api = support::api();
    for candidate in schemas() {
        let value = schema::sample(&api, &candidate, &Hints::new());
        let errors = schema::validate(&api, &candidate, &value);
        assert!(errors.is_empty(), "{candidate} sampled {value}: {errors:?}");
    }
}

#[test]
fn samples_differ_on_strings_and_use_hints() {
    let api = support::api();
    let note = json!({"$ref": "#/components/schemas/NoteCreate"});
    let first = schema::sample(&api, &note, &Hints::new());
    let second = schema::sample(&api, &note, &Hints::new());
    assert_ne!(first["title"], second["title"]);
    let mut hints = Hints::new();
    hints.insert("author_id", json!("1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
    let book = json!({"type": "object", "required": ["author_id"], "properties": {"author_id": {"type": "string", "format": "uuid"}}});
    assert_eq!(
        schema::sample(&api, &book, &hints)["author_id"],
        "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    );
}

#[test]
fn read_only_properties_are_left_out_of_requests_unless_required() {
    let api = Api::from_document(json!({"paths": {}})).unwrap();
    let candidate = json!({"type": "object", "properties": {
        "id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}}});
    let value = schema::sample(&api, &candidate, &Hints::new());
    assert!(value.get("id").is_none(), "{value}");
    assert!(value.get("name").is_some(), "{value}");
}

#[test]
fn every_invalid_variant_fails_validation() {
    let api = support::api();
    let note = json!({"$ref": "#/components/schemas/NoteCreate"});
    let variants = schema::invalid_variants(&api, &note);
    let labels: Vec<&str> = variants.iter().map(|v| v.label.as_str()).collect();
    for expected in [
        "missing required property `title`",
        "missing required property `priority`",
        "`priority` is a string instead of a number",
        "`priority` below minimum 1",
        "`priority` above maximum 5",
        "`title` shorter than minLength 1",
        "`title` longer than maxLength 50",
        "`tag` not one of its enum values",
        "unknown property `probe_unknown_field` (additionalProperties: false)",
        "malformed JSON",
    ] {
        assert!(
            labels.contains(&expected),
            "{expected} missing from {labels:?}"
        );
    }
    for variant in &variants {
        match &variant.body {
            InvalidBody::Json(value) => {
                assert!(
                    !schema::validate(&api, &note, value).is_empty(),
                    "{} passes validation: {value}",
                    variant.label
                );
            }
            InvalidBody::Raw { bytes, .. } => {
                let parsed: Result<Value, _> = serde_json::from_slice(bytes);
                let oversized = bytes.len() > 2 * 1024 * 1024;
                assert!(
                    parsed.is_err() || oversized,
                    "{} is acceptable JSON",
                    variant.label
                );
            }
        }
    }
}

#[test]
fn validation_names_the_instance_path() {
    let api = support::api();
    let errors = schema::validate(
        &api,
        &json!({"$ref": "#/components/schemas/Note"}),
        &json!({"id": 1, "title": "t", "priority": "high"}),
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("/priority: "), "{errors:?}");
    let errors = schema::validate(
        &api,
        &json!({"type": "string", "format": "email"}),
        &json!("nope"),
    );
    assert!(errors[0].starts_with("/: "), "{errors:?}");
}
