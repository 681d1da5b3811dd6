//! Field rules and their checks, as far as the spec uses them: types, required fields, ranges,
//! lengths in characters, patterns, enum values, formats, defaults on create, and reference
//! existence. A body with an unknown or read-only field (`id`, `owner_id`, timestamps) is
//! refused as a whole, so nothing a client may not set is ever applied.

{% if uses.pattern %}
use std::sync::OnceLock;

{% endif %}
use rusqlite::types::Value as SqlValue;
{% if uses.reference %}
use rusqlite::{Connection, params};
{% endif %}
use serde_json::{Map, Value};

{% if uses.owned_reference %}
use crate::auth::AuthUser;
{% endif %}
use crate::error::{ApiError, FieldError};

/// Fields every record has that no request may set.
pub const READ_ONLY: &[&str] = &["id", "owner_id", "created_at", "updated_at"];

/// A writable field of a resource.
#[derive(Debug)]
pub struct Field {
    /// Name in JSON and column name.
    pub name: &'static str,
    /// Type and constraints.
    pub kind: Kind,
    /// Must be given on create, and can never be null.
    pub required: bool,
    /// Value used on create when the field is absent (such a field can never be null).
    pub default: Option<Preset>,
}

impl Field {
    /// Whether the field may be null.
    pub fn is_nullable(&self) -> bool {
        !self.required && self.default.is_none()
    }
}

/// Type and constraints of a field.
#[derive(Debug)]
pub enum Kind {
    /// A string (`string` and `text`).
    Text {
        /// Minimum length in characters.
        min_length: Option<usize>,
        /// Maximum length in characters.
        max_length: Option<usize>,
{% if uses.pattern %}
        /// A regular expression the value must match.
        pattern: Option<&'static Pattern>,
{% endif %}
    },
{% if uses.email %}
    /// An email address.
    Email {
        /// Minimum length in characters.
        min_length: Option<usize>,
        /// Maximum length in characters.
        max_length: Option<usize>,
    },
{% endif %}
{% if uses.integer %}
    /// A 64-bit integer.
    Integer {
        /// Smallest value.
        min: Option<i64>,
        /// Largest value.
        max: Option<i64>,
    },
{% endif %}
{% if uses.decimal %}
    /// A decimal with at most two fraction digits, exchanged as a string (`"12.50"`) and
    /// stored as integer minor units.
    Decimal {
        /// Smallest value, in minor units.
        min: Option<i64>,
        /// Largest value, in minor units.
        max: Option<i64>,
    },
{% endif %}
{% if uses.boolean %}
    /// `true` or `false`.
    Boolean,
{% endif %}
{% if uses.timestamp %}
    /// An RFC 3339 timestamp, stored in UTC with microseconds.
    Timestamp,
{% endif %}
{% if uses.enum %}
    /// One of the listed values.
    Enum(&'static [&'static str]),
{% endif %}
{% if uses.uuid %}
    /// A UUID, stored lowercase.
    Uuid,
{% endif %}
{% if uses.reference %}
    /// The id of a record of another resource.
    Reference {
        /// Table of the referenced resource, as written in SQL.
        table: &'static str,
        /// Whether that resource is owned (users may only refer to their own records).
        owned: bool,
    },
{% endif %}
}

/// A default value.
#[derive(Debug, Clone, Copy)]
pub enum Preset {
    /// A string (also decimals, timestamps, enum values).
    Text(&'static str),
{% if uses.default_integer %}
    /// An integer.
    Integer(i64),
{% endif %}
{% if uses.default_boolean %}
    /// A boolean.
    Boolean(bool),
{% endif %}
}

impl Preset {
    fn to_json(self) -> Value {
        match self {
            Self::Text(text) => Value::from(text),
{% if uses.default_integer %}
            Self::Integer(number) => Value::from(number),
{% endif %}
{% if uses.default_boolean %}
            Self::Boolean(flag) => Value::from(flag),
{% endif %}
        }
    }
}
{% if uses.pattern %}

/// A regular expression, compiled on first use.
#[derive(Debug)]
pub struct Pattern {
    source: &'static str,
    regex: OnceLock<Option<regex::Regex>>,
}

impl Pattern {
    /// A pattern for `source`.
    pub const fn new(source: &'static str) -> Self {
        Self {
            source,
            regex: OnceLock::new(),
        }
    }

    /// Whether `text` matches (an invalid pattern matches nothing, and is logged).
    pub fn is_match(&self, text: &str) -> bool {
        let regex = self
            .regex
            .get_or_init(|| match regex::Regex::new(self.source) {
                Ok(regex) => Some(regex),
                Err(error) => {
                    tracing::error!(pattern = self.source, %error, "invalid pattern");
                    None
                }
            });
        regex.as_ref().is_some_and(|regex| regex.is_match(text))
    }
}
{% endif %}

impl Kind {
    /// Checks a JSON value; returns what is stored, or what is wrong with it.
    pub fn convert(&self, value: &Value) -> Result<SqlValue, String> {
        match self {
{% if uses.pattern %}
            Self::Text {
                min_length,
                max_length,
                pattern,
            } => {
                let text = value.as_str().ok_or("must be a string")?;
                check_length(text, *min_length, *max_length)?;
                if pattern.is_some_and(|pattern| !pattern.is_match(text)) {
                    return Err("does not have the expected format".to_owned());
                }
                Ok(SqlValue::Text(text.to_owned()))
            }
{% else %}
            Self::Text {
                min_length,
                max_length,
            } => {
                let text = value.as_str().ok_or("must be a string")?;
                check_length(text, *min_length, *max_length)?;
                Ok(SqlValue::Text(text.to_owned()))
            }
{% endif %}
{% if uses.email %}
            Self::Email {
                min_length,
                max_length,
            } => {
                let text = value.as_str().ok_or("must be a string")?;
                check_length(text, *min_length, *max_length)?;
                check_email(text)?;
                Ok(SqlValue::Text(text.to_owned()))
            }
{% endif %}
{% if uses.integer %}
            Self::Integer { min, max } => {
                let number = value.as_i64().ok_or("must be an integer")?;
                check_range(number, *min, *max, &|bound| bound.to_string())?;
                Ok(SqlValue::Integer(number))
            }
{% endif %}
{% if uses.decimal %}
            Self::Decimal { min, max } => {
                let minor = value
                    .as_str()
                    .and_then(parse_decimal)
                    .ok_or("must be a decimal string with at most 2 fraction digits")?;
                check_range(minor, *min, *max, &|bound| format_decimal(bound))?;
                Ok(SqlValue::Integer(minor))
            }
{% endif %}
{% if uses.boolean %}
            Self::Boolean => {
                let flag = value.as_bool().ok_or("must be true or false")?;
                Ok(SqlValue::Integer(i64::from(flag)))
            }
{% endif %}
{% if uses.timestamp %}
            Self::Timestamp => {
                let timestamp = value
                    .as_str()
                    .and_then(|text| text.parse::<jiff::Timestamp>().ok())
                    .ok_or("must be an RFC 3339 date-time")?;
                Ok(SqlValue::Text(format!("{timestamp:.6}")))
            }
{% endif %}
{% if uses.enum %}
            Self::Enum(values) => match value.as_str() {
                Some(text) if values.contains(&text) => Ok(SqlValue::Text(text.to_owned())),
                _ => Err(format!("must be one of: {}", values.join(", "))),
            },
{% endif %}
{% if uses.uuid and uses.reference %}
            Self::Uuid | Self::Reference { .. } => {
{% elif uses.uuid %}
            Self::Uuid => {
{% elif uses.reference %}
            Self::Reference { .. } => {
{% endif %}
{% if uses.uuid or uses.reference %}
                let id = value
                    .as_str()
                    .and_then(parse_uuid)
                    .ok_or("must be a UUID")?;
                Ok(SqlValue::Text(id))
            }
{% endif %}
        }
    }

    /// Checks a query parameter used as a filter on a field of this kind.
    pub fn convert_query(&self, raw: &str) -> Result<SqlValue, String> {
{% if uses.integer or uses.boolean %}
        let value = match self {
{% if uses.integer %}
            Self::Integer { .. } => {
                Value::from(raw.parse::<i64>().map_err(|_| "must be an integer")?)
            }
{% endif %}
{% if uses.boolean %}
            Self::Boolean => Value::from(raw.parse::<bool>().map_err(|_| "must be true or false")?),
{% endif %}
            _ => Value::from(raw),
        };
{% else %}
        // Every field kind of this spec takes the query text as is.
        let value = Value::from(raw);
{% endif %}
        self.convert(&value)
    }
}

fn check_length(text: &str, min: Option<usize>, max: Option<usize>) -> Result<(), String> {
    let length = text.chars().count();
    if let Some(min) = min.filter(|min| length < *min) {
        return Err(format!("must be at least {min} characters long"));
    }
    if let Some(max) = max.filter(|max| length > *max) {
        return Err(format!("must be at most {max} characters long"));
    }
    Ok(())
}
{% if uses.integer or uses.decimal %}

fn check_range(
    number: i64,
    min: Option<i64>,
    max: Option<i64>,
    show: &dyn Fn(i64) -> String,
) -> Result<(), String> {
    if let Some(min) = min.filter(|min| number < *min) {
        return Err(format!("must be at least {}", show(min)));
    }
    if let Some(max) = max.filter(|max| number > *max) {
        return Err(format!("must be at most {}", show(max)));
    }
    Ok(())
}
{% endif %}

/// Checks the shape of an email address: `local@domain.tld`, no spaces, at most 254 bytes.
pub fn check_email(text: &str) -> Result<(), &'static str> {
    let valid = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && text.len() <= 254
                && !text.chars().any(char::is_whitespace)
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err("must be a valid email address")
    }
}
{% if uses.decimal %}

/// Parses a decimal string with at most two fraction digits into minor units
/// (`"12.5"` → 1250).
pub fn parse_decimal(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "00"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
        return None;
    }
    let minor = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(format!("{fraction:0<2}").parse::<i64>().ok()?)?;
    Some(if negative { -minor } else { minor })
}

/// Formats minor units as a decimal string with two fraction digits (1250 → `"12.50"`).
pub fn format_decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let units = minor.unsigned_abs();
    format!("{sign}{}.{:02}", units / 100, units % 100)
}
{% endif %}
{% if uses.uuid or uses.reference %}

/// A hyphenated UUID, lowercased.
fn parse_uuid(text: &str) -> Option<String> {
    let id = uuid::Uuid::try_parse(text).ok()?;
    (text.len() == 36).then(|| id.hyphenated().to_string())
}
{% endif %}

/// Checks a body against `fields`. On create every field is returned (defaults applied,
/// absent optional fields as NULL); on update only the fields present.
pub fn check_body(
    fields: &[Field],
    mut body: Map<String, Value>,
    creating: bool,
) -> Result<Vec<(&'static str, SqlValue)>, ApiError> {
    let mut errors: Vec<FieldError> = body
        .keys()
        .filter(|key| !fields.iter().any(|field| field.name == key.as_str()))
        .map(|key| {
            if READ_ONLY.contains(&key.as_str()) {
                FieldError::new(key, "is read-only")
            } else {
                FieldError::new(key, "is not a field of this resource")
            }
        })
        .collect();
    let mut values = Vec::new();
    for field in fields {
        let value = match (body.remove(field.name), field.default) {
            (Some(value), _) => value,
            (None, _) if !creating => continue,
            (None, Some(preset)) => preset.to_json(),
            (None, None) if field.required => {
                errors.push(FieldError::new(field.name, "is required"));
                continue;
            }
            (None, None) => Value::Null,
        };
        if value.is_null() {
            if field.is_nullable() {
                values.push((field.name, SqlValue::Null));
            } else {
                errors.push(FieldError::new(field.name, "must not be null"));
            }
            continue;
        }
        match field.kind.convert(&value) {
            Ok(value) => values.push((field.name, value)),
            Err(message) => errors.push(FieldError::new(field.name, message)),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(errors))
    }
}
{% if uses.reference %}

/// Checks that each reference in `values` names an existing record{% if uses.owned_reference %}, and for owned resources
/// one of `user`'s own records (unless they are an admin){% endif %}.
pub fn check_references(
    conn: &Connection,
    fields: &[Field],
    values: &[(&'static str, SqlValue)],
{% if uses.owned_reference %}
    user: Option<&AuthUser>,
{% endif %}
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (name, value) in values {
        let kind = fields
            .iter()
            .find(|field| field.name == *name)
            .map(|field| &field.kind);
{% if uses.owned_reference %}
        let (Some(Kind::Reference { table, owned }), SqlValue::Text(id)) = (kind, value) else {
            continue;
        };
        let exists: bool = match user.and_then(AuthUser::owner_scope).filter(|_| *owned) {
            Some(owner) => conn.query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1 AND owner_id = ?2)"),
                params![id, owner],
                |row| row.get(0),
            )?,
            None => conn.query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
                params![id],
                |row| row.get(0),
            )?,
        };
{% else %}
        let (Some(Kind::Reference { table, .. }), SqlValue::Text(id)) = (kind, value) else {
            continue;
        };
        let exists: bool = conn.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
            params![id],
            |row| row.get(0),
        )?;
{% endif %}
        if !exists {
            errors.push(FieldError::new(
                *name,
                "refers to a record that does not exist",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}
{% endif %}
