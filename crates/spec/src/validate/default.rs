//! Defaults: a field's `default` must have the field's type and satisfy its constraints.

use apiwright_yaml::Path;
use serde_json::Value;

use super::Checker;
use super::fields::article;
use super::fields::fraction_digits;
use super::fields::number;
use super::list;
use crate::model::Field;
use crate::model::FieldType;

/// A default as quoted in messages: strings say they are strings, so that `"5"` and `5` differ.
fn show(value: &Value) -> String {
    match value {
        Value::String(text) => format!("the string `{text}`"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
        other => format!("`{other}`"),
    }
}

/// `local@domain.tld`, without spaces: the same shape check the generated service makes.
pub(crate) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && domain
            .split_once('.')
            .is_some_and(|(host, tld)| !host.is_empty() && !tld.is_empty())
        && !domain.ends_with('.')
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hexadecimal.
pub(crate) fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(index, c)| match index {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An RFC 3339 timestamp with an offset.
pub(crate) fn is_date_time(text: &str) -> bool {
    text.parse::<jiff::Timestamp>().is_ok()
}

/// A decimal written as `12`, `12.5` or `-12.50` (at most 2 fraction digits), as a number.
fn decimal(value: &Value) -> Option<f64> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let digits = text.strip_prefix('-').unwrap_or(&text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !whole.is_empty()
        && all_digits(whole)
        && all_digits(fraction)
        && (fraction_digits(digits) <= 2)
        && !(digits.contains('.') && fraction.is_empty());
    // A YAML number such as `5.0` reads back as `5.0`: one zero digit is fine.
    well_formed.then(|| text.parse().ok()).flatten()
}

impl Checker<'_> {
    /// `applicable` is false when the field has constraints its type does not take (already
    /// reported), so the default is only checked against its type.
    pub(super) fn default(&mut self, field: &Field, at: &Path, applicable: bool) {
        let Some(value) = &field.default else {
            return;
        };
        let ty = field.field_type;
        let at = at.key("default");
        let text = value.as_str();
        let wanted = match ty {
            FieldType::String | FieldType::Text => text.is_none().then_some("a string"),
            FieldType::Email => (!text.is_some_and(is_email)).then_some("an email address"),
            FieldType::Uuid => (!text.is_some_and(is_uuid)).then_some("a UUID"),
            FieldType::DateTime => (!text.is_some_and(is_date_time))
                .then_some("an RFC 3339 timestamp such as `2025-01-31T12:00:00Z`"),
            FieldType::Boolean => (!value.is_boolean()).then_some("`true` or `false`"),
            FieldType::Integer => (value.as_i64().is_none()).then_some("a whole number"),
            FieldType::Decimal => (decimal(value).is_none())
                .then_some("a decimal with at most 2 decimal places such as `9.99`"),
            FieldType::Enum => text.is_none().then_some("one of the values"),
            FieldType::Reference => {
                self.report_key(
                    at,
                    format!(
                        "expected no default on a reference field, found {}",
                        show(value)
                    ),
                );
                return;
            }
        };
        if let Some(wanted) = wanted {
            self.report(
                at,
                format!(
                    "expected {wanted} as the default of {} {ty} field, found {}",
                    article(ty.as_str()),
                    show(value)
                ),
            );
            return;
        }
        if !applicable {
            return;
        }
        let number = match ty {
            FieldType::Integer => value.as_i64().map(|n| n as f64),
            FieldType::Decimal => decimal(value),
            _ => None,
        };
        if let Some(number) = number {
            self.default_range(field, &at, number, value);
        }
        if let Some(text) = text {
            self.default_text(field, &at, text);
        }
    }

    fn default_range(&mut self, field: &Field, at: &Path, number: f64, value: &Value) {
        if let Some(min) = field.min
            && number < min
        {
            self.report(
                at.clone(),
                format!(
                    "expected a default ≥ `min` ({}), found {}",
                    self::number(min),
                    show(value)
                ),
            );
        }
        if let Some(max) = field.max
            && number > max
        {
            self.report(
                at.clone(),
                format!(
                    "expected a default ≤ `max` ({}), found {}",
                    self::number(max),
                    show(value)
                ),
            );
        }
    }

    fn default_text(&mut self, field: &Field, at: &Path, text: &str) {
        let ty = field.field_type;
        if ty == FieldType::Enum {
            if !field.values.is_empty() && !field.values.iter().any(|v| v == text) {
                self.report(
                    at.clone(),
                    format!(
                        "expected one of the values ({}), found `{text}`",
                        list(field.values.iter().map(String::as_str))
                    ),
                );
            }
            return;
        }
        if !ty.is_text_like() {
            return;
        }
        let length = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
        if let Some(min) = field.min_length
            && length < min
        {
            self.report(
                at.clone(),
                format!(
                    "expected a default of at least `min_length` ({min}) characters, found `{text}` ({length})"
                ),
            );
        }
        if let Some(max) = field.max_length
            && length > max
        {
            self.report(
                at.clone(),
                format!(
                    "expected a default of at most `max_length` ({max}) characters, found `{text}` ({length})"
                ),
            );
        }
        let pattern = field
            .pattern
            .as_deref()
            .and_then(|pattern| regex::Regex::new(pattern).ok());
        if let Some(pattern) = pattern
            && !pattern.is_match(text)
        {
            self.report(
                at.clone(),
                format!(
                    "expected a default matching `pattern` ({}), found `{text}`",
                    pattern.as_str()
                ),
            );
        }
    }
}
