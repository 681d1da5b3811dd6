//! The one-line diagnostic of the house format, and positioning of semantic issues (a document
//! path plus a message) through the span index.

use std::collections::HashSet;
use std::fmt;

use crate::span_index::Path;
use crate::span_index::Position;
use crate::span_index::SpanIndex;

/// One problem in a file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// File name (or a label such as `builtin:NAME`) the text came from.
    pub source: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.source, self.line, self.column, self.message
        )
    }
}

/// The diagnostics, one per line (no trailing newline).
pub fn join<'d>(diagnostics: impl IntoIterator<Item = &'d Diagnostic>) -> String {
    diagnostics
        .into_iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A diagnostic at `position`; the message is collapsed onto one line, whatever a dependency's
/// text contains.
pub fn diagnostic(source: &str, position: Position, message: impl AsRef<str>) -> Diagnostic {
    Diagnostic {
        source: source.to_string(),
        line: position.line,
        column: position.column,
        message: message
            .as_ref()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// One semantic problem found on a deserialized document: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Path of the offending node.
    pub path: Path,
    /// `expected …, found …`.
    pub message: String,
    /// The problem is the mapping key at `path` itself (for example a parameter's name), so
    /// the key's position is reported rather than the value's.
    pub on_key: bool,
}

impl Issue {
    /// A problem with the value at `path`.
    pub fn at(path: Path, message: impl Into<String>) -> Self {
        Issue {
            path,
            message: message.into(),
            on_key: false,
        }
    }

    /// A problem with the mapping key at `path`.
    pub fn on_key(path: Path, message: impl Into<String>) -> Self {
        Issue {
            path,
            message: message.into(),
            on_key: true,
        }
    }
}

/// Positions every issue in `text` (the value's start, or the key's for `on_key` issues; the
/// nearest known ancestor when the node is not in the text, e.g. a defaulted field), sorted by
/// position. Issues at the same position keep their order; exact duplicates (text reused
/// through an alias is checked once per use but needs fixing once) are reported once.
pub fn locate(
    source: &str,
    text: &str,
    issues: impl IntoIterator<Item = Issue>,
) -> Vec<Diagnostic> {
    let index = SpanIndex::build(text);
    let mut diagnostics: Vec<Diagnostic> = issues
        .into_iter()
        .map(|issue| {
            let key = issue.on_key.then(|| index.get(&issue.path)).flatten();
            let position = key
                .and_then(|entry| entry.key)
                .unwrap_or_else(|| index.locate(&issue.path));
            diagnostic(source, position, issue.message)
        })
        .collect();
    diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
    let mut seen = HashSet::new();
    diagnostics.retain(|diagnostic| seen.insert(diagnostic.clone()));
    diagnostics
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    const TEXT: &str = "a: 1\nb:\n  c: [x, y]\n  d: 2\n";

    fn path(text: &str) -> Path {
        Path::parse(text).unwrap_or_else(|| panic!("bad path {text}"))
    }

    #[test]
    fn issues_are_positioned_sorted_and_deduplicated() {
        let issues = [
            Issue::at(path("b.d"), "expected d"),
            Issue::at(path("b.c[1]"), "expected y"),
            Issue::on_key(path("b.d"), "expected key d"),
            Issue::at(path("a"), "expected a"),
            Issue::at(path("b.c[1]"), "expected y"),
            // Not in the text: the nearest ancestor that is.
            Issue::at(path("b.e.f"), "expected e"),
        ];
        let lines: Vec<String> = locate("f.yaml", TEXT, issues)
            .iter()
            .map(Diagnostic::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "f.yaml:1:4: expected a",
                "f.yaml:3:3: expected e",
                "f.yaml:3:10: expected y",
                "f.yaml:4:3: expected key d",
                "f.yaml:4:6: expected d",
            ]
        );
    }

    #[test]
    fn messages_are_one_line() {
        let diagnostic = diagnostic("f", Position::START, "expected\n  one   line");
        assert_eq!(diagnostic.to_string(), "f:1:1: expected one line");
        assert_eq!(
            join([&diagnostic, &diagnostic]),
            "f:1:1: expected one line\nf:1:1: expected one line"
        );
    }
}
