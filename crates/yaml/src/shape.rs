//! serde-saphyr's shape errors (malformed YAML, wrong types, unknown or missing fields) in the
//! house format: `expected …, found …` at the position of the offending node.

use serde_saphyr::MessageFormatter;

use crate::diagnostic::Diagnostic;
use crate::diagnostic::diagnostic;
use crate::span_index::NodeKind;
use crate::span_index::Position;
use crate::span_index::SpanIndex;

/// Rewrites a deserializer error into the house format, without serde-saphyr's own location
/// suffix and source snippet (the diagnostic carries the position). `document` names what the
/// text should be (`workflow`, `spec`) in the messages that cannot name a node.
pub fn shape_error(
    source: &str,
    text: &str,
    error: &serde_saphyr::Error,
    document: &str,
) -> Diagnostic {
    use serde_saphyr::Error;

    let mut error = error;
    // Report the original error: the snippet wrapper only adds text, and for an alias the
    // inner error points at the anchored text, which is what has to change.
    while let Error::WithSnippet { error: inner, .. } | Error::AliasError { error: inner, .. } =
        error
    {
        error = inner;
    }
    let mut position = error
        .location()
        .filter(|location| location.line() > 0)
        .map_or(Position::START, |location| Position {
            line: location.line(),
            column: location.column().max(1),
        });
    let index = SpanIndex::build(text);
    let found = index
        .node_at(position)
        .map_or_else(|| "something else".to_string(), NodeKind::to_string);
    let message = match error {
        Error::SerdeUnknownField {
            field, expected, ..
        } if expected.is_empty() => {
            format!("expected no fields, found unknown field `{field}`")
        }
        Error::SerdeUnknownField {
            field, expected, ..
        } => {
            format!(
                "expected one of {}, found unknown field `{field}`",
                list(expected)
            )
        }
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "expected one of {}, found unknown variant `{variant}`",
            list(expected)
        ),
        Error::SerdeMissingField { field, .. } => {
            // serde-saphyr points at the mapping's last key; its start names the object.
            position = index.mapping_around(position).unwrap_or(position);
            format!("expected field `{field}`, found a mapping without it")
        }
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | Error::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => format!("expected {expected}, found {unexpected}"),
        Error::SerdeInvalidLength { len, expected, .. } => {
            format!("expected {expected}, found {len} elements")
        }
        Error::Unexpected { expected, .. } => {
            format!("expected {}, found {found}", describe_expected(expected))
        }
        Error::InvalidScalar { ty, .. } => format!("expected {}, found {found}", describe_type(ty)),
        Error::InvalidBooleanStrict { .. } => format!("expected `true` or `false`, found {found}"),
        Error::NullIntoString { .. } => format!("expected a string, found {found}"),
        Error::DuplicateMappingKey { key: Some(key), .. } => {
            format!("expected unique keys, found duplicate key `{key}`")
        }
        Error::DuplicateMappingKey { key: None, .. } => {
            "expected unique keys, found a duplicate key".to_string()
        }
        Error::Eof { .. } if text.trim().is_empty() => {
            format!("expected a {document} mapping, found an empty document")
        }
        Error::Eof { .. } => "expected the rest of the document, found end of input".to_string(),
        Error::MultipleDocuments { .. } => {
            "expected a single YAML document, found a second one".to_string()
        }
        Error::UnknownAnchor { .. } => {
            "expected an alias of a defined anchor, found an unknown anchor".to_string()
        }
        Error::ExpectedMappingEndAfterEnumVariantValue { .. } => {
            "expected a single key naming the variant, found more keys".to_string()
        }
        Error::ExternalMessage { msg, .. } => {
            format!("expected valid YAML, found a syntax error ({msg})")
        }
        other => format!(
            "expected a valid {document}, found {}",
            serde_saphyr::DefaultMessageFormatter.format_message(other)
        ),
    };
    diagnostic(source, position, message)
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// serde-saphyr's internal names of the node it wanted, in words.
fn describe_expected(expected: &str) -> String {
    match expected {
        "sequence start" => "a sequence",
        "mapping start" | "empty mapping start" => "a mapping",
        "string scalar" | "str expected" | "missing string" => "a string",
        "scalar" | "value" => "a scalar value",
        "bool expected" | "missing bool" => "`true` or `false`",
        other => return other.to_string(),
    }
    .to_string()
}

/// serde-saphyr's names of scalar types (`u32`, `floating point`), in words.
fn describe_type(ty: &str) -> String {
    let digits = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    match ty {
        _ if ty.strip_prefix('u').is_some_and(digits) || ty == "usize" => {
            "a non-negative integer".to_string()
        }
        _ if ty.strip_prefix('i').is_some_and(digits) || ty == "isize" => "an integer".to_string(),
        "f32" | "f64" | "floating point" => "a number".to_string(),
        "bool" | "boolean" => "`true` or `false`".to_string(),
        "char" => "a single character".to_string(),
        other => format!("a {other}"),
    }
}
