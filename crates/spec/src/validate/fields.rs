//! Fields: names, and constraints that apply to the field's type and are consistent.

use std::collections::HashSet;

use apiwright_yaml::Path;

use super::Checker;
use super::list;
use crate::helpers::GENERATED_FIELDS;
use crate::model::Field;
use crate::model::FieldType;
use crate::model::Resource;

/// Integers are 64-bit, but bounds are written as YAML numbers (doubles): beyond 2^53 they are
/// no longer exact.
const LARGEST_EXACT: f64 = 9_007_199_254_740_992.0;

/// `a` or `an` before a word.
pub(super) fn article(word: &str) -> &'static str {
    if word.starts_with("uu") {
        return "a";
    }
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// A number as written in messages (`5`, not `5.0`; `1e300`, not 301 digits).
pub(super) fn number(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e15 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Digits after the decimal point of a number written in its shortest form.
pub(super) fn fraction_digits(text: &str) -> usize {
    text.split_once('.')
        .map_or(0, |(_, fraction)| fraction.len())
}

impl Checker<'_> {
    pub(super) fn fields(&mut self, resource: &Resource, at: &Path) {
        if resource.fields.is_empty() {
            self.report(
                at.key("fields"),
                "expected at least one field, found an empty list",
            );
        }
        let mut seen = HashSet::new();
        for (index, field) in resource.fields.iter().enumerate() {
            let at = at.key("fields").index(index);
            let name = &field.name;
            if self.snake_case(name, at.key("name")) {
                if GENERATED_FIELDS.contains(&name.as_str()) {
                    self.report(
                        at.key("name"),
                        format!(
                            "expected a name other than the generated fields ({}), found `{name}`",
                            list(GENERATED_FIELDS)
                        ),
                    );
                } else if !seen.insert(name.as_str()) {
                    self.report(
                        at.key("name"),
                        format!("expected unique field names, found `{name}` again"),
                    );
                }
            }
            let applicable = self.applicable(field, &at);
            if applicable {
                self.numbers(field, &at);
                self.lengths(field, &at);
                self.pattern(field, &at);
                self.values(field, &at);
                self.to(field, &at);
            }
            self.default(field, &at, applicable);
        }
    }

    /// Constraints given on a type they do not apply to; returns whether all apply.
    fn applicable(&mut self, field: &Field, at: &Path) -> bool {
        let ty = field.field_type;
        let numeric = ty.is_numeric();
        let text = ty.is_text_like();
        let rules = [
            ("min", field.min.is_some(), numeric, "integer and decimal"),
            ("max", field.max.is_some(), numeric, "integer and decimal"),
            (
                "min_length",
                field.min_length.is_some(),
                text,
                "string, text and email",
            ),
            (
                "max_length",
                field.max_length.is_some(),
                text,
                "string, text and email",
            ),
            (
                "pattern",
                field.pattern.is_some(),
                ty == FieldType::String,
                "string",
            ),
            (
                "values",
                !field.values.is_empty(),
                ty == FieldType::Enum,
                "enum",
            ),
            (
                "to",
                field.to.is_some(),
                ty == FieldType::Reference,
                "reference",
            ),
        ];
        let mut ok = true;
        for (key, present, applies, types) in rules {
            if present && !applies {
                ok = false;
                self.report_key(
                    at.key(key),
                    format!(
                        "expected `{key}` only on {types} fields, found it on {} {ty} field",
                        article(ty.as_str())
                    ),
                );
            }
        }
        ok
    }

    fn numbers(&mut self, field: &Field, at: &Path) {
        let ty = field.field_type;
        let mut valid = true;
        for (key, bound) in [("min", field.min), ("max", field.max)] {
            let Some(value) = bound else { continue };
            let problem = if !value.is_finite() {
                Some("a finite number")
            } else if ty == FieldType::Integer && (value.fract() != 0.0) {
                Some("a whole number for an integer field")
            } else if value.abs() > LARGEST_EXACT {
                Some("a number between -2^53 and 2^53")
            } else if ty == FieldType::Decimal && fraction_digits(&format!("{value}")) > 2 {
                Some("at most 2 decimal places for a decimal field")
            } else {
                None
            };
            if let Some(expected) = problem {
                valid = false;
                self.report(
                    at.key(key),
                    format!("expected {expected}, found `{}`", number(value)),
                );
            }
        }
        if let (true, Some(min), Some(max)) = (valid, field.min, field.max)
            && min > max
        {
            self.report(
                at.key("max"),
                format!(
                    "expected `max` ≥ `min` ({}), found `{}`",
                    number(min),
                    number(max)
                ),
            );
        }
    }

    fn lengths(&mut self, field: &Field, at: &Path) {
        if field.max_length == Some(0) {
            self.report(
                at.key("max_length"),
                "expected a maximum length of at least 1, found `0`",
            );
        } else if let (Some(min), Some(max)) = (field.min_length, field.max_length)
            && min > max
        {
            self.report(
                at.key("max_length"),
                format!("expected `max_length` ≥ `min_length` ({min}), found `{max}`"),
            );
        }
    }

    fn pattern(&mut self, field: &Field, at: &Path) {
        let Some(pattern) = &field.pattern else {
            return;
        };
        if let Err(error) = regex::Regex::new(pattern) {
            let text = error.to_string();
            // A syntax error is several lines (the pattern, a caret, the reason): keep the reason.
            let reason = text
                .lines()
                .find_map(|line| line.trim().strip_prefix("error: "))
                .unwrap_or(&text);
            self.report(
                at.key("pattern"),
                format!("expected a valid regular expression, found `{pattern}` ({reason})"),
            );
        }
    }

    fn values(&mut self, field: &Field, at: &Path) {
        if field.field_type != FieldType::Enum {
            return;
        }
        if field.values.is_empty() {
            self.report(
                at.key("values"),
                "expected `values` listing the allowed values of an enum field, found none",
            );
            return;
        }
        let mut seen = HashSet::new();
        for (index, value) in field.values.iter().enumerate() {
            let path = at.key("values").index(index);
            if value.trim().is_empty() {
                self.report(path, format!("expected a non-empty value, found `{value}`"));
            } else if !seen.insert(value.as_str()) {
                self.report(
                    path,
                    format!("expected unique values, found `{value}` again"),
                );
            }
        }
    }

    fn to(&mut self, field: &Field, at: &Path) {
        if field.field_type != FieldType::Reference {
            return;
        }
        match &field.to {
            None => self.report(
                at.key("to"),
                "expected `to` naming the referenced resource, found a reference field without it",
            ),
            Some(to) if self.spec.resource(to).is_none() => {
                let names = self.resource_names_list();
                self.report(
                    at.key("to"),
                    format!("expected the name of a declared resource ({names}), found `{to}`"),
                );
            }
            Some(_) => {}
        }
    }

    /// The declared resource names, for messages.
    pub(super) fn resource_names_list(&self) -> String {
        list(self.spec.resources.iter().map(|r| r.name.as_str()))
    }
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
