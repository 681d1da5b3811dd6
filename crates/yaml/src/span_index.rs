//! Maps a path inside the YAML document (for example `phases[2].steps[0].agent`) to the line
//! and column where that node starts, so semantic errors found on a deserialized document (a
//! workflow, a requirements spec) can point back into the file.
//!
//! The index is built from `saphyr-parser` events because serde only knows positions for the
//! errors it raises itself. It is best-effort and never fails: on a syntax error it keeps what
//! it indexed before the error, lookups go through aliases and merge keys to the anchored text,
//! and [`SpanIndex::locate`] falls back to the nearest ancestor it knows.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;

use saphyr_parser::Event;
use saphyr_parser::Marker;
use saphyr_parser::Parser;
use saphyr_parser::ScalarStyle;

/// Nodes nested deeper than this are not indexed: the formats' deepest paths have about eight
/// segments, and storing full paths for pathological nesting would cost quadratic memory.
const MAX_DEPTH: usize = 64;

/// How many alias or merge-key redirections a lookup follows (guards against alias cycles).
const MAX_REDIRECTS: u8 = 8;

/// Scalars longer than this are shortened when quoted in a message.
const MAX_SCALAR_CHARS: usize = 40;

/// One step of a path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// The value of this key in a mapping.
    Key(String),
    /// The element at this 0-based index of a sequence.
    Index(usize),
}

/// A path from the document root to a node; the empty path is the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(Vec<Segment>);

impl Path {
    /// The document root.
    pub fn root() -> Self {
        Path(Vec::new())
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_string()));
        Path(segments)
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Path(segments)
    }

    /// Parses the dotted form `phases[2].steps[0].agent`; `None` if it is malformed.
    /// Keys containing `.` or `[` cannot be written in this form.
    pub fn parse(text: &str) -> Option<Self> {
        let mut segments = Vec::new();
        if text.is_empty() {
            return Some(Path(segments));
        }
        for part in text.split('.') {
            let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
            if key.is_empty() && segments.is_empty() && rest.is_empty() {
                return None;
            }
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_string()));
            } else if rest.is_empty() {
                return None;
            }
            while let Some(inner) = rest.strip_prefix('[') {
                let close = inner.find(']')?;
                segments.push(Segment::Index(inner[..close].parse().ok()?));
                rest = &inner[close + 1..];
            }
            if !rest.is_empty() {
                return None;
            }
        }
        Some(Path(segments))
    }
}

impl From<Vec<Segment>> for Path {
    fn from(segments: Vec<Segment>) -> Self {
        Path(segments)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl Position {
    /// The start of the document, where errors without a better place go.
    pub const START: Position = Position { line: 1, column: 1 };

    fn from_marker(marker: Marker) -> Self {
        let to_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Position {
            line: to_u64(marker.line()).max(1),
            column: to_u64(marker.col()).saturating_add(1),
        }
    }
}

/// Where an indexed node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Where the node (the value, for a mapping entry) starts; an anchor is part of the node.
    pub value: Position,
    /// Where the key starts, for a node that is a mapping value.
    pub key: Option<Position>,
}

/// What kind of node starts somewhere, for "found …" in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A scalar with its (possibly shortened) text; `plain` is false for quoted or block styles.
    Scalar {
        /// The text, shortened to about 40 characters.
        text: String,
        /// Whether the scalar was written without quotes.
        plain: bool,
    },
    /// A sequence.
    Sequence,
    /// A mapping.
    Mapping,
    /// An alias (`*name`).
    Alias,
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeKind::Scalar { text, plain: true } if text.is_empty() => f.write_str("nothing"),
            NodeKind::Scalar { text, plain: true } if matches!(text.as_str(), "~" | "null") => {
                f.write_str("null")
            }
            NodeKind::Scalar { text, .. } => write!(f, "`{text}`"),
            NodeKind::Sequence => f.write_str("a sequence"),
            NodeKind::Mapping => f.write_str("a mapping"),
            NodeKind::Alias => f.write_str("an alias"),
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    entry: Entry,
    kind: NodeKind,
    /// For an alias, the anchor id it refers to.
    alias: Option<usize>,
}

/// Positions of the nodes of the first document of a YAML text.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    nodes: HashMap<Vec<Segment>, Node>,
    /// Anchor id to the path of the anchored node.
    anchors: HashMap<usize, Vec<Segment>>,
    /// Every node start, indexed or too deep, for [`SpanIndex::node_at`].
    starts: BTreeMap<Position, NodeKind>,
    /// Start and end of every mapping, for [`SpanIndex::mapping_around`].
    mappings: Vec<(Position, Position)>,
}

/// Parser state for one open collection.
struct Frame {
    /// `None` for collections that are not indexed (too deep, or inside a complex key).
    path: Option<Vec<Segment>>,
    state: FrameState,
    start: Position,
}

enum FrameState {
    Sequence {
        next: usize,
    },
    /// `key` holds the pending key and its position once read; `None` while expecting a key.
    /// A complex (non-scalar) key is pending as `Some((None, position))`.
    Mapping {
        key: Option<(Option<String>, Position)>,
    },
}

impl SpanIndex {
    /// Indexes `text`; never fails (see the module documentation).
    pub fn build(text: &str) -> Self {
        let mut index = SpanIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut in_document = false;
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            let start = Position::from_marker(span.start);
            match event {
                Event::DocumentStart(_) if in_document => break,
                Event::DocumentStart(_) => in_document = true,
                Event::DocumentEnd | Event::StreamEnd => break,
                Event::Scalar(value, style, anchor, _) => {
                    let kind = NodeKind::Scalar {
                        text: shorten(&value),
                        plain: style == ScalarStyle::Plain,
                    };
                    index.node(&mut stack, start, kind, anchor, None, Some(&value));
                }
                Event::Alias(id) => {
                    index.node(&mut stack, start, NodeKind::Alias, 0, Some(id), None);
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    let is_mapping = matches!(event, Event::MappingStart(..));
                    let kind = if is_mapping {
                        NodeKind::Mapping
                    } else {
                        NodeKind::Sequence
                    };
                    let path = index.node(&mut stack, start, kind, anchor, None, None);
                    let state = if is_mapping {
                        FrameState::Mapping { key: None }
                    } else {
                        FrameState::Sequence { next: 0 }
                    };
                    stack.push(Frame { path, state, start });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    if let Some(frame) = stack.pop()
                        && matches!(frame.state, FrameState::Mapping { .. })
                    {
                        let end = Position::from_marker(span.end);
                        index.mappings.push((frame.start, end));
                    }
                }
                Event::StreamStart | Event::Nothing => {}
            }
        }
        index
    }

    /// Records a node starting at `start` as the next child of the innermost open collection
    /// and returns its path if it is indexed. `key_text` is the scalar text, used when the node
    /// turns out to be a mapping key.
    fn node(
        &mut self,
        stack: &mut [Frame],
        start: Position,
        kind: NodeKind,
        anchor: usize,
        alias: Option<usize>,
        key_text: Option<&str>,
    ) -> Option<Vec<Segment>> {
        self.starts.entry(start).or_insert_with(|| kind.clone());
        let (path, key_position) = match stack.last_mut() {
            None => (Some(Vec::new()), None),
            Some(frame) => match &mut frame.state {
                FrameState::Sequence { next } => {
                    let index = *next;
                    *next += 1;
                    (child(&frame.path, Segment::Index(index)), None)
                }
                FrameState::Mapping {
                    key: pending @ None,
                } => {
                    // This node is a key; only scalar keys can be named in a path.
                    *pending = Some((key_text.map(str::to_string), start));
                    return None;
                }
                FrameState::Mapping { key: pending } => {
                    let (key, key_position) = pending.take().unwrap_or((None, start));
                    let path = match key {
                        Some(key) => child(&frame.path, Segment::Key(key)),
                        None => None,
                    };
                    (path, Some(key_position))
                }
            },
        };
        let path = path.filter(|path| path.len() <= MAX_DEPTH)?;
        if anchor != 0 {
            self.anchors.entry(anchor).or_insert_with(|| path.clone());
        }
        let entry = Entry {
            value: start,
            key: key_position,
        };
        // The first occurrence wins when a key repeats (the deserializer rejects that anyway).
        self.nodes
            .entry(path.clone())
            .or_insert(Node { entry, kind, alias });
        Some(path)
    }

    /// The entry of the node at `path`, following aliases and merge keys (`<<`) to the text
    /// they refer to.
    pub fn get(&self, path: &Path) -> Option<Entry> {
        self.find(&path.0, MAX_REDIRECTS).map(|node| node.entry)
    }

    /// Where the node at `path` starts, or its nearest indexed ancestor, or the document start.
    pub fn locate(&self, path: &Path) -> Position {
        (0..=path.0.len())
            .rev()
            .find_map(|len| self.find(&path.0[..len], MAX_REDIRECTS))
            .map_or(Position::START, |node| node.entry.value)
    }

    /// The kind of node starting exactly at `position`, if any.
    pub fn node_at(&self, position: Position) -> Option<&NodeKind> {
        self.starts.get(&position)
    }

    /// The start of the innermost mapping whose text contains `position`.
    pub fn mapping_around(&self, position: Position) -> Option<Position> {
        self.mappings
            .iter()
            .filter(|(start, end)| *start <= position && position <= *end)
            .max_by_key(|(start, _)| *start)
            .map(|(start, _)| *start)
    }

    fn find(&self, path: &[Segment], redirects: u8) -> Option<&Node> {
        if let Some(node) = self.nodes.get(path) {
            return Some(node);
        }
        if redirects == 0 {
            return None;
        }
        // The deepest indexed ancestor decides: an alias redirects to its anchor, a mapping
        // may hold the key through a merge (`<<: *base` or `<<: [*a, *b]`).
        let (len, ancestor) = (0..path.len())
            .rev()
            .find_map(|len| self.nodes.get(&path[..len]).map(|node| (len, node)))?;
        let rest = &path[len..];
        if let Some(id) = ancestor.alias {
            return self.redirect(id, rest, redirects);
        }
        if ancestor.kind != NodeKind::Mapping || !matches!(rest.first(), Some(Segment::Key(_))) {
            return None;
        }
        let mut merge = path[..len].to_vec();
        merge.push(Segment::Key("<<".to_string()));
        let merged = self.nodes.get(&merge)?;
        if let Some(id) = merged.alias {
            return self.redirect(id, rest, redirects);
        }
        (0..)
            .map_while(|i| {
                let mut element = merge.clone();
                element.push(Segment::Index(i));
                self.nodes.get(&element)
            })
            .filter_map(|node| node.alias)
            .find_map(|id| self.redirect(id, rest, redirects))
    }

    fn redirect(&self, anchor: usize, rest: &[Segment], redirects: u8) -> Option<&Node> {
        let mut target = self.anchors.get(&anchor)?.clone();
        target.extend_from_slice(rest);
        self.find(&target, redirects - 1)
    }
}

fn child(parent: &Option<Vec<Segment>>, segment: Segment) -> Option<Vec<Segment>> {
    let parent = parent.as_ref()?;
    if parent.len() >= MAX_DEPTH {
        return None;
    }
    let mut path = parent.clone();
    path.push(segment);
    Some(path)
}

fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > MAX_SCALAR_CHARS || line.len() < text.trim_end().len() {
        let short: String = line.chars().take(MAX_SCALAR_CHARS).collect();
        format!("{short}…")
    } else {
        line.to_string()
    }
}

#[cfg(test)]
#[path = "span_index_tests.rs"]
mod tests;
