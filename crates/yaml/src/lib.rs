//! YAML diagnostics shared by apiwright's file formats (workflows, requirements specs): a span
//! index from document paths to `line:col`, the one-line diagnostic type, positioning of
//! semantic issues found on a deserialized document, and the rewriting of serde-saphyr's shape
//! errors into the house format `source:line:col: expected …, found …`.
//!
//! This crate performs no IO and knows nothing about the formats themselves: callers hand it
//! text, a source name, and the noun of their document (`workflow`, `spec`) for messages.

mod diagnostic;
mod shape;
pub mod span_index;

pub use diagnostic::Diagnostic;
pub use diagnostic::Issue;
pub use diagnostic::diagnostic;
pub use diagnostic::join;
pub use diagnostic::locate;
pub use shape::shape_error;
pub use span_index::Path;
pub use span_index::Position;
pub use span_index::SpanIndex;

/// `` `a`, `b`, `c` `` — how diagnostics name several things.
pub fn quoted_list<'s>(names: impl IntoIterator<Item = &'s str>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
