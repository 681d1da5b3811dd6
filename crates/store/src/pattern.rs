//! Key patterns: `*` matches exactly one segment, `**` any number of segments (zero or more);
//! other segments match literally.

use crate::error::Result;

/// A parsed key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    source: String,
}

impl KeyPattern {
    /// Parses a pattern; `*` and `**` must be whole segments.
    pub fn parse(pattern: &str) -> Result<KeyPattern> {
        unimplemented!("{pattern}")
    }

    /// Whether the pattern has any wildcard (else it names one key).
    pub fn is_literal(&self) -> bool {
        unimplemented!()
    }

    /// Whether a key matches.
    pub fn matches(&self, key: &str) -> bool {
        unimplemented!("{key}")
    }

    /// The literal segments before the first wildcard, joined with `/` (used to narrow the SQL query).
    pub fn literal_prefix(&self) -> &str {
        unimplemented!()
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}
