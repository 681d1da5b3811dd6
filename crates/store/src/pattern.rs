//! Key patterns: `*` matches exactly one segment, `**` any number of segments (zero or more);
//! other segments match literally.

use crate::error::Result;
use crate::error::StoreError;

/// What a pattern must look like (the `expected` of [`StoreError::InvalidPattern`]).
const EXPECTED: &str = "non-empty `/`-separated segments without control characters, where `*` \
                        (one segment) and `**` (any number of segments) must be whole segments";

/// One parsed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Matches this exact segment.
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: zero or more segments.
    Any,
}

/// A parsed key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    source: String,
    segments: Vec<Segment>,
    /// Byte length of [`KeyPattern::literal_prefix`] within `source`.
    prefix_len: usize,
}

impl KeyPattern {
    /// Parses a pattern; `*` and `**` must be whole segments.
    pub fn parse(pattern: &str) -> Result<KeyPattern> {
        let invalid = |problem: &str| StoreError::InvalidPattern {
            pattern: pattern.to_owned(),
            expected: format!("{EXPECTED} ({problem})"),
        };
        if pattern.is_empty() {
            return Err(invalid("the pattern is empty"));
        }
        if pattern.chars().any(char::is_control) {
            return Err(invalid("found a control character"));
        }
        let mut segments = Vec::new();
        let mut prefix_len = None;
        let mut offset: usize = 0;
        for text in pattern.split('/') {
            let segment = match text {
                "" => return Err(invalid("found an empty segment")),
                "*" => Segment::One,
                "**" => Segment::Any,
                _ if text.contains('*') => {
                    return Err(invalid(&format!(
                        "`{text}` mixes `*` with other characters"
                    )));
                }
                _ => Segment::Literal(text.to_owned()),
            };
            if segment != Segment::Literal(text.to_owned()) && prefix_len.is_none() {
                // Up to the `/` before this segment (or nothing if it is the first).
                prefix_len = Some(offset.saturating_sub(1));
            }
            segments.push(segment);
            offset += text.len() + 1;
        }
        Ok(KeyPattern {
            source: pattern.to_owned(),
            segments,
            prefix_len: prefix_len.unwrap_or(pattern.len()),
        })
    }

    /// Whether the pattern has any wildcard (else it names one key).
    pub fn is_literal(&self) -> bool {
        self.segments
            .iter()
            .all(|segment| matches!(segment, Segment::Literal(_)))
    }

    /// Whether a key matches.
    pub fn matches(&self, key: &str) -> bool {
        let key: Vec<&str> = key.split('/').collect();
        // Classic wildcard matching with backtracking to the last `**` (like `*` in a glob,
        // with `*` playing the part of `?`); linear in practice, O(p·k) worst case.
        let pattern = &self.segments;
        let (mut p, mut k) = (0, 0);
        let mut backtrack: Option<(usize, usize)> = None;
        while k < key.len() {
            match pattern.get(p) {
                Some(Segment::Any) => {
                    backtrack = Some((p, k));
                    p += 1;
                    continue;
                }
                Some(Segment::One) => {
                    p += 1;
                    k += 1;
                    continue;
                }
                Some(Segment::Literal(literal)) if literal == key[k] => {
                    p += 1;
                    k += 1;
                    continue;
                }
                _ => {}
            }
            match backtrack {
                // Let the last `**` swallow one more segment and retry after it.
                Some((star, swallowed)) => {
                    backtrack = Some((star, swallowed + 1));
                    p = star + 1;
                    k = swallowed + 1;
                }
                None => return false,
            }
        }
        pattern[p..].iter().all(|segment| *segment == Segment::Any)
    }

    /// The literal segments before the first wildcard, joined with `/` (used to narrow the SQL query).
    pub fn literal_prefix(&self) -> &str {
        &self.source[..self.prefix_len]
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl std::fmt::Display for KeyPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for KeyPattern {
    type Err = StoreError;

    fn from_str(pattern: &str) -> Result<KeyPattern> {
        KeyPattern::parse(pattern)
    }
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
