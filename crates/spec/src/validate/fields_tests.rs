//! One test per field rule: names, constraints that only apply to some types, consistent
//! bounds, patterns that compile, enum values, references, and defaults that fit.

use pretty_assertions::assert_eq;

use crate::load_str;
use crate::validate::tests::errors;

/// A spec whose one resource `item` has the given field lines (each `      - {…}`).
fn with_fields(fields: &[&str]) -> String {
    let mut text = "\
api: { name: shop, version: 1.0.0 }
resources:
  - name: item
    fields:
"
    .to_string();
    for field in fields {
        text.push_str("      - ");
        text.push_str(field);
        text.push('\n');
    }
    text
}

#[test]
fn field_names_are_snake_case_unique_and_not_generated() {
    let text = with_fields(&[
        "{ name: Title, type: string }",
        "{ name: title, type: string }",
        "{ name: title, type: text }",
        "{ name: created_at, type: date-time }",
        "{ name: owner_id, type: uuid }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:17: expected a snake_case name (`a-z`, `0-9` and `_`, starting with a letter), found `Title`",
            "7:17: expected unique field names, found `title` again",
            "8:17: expected a name other than the generated fields (`id`, `created_at`, `updated_at`, `owner_id`), found `created_at`",
            "9:17: expected a name other than the generated fields (`id`, `created_at`, `updated_at`, `owner_id`), found `owner_id`",
        ]
    );
}

#[test]
fn a_resource_has_fields() {
    let text = "api: { name: shop, version: 1.0.0 }\nresources:\n  - name: item\n    fields: []\n";
    assert_eq!(
        errors(text),
        ["4:13: expected at least one field, found an empty list"]
    );
}

#[test]
fn constraints_only_where_they_apply() {
    let text = with_fields(&[
        "{ name: a, type: string, min: 1, max: 2 }",
        "{ name: b, type: integer, min_length: 1, max_length: 2 }",
        "{ name: c, type: text, pattern: x }",
        "{ name: d, type: string, values: [x] }",
        "{ name: e, type: string, to: item }",
        "{ name: f, type: email, min_length: 3, pattern: \"@\" }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:34: expected `min` only on integer and decimal fields, found it on a string field",
            "5:42: expected `max` only on integer and decimal fields, found it on a string field",
            "6:35: expected `min_length` only on string, text and email fields, found it on an integer field",
            "6:50: expected `max_length` only on string, text and email fields, found it on an integer field",
            "7:32: expected `pattern` only on string fields, found it on a text field",
            "8:34: expected `values` only on enum fields, found it on a string field",
            "9:34: expected `to` only on reference fields, found it on a string field",
            "10:48: expected `pattern` only on string fields, found it on an email field",
        ]
    );
}

#[test]
fn numeric_bounds_are_ordered_and_fit_the_type() {
    let text = with_fields(&[
        "{ name: a, type: integer, min: 10, max: 1 }",
        "{ name: b, type: integer, min: 1.5 }",
        "{ name: c, type: decimal, min: 0.001, max: 1e300 }",
        "{ name: d, type: decimal, min: -5.25, max: 5.25 }",
        "{ name: e, type: integer, max: .inf }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:49: expected `max` ≥ `min` (10), found `1`",
            "6:40: expected a whole number for an integer field, found `1.5`",
            "7:40: expected at most 2 decimal places for a decimal field, found `0.001`",
            "7:52: expected a number between -2^53 and 2^53, found `1e300`",
            "9:40: expected a finite number, found `inf`",
        ]
    );
}

#[test]
fn lengths_are_ordered_and_positive() {
    let text = with_fields(&[
        "{ name: a, type: string, min_length: 5, max_length: 3 }",
        "{ name: b, type: text, max_length: 0 }",
        "{ name: c, type: email, min_length: 3, max_length: 3 }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:61: expected `max_length` ≥ `min_length` (5), found `3`",
            "6:44: expected a maximum length of at least 1, found `0`",
        ]
    );
}

#[test]
fn patterns_compile() {
    let text = with_fields(&[r#"{ name: code, type: string, pattern: "^[A-Z" }"#]);
    assert_eq!(
        errors(&text),
        ["5:46: expected a valid regular expression, found `^[A-Z` (unclosed character class)"]
    );
}

#[test]
fn enums_have_unique_non_empty_values() {
    let text = with_fields(&[
        "{ name: a, type: enum }",
        "{ name: b, type: enum, values: [x, \"\", x] }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:9: expected `values` listing the allowed values of an enum field, found none",
            "6:44: expected a non-empty value, found ``",
            "6:48: expected unique values, found `x` again",
        ]
    );
}

#[test]
fn references_name_a_declared_resource() {
    let text = with_fields(&[
        "{ name: a, type: reference }",
        "{ name: b, type: reference, to: nothing }",
        "{ name: c, type: reference, to: item }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:9: expected `to` naming the referenced resource, found a reference field without it",
            "6:41: expected the name of a declared resource (`item`), found `nothing`",
        ]
    );
}

#[test]
fn defaults_have_the_field_type() {
    let text = with_fields(&[
        "{ name: a, type: string, default: 5 }",
        "{ name: b, type: integer, default: \"5\" }",
        "{ name: c, type: integer, default: 2.5 }",
        "{ name: d, type: decimal, default: 1.234 }",
        "{ name: e, type: boolean, default: yes please }",
        "{ name: f, type: date-time, default: yesterday }",
        "{ name: g, type: email, default: nobody }",
        "{ name: h, type: uuid, default: 1234 }",
        "{ name: i, type: enum, values: [x, y], default: [x] }",
        "{ name: j, type: reference, to: item, default: 1 }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:43: expected a string as the default of a string field, found `5`",
            "6:44: expected a whole number as the default of an integer field, found the string `5`",
            "7:44: expected a whole number as the default of an integer field, found `2.5`",
            "8:44: expected a decimal with at most 2 decimal places such as `9.99` as the default of a decimal field, found `1.234`",
            "9:44: expected `true` or `false` as the default of a boolean field, found the string `yes please`",
            "10:46: expected an RFC 3339 timestamp such as `2025-01-31T12:00:00Z` as the default of a date-time field, found the string `yesterday`",
            "11:42: expected an email address as the default of an email field, found the string `nobody`",
            "12:41: expected a UUID as the default of a uuid field, found `1234`",
            "13:57: expected one of the values as the default of an enum field, found a list",
            "14:47: expected no default on a reference field, found `1`",
        ]
    );
}

#[test]
fn valid_defaults_of_every_type_load() {
    let text = with_fields(&[
        "{ name: a, type: string, default: hello, pattern: \"^h\", max_length: 5 }",
        "{ name: b, type: text, default: \"\" }",
        "{ name: c, type: integer, default: -3, min: -3 }",
        "{ name: d, type: decimal, default: \"12.50\", max: 12.5 }",
        "{ name: e, type: decimal, default: 7 }",
        "{ name: f, type: boolean, default: false }",
        "{ name: g, type: date-time, default: \"2025-01-31T12:00:00+01:00\" }",
        "{ name: h, type: email, default: a@b.example }",
        "{ name: i, type: uuid, default: 123e4567-e89b-12d3-a456-426614174000 }",
        "{ name: j, type: enum, values: [x, y], default: y }",
    ]);
    if let Err(error) = load_str("s.yaml", &text) {
        panic!("{error}");
    }
}

#[test]
fn defaults_satisfy_the_constraints() {
    let text = with_fields(&[
        "{ name: a, type: integer, min: 1, max: 5, default: 0 }",
        "{ name: b, type: decimal, max: 9.99, default: \"10.00\" }",
        "{ name: c, type: string, min_length: 3, max_length: 4, default: ab }",
        "{ name: d, type: text, max_length: 2, default: abc }",
        "{ name: e, type: string, pattern: \"^[0-9]+$\", default: abc }",
        "{ name: f, type: enum, values: [x, y], default: z }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "5:60: expected a default ≥ `min` (1), found `0`",
            "6:55: expected a default ≤ `max` (9.99), found the string `10.00`",
            "7:73: expected a default of at least `min_length` (3) characters, found `ab` (2)",
            "8:56: expected a default of at most `max_length` (2) characters, found `abc` (3)",
            "9:64: expected a default matching `pattern` (^[0-9]+$), found `abc`",
            "10:57: expected one of the values (`x`, `y`), found `z`",
        ]
    );
}

#[test]
fn a_default_is_not_checked_against_misplaced_constraints() {
    let text = with_fields(&["{ name: a, type: string, min: 10, default: abc }"]);
    assert_eq!(
        errors(&text),
        ["5:34: expected `min` only on integer and decimal fields, found it on a string field"]
    );
}
