//! Errors of configuration loading, and how a byte offset or a field path of
//! `apiwright.toml` becomes a `file:line:col: field: message` diagnostic.
//!
//! This module owns error formatting and span lookups only; it must not decide what is
//! valid (that is [`crate::Config::resolve`] and the raw structs).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use toml::de::DeTable;
use toml::de::DeValue;

/// What went wrong while loading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has the wrong shape, or breaks a rule.
    #[error("{}{}: {}{message}", file.display(), DisplayPosition(position), DisplayField(field))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Where in the file (1-based), when known.
        position: Option<Position>,
        /// Dotted path of the offending field (`hooks.timeout_ms`, `hooks.pre-task[1]`);
        /// empty when the error is not about one field (a syntax error).
        field: String,
        /// What was expected and what was found.
        message: String,
    },
}

/// A 1-based line and column (in characters) in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, counted in characters.
    pub column: usize,
}

struct DisplayPosition<'a>(&'a Option<Position>);

impl fmt::Display for DisplayPosition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(position) => write!(f, ":{}:{}", position.line, position.column),
            None => Ok(()),
        }
    }
}

struct DisplayField<'a>(&'a str);

impl fmt::Display for DisplayField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}

/// Line and column of byte `offset` in `text` (clamped to the text, snapped back to a
/// character boundary).
pub(crate) fn position_of(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

impl Segment {
    pub(crate) fn key(key: &str) -> Segment {
        Segment::Key(key.to_owned())
    }
}

/// `hooks.pre-task[1]`.
pub(crate) fn path_to_string(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// The deepest field whose key or value covers byte `offset`.
pub(crate) fn path_at(table: &DeTable<'_>, offset: usize) -> Vec<Segment> {
    let mut path = Vec::new();
    table_path_at(table, offset, &mut path);
    path
}

fn table_path_at(table: &DeTable<'_>, offset: usize, path: &mut Vec<Segment>) -> bool {
    for (key, value) in table.iter() {
        path.push(Segment::key(key.get_ref()));
        if contains(&key.span(), offset) || value_path_at(value.get_ref(), offset, path) {
            return true;
        }
        if contains(&value.span(), offset) {
            return true;
        }
        path.pop();
    }
    false
}

fn value_path_at(value: &DeValue<'_>, offset: usize, path: &mut Vec<Segment>) -> bool {
    match value {
        DeValue::Table(table) => table_path_at(table, offset, path),
        DeValue::Array(array) => {
            for (index, item) in array.iter().enumerate() {
                path.push(Segment::Index(index));
                if value_path_at(item.get_ref(), offset, path) || contains(&item.span(), offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// Where `path` is written: its last key when `at_key` (or when its value is a table),
/// else its value.
pub(crate) fn span_of(table: &DeTable<'_>, path: &[Segment], at_key: bool) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let Segment::Key(name) = first else {
        return None;
    };
    let (key, value) = table.iter().find(|(key, _)| key.get_ref() == name)?;
    if rest.is_empty() {
        let table_value = matches!(value.get_ref(), DeValue::Table(_));
        return Some(if at_key || table_value {
            key.span()
        } else {
            value.span()
        });
    }
    match value.get_ref() {
        DeValue::Table(inner) => span_of(inner, rest, at_key),
        DeValue::Array(array) => {
            let (Segment::Index(index), tail) = rest.split_first()? else {
                return None;
            };
            let item = array.get(*index)?;
            match (tail.is_empty(), item.get_ref()) {
                (true, _) => Some(item.span()),
                (false, DeValue::Table(inner)) => span_of(inner, tail, at_key),
                (false, _) => None,
            }
        }
        _ => Some(value.span()),
    }
}

/// Turns serde's `invalid type: A, expected B` into `expected B, found A`; other messages
/// are kept as they are.
pub(crate) fn reword(message: &str) -> String {
    let message = message.trim_end();
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            return format!("expected {expected}, found {found}");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {expected}, found {found}");
    }
    message.to_owned()
}
