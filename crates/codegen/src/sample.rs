//! Test and seed data: valid sample values of a field (three distinct ones per field, also for
//! unique fields and patterns), invalid values for each constraint, and how SQLite orders and
//! compares what is stored, so that the generated tests can state exact expectations.

use std::cmp::Ordering;

use apiwright_spec::{Field, FieldType};
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::Value;

use crate::names;

/// How many distinct samples the tests use.
pub(crate) const SAMPLES: usize = 3;

/// A stored value, ordered as SQLite orders it (NULL, then numbers, then text by bytes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stored {
    Null,
    Integer(i64),
    Text(String),
}

/// The value of sample `n` of a non-reference field.
pub(crate) fn value(field: &Field, n: usize) -> Value {
    match field.field_type {
        FieldType::String | FieldType::Text => Value::from(text(field, n)),
        FieldType::Email => Value::from(email(field, n)),
        FieldType::Integer => Value::from(integer(field, n)),
        FieldType::Decimal => Value::from(format_minor(decimal(field, n))),
        FieldType::Boolean => Value::from(n.is_multiple_of(2)),
        FieldType::DateTime => Value::from(format!("2024-{:02}-15T10:30:00.000000Z", n + 1)),
        FieldType::Enum => field
            .values
            .get(n % field.values.len().max(1))
            .map_or(Value::Null, |value| Value::from(value.as_str())),
        FieldType::Uuid => Value::from(format!("5a3e8c1d-0000-4000-8000-{:012}", n + 1)),
        FieldType::Reference => Value::Null,
    }
}

fn text(field: &Field, n: usize) -> String {
    if let Some(pattern) = &field.pattern
        && let Some(sample) = pattern_sample(pattern, n)
    {
        return sample;
    }
    let min = field.min_length.map_or(0, |min| min as usize);
    let max = field.max_length.map_or(usize::MAX, |max| max as usize);
    let mut text = format!("{} {}", names::sentence(&field.name), n + 1);
    if text.chars().count() > max {
        text = (n + 1).to_string();
    }
    while text.chars().count() < min {
        text.push('x');
    }
    text
}

fn email(field: &Field, n: usize) -> String {
    let max = field.max_length.map_or(usize::MAX, |max| max as usize);
    let min = field.min_length.map_or(0, |min| min as usize);
    let mut local = format!("{}{}", field.name.replace('_', "."), n + 1);
    if local.len() + "@example.com".len() > max {
        local = format!("u{}", n + 1);
    }
    while local.len() + "@example.com".len() < min {
        local.push('x');
    }
    format!("{local}@example.com")
}

fn integer(field: &Field, n: usize) -> i64 {
    let n = n as i64;
    let min = field.min.map(|min| min as i64);
    let max = field.max.map(|max| max as i64);
    match (min, max) {
        (Some(min), Some(max)) => min + n % (max - min + 1).max(1),
        (Some(min), None) => min + n,
        (None, Some(max)) => max - n,
        (None, None) => 10 * (n + 1),
    }
}

/// A sample decimal, in minor units.
fn decimal(field: &Field, n: usize) -> i64 {
    let n = n as i64;
    let min = field.min.map(to_minor);
    let max = field.max.map(to_minor);
    match (min, max) {
        (Some(min), Some(max)) => {
            let step = ((max - min) / 4).clamp(1, 1050);
            (min + step * (n + 1)).min(max)
        }
        (Some(min), None) => min + 1050 * (n + 1),
        (None, Some(max)) => max - 1050 * (n + 1),
        (None, None) => 1050 * (n + 1),
    }
}

/// A decimal bound of the spec in minor units.
pub(crate) fn to_minor(value: f64) -> i64 {
    (value * 100.0).round() as i64
}

/// Minor units as the API writes them (`1250` → `12.50`).
pub(crate) fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let units = minor.unsigned_abs();
    format!("{sign}{}.{:02}", units / 100, units % 100)
}

/// What the database stores for a JSON value of `field` (references and uuids as given).
pub(crate) fn stored(field: &Field, value: &Value) -> Stored {
    match value {
        Value::Null => Stored::Null,
        Value::Bool(flag) => Stored::Integer(i64::from(*flag)),
        Value::Number(number) => Stored::Integer(number.as_i64().unwrap_or_default()),
        Value::String(text) if field.field_type == FieldType::Decimal => {
            Stored::Integer(parse_minor(text).unwrap_or_default())
        }
        Value::String(text) => Stored::Text(text.clone()),
        other => Stored::Text(other.to_string()),
    }
}

/// Parses a decimal string into minor units.
pub(crate) fn parse_minor(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    if fraction.len() > 2 {
        return None;
    }
    let minor = whole.parse::<i64>().ok()? * 100 + format!("{fraction:0<2}").parse::<i64>().ok()?;
    Some(if negative { -minor } else { minor })
}

/// The order of `values` (stored values, in creation order) under `ORDER BY value, rowid`,
/// reversed for descending.
pub(crate) fn sort_order(values: &[Stored], descending: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].cmp(&values[*b]).then(a.cmp(b)));
    if descending {
        order.reverse();
    }
    order
}

/// Whether SQLite's `LIKE '%needle%'` matches (ASCII case-insensitive).
pub(crate) fn like(haystack: &Stored, needle: &str) -> bool {
    match haystack {
        Stored::Text(text) => text
            .to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase()),
        Stored::Integer(number) => number.to_string().contains(needle),
        Stored::Null => false,
    }
}

/// Compare two stored values for equality as a filter does.
pub(crate) fn same(a: &Stored, b: &Stored) -> bool {
    a.cmp(b) == Ordering::Equal && *a != Stored::Null
}

/// Invalid values of a field, as Rust expressions of type `Option<Value>` (`None`: absent),
/// each with what it violates. `creating`: the cases of a create body (absence included).
pub(crate) fn invalid(field: &Field, creating: bool) -> Vec<(String, &'static str)> {
    let mut cases: Vec<(String, &'static str)> = Vec::new();
    let text = |value: &str| format!("Some(json!({}))", names::rust_string(value));
    if field.required && field.default.is_none() && creating {
        cases.push(("None".to_owned(), "required"));
    }
    if field.required || field.default.is_some() {
        cases.push(("Some(Value::Null)".to_owned(), "not null"));
    }
    match field.field_type {
        FieldType::String | FieldType::Text | FieldType::Email => {
            cases.push(("Some(json!(42))".to_owned(), "type"));
            if field.field_type == FieldType::Email {
                cases.push((text("not-an-email"), "format"));
            }
            if let Some(min) = field.min_length.filter(|min| *min > 0) {
                let expression = match min {
                    1 => text(""),
                    2 => text("x"),
                    _ => format!("Some(json!(\"x\".repeat({})))", min - 1),
                };
                cases.push((expression, "min_length"));
            }
            if let Some(max) = field.max_length {
                cases.push((
                    format!("Some(json!(\"x\".repeat({})))", max + 1),
                    "max_length",
                ));
            }
            if let Some(pattern) = &field.pattern
                && let Some(bad) = not_matching(pattern)
            {
                cases.push((text(&bad), "pattern"));
            }
        }
        FieldType::Integer => {
            cases.push((text("7"), "type"));
            cases.push(("Some(json!(1.5))".to_owned(), "type"));
            if let Some(min) = field.min {
                cases.push((format!("Some(json!({}))", min as i64 - 1), "min"));
            }
            if let Some(max) = field.max {
                cases.push((format!("Some(json!({}))", max as i64 + 1), "max"));
            }
        }
        FieldType::Decimal => {
            cases.push(("Some(json!(12.5))".to_owned(), "type"));
            cases.push((text("1.234"), "fraction digits"));
            cases.push((text("ten"), "format"));
            if let Some(min) = field.min {
                cases.push((text(&format_minor(to_minor(min) - 1)), "min"));
            }
            if let Some(max) = field.max {
                cases.push((text(&format_minor(to_minor(max) + 1)), "max"));
            }
        }
        FieldType::Boolean => cases.push((text("yes"), "type")),
        FieldType::DateTime => {
            cases.push((text("yesterday"), "format"));
            cases.push((text("2024-13-45T10:30:00Z"), "format"));
        }
        FieldType::Enum => {
            let mut bad = "not-a-valid-value".to_owned();
            while field.values.contains(&bad) {
                bad.push('x');
            }
            cases.push((text(&bad), "enum"));
            cases.push(("Some(json!(1))".to_owned(), "type"));
        }
        FieldType::Uuid => cases.push((text("not-a-uuid"), "format")),
        FieldType::Reference => {
            cases.push((text("not-a-uuid"), "format"));
            cases.push(("Some(json!(MISSING))".to_owned(), "existence"));
        }
    }
    cases
}

/// A well-formed id that no record has.
pub(crate) const MISSING_ID: &str = "00000000-0000-4000-8000-000000000000";

/// A query value that is not a valid filter for `field`, if there is one.
pub(crate) fn invalid_filter(field: &Field) -> Option<&'static str> {
    match field.field_type {
        FieldType::Integer => Some("many"),
        FieldType::Decimal => Some("1.234"),
        FieldType::Boolean => Some("maybe"),
        FieldType::DateTime => Some("yesterday"),
        FieldType::Enum => Some("not-a-valid-value"),
        FieldType::Uuid | FieldType::Reference => Some("not-a-uuid"),
        FieldType::Email => Some("not-an-email"),
        FieldType::String | FieldType::Text => None,
    }
    .filter(|value| !field.values.iter().any(|allowed| allowed == value))
}

/// A string that does not match `pattern`.
fn not_matching(pattern: &str) -> Option<String> {
    let regex = regex::Regex::new(pattern).ok()?;
    ["!", "not valid!", "", "0", "a", "A", "@@@", "x y z"]
        .into_iter()
        .find(|candidate| !regex.is_match(candidate))
        .map(str::to_owned)
}

/// Piece of a string generated from a pattern: fixed text, or a choice of characters.
enum Piece {
    Fixed(String),
    Choice(Vec<char>),
}

/// The `n`-th string matching `pattern` in a simple enumeration: the first alternative of
/// each alternation, the smallest repetition (at least one), and the characters of the
/// classes varied from the end, so that different `n` give different strings.
pub(crate) fn pattern_sample(pattern: &str, n: usize) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut pieces = Vec::new();
    walk(&hir, &mut pieces)?;
    let mut rest = n;
    let mut chosen: Vec<String> = Vec::with_capacity(pieces.len());
    for piece in pieces.iter().rev() {
        match piece {
            Piece::Fixed(text) => chosen.push(text.clone()),
            Piece::Choice(chars) => {
                let len = chars.len().max(1);
                chosen.push(
                    chars
                        .get(rest % len)
                        .map(char::to_string)
                        .unwrap_or_default(),
                );
                rest /= len;
            }
        }
    }
    chosen.reverse();
    let sample = chosen.concat();
    let regex = regex::Regex::new(pattern).ok()?;
    regex.is_match(&sample).then_some(sample)
}

fn walk(hir: &Hir, pieces: &mut Vec<Piece>) -> Option<()> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => {
            pieces.push(Piece::Fixed(String::from_utf8(literal.0.to_vec()).ok()?));
        }
        HirKind::Class(class) => pieces.push(Piece::Choice(class_chars(class))),
        HirKind::Repetition(repetition) => {
            let count = repetition
                .min
                .max(1)
                .min(repetition.max.unwrap_or(u32::MAX));
            for _ in 0..count {
                walk(&repetition.sub, pieces)?;
            }
        }
        HirKind::Capture(capture) => walk(&capture.sub, pieces)?,
        HirKind::Concat(parts) => {
            for part in parts {
                walk(part, pieces)?;
            }
        }
        HirKind::Alternation(alternatives) => walk(alternatives.first()?, pieces)?,
    }
    Some(())
}

/// Up to 16 printable ASCII characters of a class (any characters when it has none).
fn class_chars(class: &Class) -> Vec<char> {
    let ranges: Vec<(char, char)> = match class {
        Class::Unicode(class) => class
            .ranges()
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect(),
        Class::Bytes(class) => class
            .ranges()
            .iter()
            .map(|r| (char::from(r.start()), char::from(r.end())))
            .collect(),
    };
    let all = ranges.iter().flat_map(|(start, end)| *start..=*end);
    // Letters and digits read best; other printable characters come after them.
    let mut printable: Vec<char> = all
        .clone()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    printable.extend(
        all.clone()
            .filter(|c| c.is_ascii_graphic() && !c.is_ascii_alphanumeric())
            .take(16 - printable.len()),
    );
    if printable.is_empty() {
        all.filter(|c| !c.is_control()).take(16).collect()
    } else {
        printable
    }
}

/// A JSON value as a Rust expression for `json!(…)`.
pub(crate) fn json_literal(value: &Value) -> String {
    match value {
        Value::String(text) => names::rust_string(text),
        other => other.to_string(),
    }
}

/// Default of a field as the API returns it.
pub(crate) fn default_as_returned(field: &Field) -> Option<Value> {
    let default = field.default.as_ref()?;
    Some(match (field.field_type, default) {
        (FieldType::Decimal, Value::String(text)) => {
            Value::from(format_minor(parse_minor(text).unwrap_or_default()))
        }
        (FieldType::Decimal, Value::Number(number)) => {
            Value::from(format_minor(to_minor(number.as_f64().unwrap_or_default())))
        }
        (FieldType::DateTime, Value::String(text)) => Value::from(normalize_timestamp(text)),
        _ => default.clone(),
    })
}

/// `2024-01-15T10:30:00Z` → `2024-01-15T10:30:00.000000Z` (UTC inputs only; others as given).
fn normalize_timestamp(text: &str) -> String {
    match text.strip_suffix('Z') {
        Some(base) if base.len() == 19 => format!("{base}.000000Z"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_samples_match_and_differ() {
        let pattern = "^[0-9]{9}[0-9X]$|^[0-9]{13}$";
        let samples: Vec<String> = (0..3).filter_map(|n| pattern_sample(pattern, n)).collect();
        assert_eq!(samples, ["0000000000", "0000000001", "0000000002"]);
        assert_eq!(
            pattern_sample("^[A-Z]{2}-\\d+$", 27).as_deref(),
            Some("AC-7")
        );
        assert_eq!(not_matching("^[a-z]+$").as_deref(), Some("!"));
    }

    #[test]
    fn orders_like_sqlite() {
        let values = [Stored::Integer(1), Stored::Integer(0), Stored::Integer(1)];
        assert_eq!(sort_order(&values, false), [1, 0, 2]);
        assert_eq!(sort_order(&values, true), [2, 0, 1]);
        assert!(Stored::Null < Stored::Integer(-5));
        assert!(like(&Stored::Text("Title 2".into()), "title 2"));
    }

    #[test]
    fn decimals_round_trip() {
        assert_eq!(format_minor(1250), "12.50");
        assert_eq!(format_minor(-1), "-0.01");
        assert_eq!(parse_minor("12.5"), Some(1250));
        assert_eq!(parse_minor("1.234"), None);
        assert_eq!(to_minor(10000.0), 1_000_000);
    }
}
