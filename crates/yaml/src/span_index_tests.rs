//! Tests of the span index: positions of block and flow nodes, keys, aliases and merge keys,
//! fallbacks to ancestors, and robustness against malformed or pathological input.

use pretty_assertions::assert_eq;

use super::*;

fn path(text: &str) -> Path {
    Path::parse(text).unwrap_or_else(|| panic!("bad path {text}"))
}

fn pos(line: u64, column: u64) -> Position {
    Position { line, column }
}

/// `(line, column)` of the value at `path`, for compact assertions.
fn at(index: &SpanIndex, text: &str) -> Option<(u64, u64)> {
    index
        .get(&path(text))
        .map(|entry| (entry.value.line, entry.value.column))
}

const BLOCK: &str = "\
name: demo
phases:
  - id: first
    steps:
      - agent: a
        reads: [x, y]
  - id: second
    steps:
      - agent: b
      -   agent: c
";

#[test]
fn finds_values_and_keys_in_block_style() {
    let index = SpanIndex::build(BLOCK);
    assert_eq!(at(&index, "name"), Some((1, 7)));
    assert_eq!(at(&index, ""), Some((1, 1)));
    // A block sequence starts at its first dash, a block mapping at its first key.
    assert_eq!(at(&index, "phases"), Some((3, 3)));
    assert_eq!(at(&index, "phases[0]"), Some((3, 5)));
    assert_eq!(at(&index, "phases[1].id"), Some((7, 9)));
    assert_eq!(at(&index, "phases[1].steps[1].agent"), Some((10, 18)));
    assert_eq!(at(&index, "phases[0].steps[0].reads[1]"), Some((6, 20)));
    let entry = index.get(&path("phases[1].steps[0].agent"));
    assert_eq!(
        entry,
        Some(Entry {
            value: pos(9, 16),
            key: Some(pos(9, 9)),
        })
    );
    assert_eq!(at(&index, "phases[2]"), None);
    assert_eq!(at(&index, "phases[0].nope"), None);
}

#[test]
fn finds_values_in_flow_style() {
    let text =
        "agents: [{id: a, description: 'quoted'}, {id: b}]\nmode: {parallel: {max_agents: 0}}\n";
    let index = SpanIndex::build(text);
    assert_eq!(at(&index, "agents"), Some((1, 9)));
    assert_eq!(at(&index, "agents[0]"), Some((1, 10)));
    assert_eq!(at(&index, "agents[0].description"), Some((1, 31)));
    assert_eq!(at(&index, "agents[1].id"), Some((1, 47)));
    assert_eq!(at(&index, "mode.parallel.max_agents"), Some((2, 31)));
}

#[test]
fn counts_columns_in_characters() {
    let index = SpanIndex::build("title: \"é—ü\"\nnext: [ä, b]\n");
    assert_eq!(at(&index, "next[1]"), Some((2, 11)));
}

#[test]
fn follows_aliases_to_the_anchored_text() {
    let text = "\
shared: &steps
  - agent: a
    task: t
phases:
  - steps: *steps
";
    let index = SpanIndex::build(text);
    // The alias itself is indexed where it is written...
    assert_eq!(at(&index, "phases[0].steps"), Some((5, 12)));
    // ...and paths through it resolve to the anchored definition.
    assert_eq!(at(&index, "phases[0].steps[0].task"), Some((3, 11)));
    assert_eq!(at(&index, "phases[0].steps[1]"), None);
}

#[test]
fn follows_merge_keys() {
    let text = "\
base: &base {agent: a, task: t}
more: &more {timeout_secs: 5}
step:
  <<: [*base, *more]
  id: s
single:
  <<: *base
";
    let index = SpanIndex::build(text);
    assert_eq!(at(&index, "step.id"), Some((5, 7)));
    assert_eq!(at(&index, "step.task"), Some((1, 30)));
    assert_eq!(at(&index, "step.timeout_secs"), Some((2, 28)));
    assert_eq!(at(&index, "single.agent"), Some((1, 21)));
    assert_eq!(at(&index, "single.nope"), None);
}

#[test]
fn alias_cycles_and_unknown_anchors_end_the_lookup() {
    // An alias inside its own anchor must not loop: each redirect consumes a segment, so the
    // lookup ends at the alias itself. An alias of an unknown anchor stops the parser.
    let index = SpanIndex::build("a: &x {b: *x}\nc: *nowhere\n");
    assert_eq!(at(&index, "a.b.b.b"), Some((1, 11)));
    assert_eq!(at(&index, "c.d"), None);
    // The parser stops at the unknown anchor, so `c` is not indexed: the root stands in.
    assert_eq!(index.locate(&path("c.d")), Position::START);
}

#[test]
fn locate_falls_back_to_the_nearest_ancestor() {
    let index = SpanIndex::build(BLOCK);
    assert_eq!(index.locate(&path("phases[1].steps[0].task")), pos(9, 9));
    assert_eq!(index.locate(&path("phases[7].steps")), pos(3, 3));
    assert_eq!(index.locate(&path("nowhere.at.all")), pos(1, 1));
    assert_eq!(SpanIndex::build("").locate(&path("name")), Position::START);
}

#[test]
fn skips_complex_keys_without_losing_track() {
    let text = "? [a, b]\n: ignored\n? {c: d}\n: {e: f}\nafter: 1\n";
    let index = SpanIndex::build(text);
    assert_eq!(at(&index, "after"), Some((5, 8)));
    assert_eq!(at(&index, "c"), None);
    assert_eq!(at(&index, "e"), None);
}

#[test]
fn indexes_only_the_first_document() {
    let index = SpanIndex::build("---\na: 1\n---\nb: 2\n");
    assert_eq!(at(&index, "a"), Some((2, 4)));
    assert_eq!(at(&index, "b"), None);
}

#[test]
fn keeps_what_it_indexed_before_a_syntax_error() {
    let index = SpanIndex::build("name: x\nphases: [a, b\nother: [");
    assert_eq!(at(&index, "name"), Some((1, 7)));
    assert_eq!(at(&index, "phases[0]"), Some((2, 10)));
}

#[test]
fn describes_the_node_at_a_position() {
    let index = SpanIndex::build("a: 3\nb: [x]\nc: {d: e}\nf: ~\ng:\nh: \"long\n  line\"\n");
    let describe = |line, column| index.node_at(pos(line, column)).map(ToString::to_string);
    assert_eq!(describe(1, 4).as_deref(), Some("`3`"));
    assert_eq!(describe(2, 4).as_deref(), Some("a sequence"));
    assert_eq!(describe(3, 4).as_deref(), Some("a mapping"));
    assert_eq!(describe(4, 4).as_deref(), Some("null"));
    assert_eq!(describe(6, 4).as_deref(), Some("`long line`"));
    assert_eq!(describe(1, 2), None);
}

#[test]
fn shortens_long_and_multi_line_scalars() {
    assert_eq!(shorten("short"), "short");
    assert_eq!(shorten("line one\nline two"), "line one…");
    assert_eq!(shorten(&"x".repeat(50)), format!("{}…", "x".repeat(40)));
}

#[test]
fn finds_the_innermost_mapping_around_a_position() {
    let index = SpanIndex::build(BLOCK);
    assert_eq!(index.mapping_around(pos(9, 16)), Some(pos(9, 9)));
    assert_eq!(index.mapping_around(pos(7, 9)), Some(pos(7, 5)));
    assert_eq!(index.mapping_around(pos(1, 1)), Some(pos(1, 1)));
}

#[test]
fn survives_pathological_input() {
    let deep_flow = "[".repeat(20_000);
    let deep_block: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let inputs = [
        deep_flow.as_str(),
        deep_block.as_str(),
        "\t- a\n\t\tb: c",
        ": : :\n- - -\n? ? ?",
        "&a &b *c",
        "key: 'unterminated",
        "%YAML 9.9\n--- !<tag> x",
        "\u{feff}a: b",
        "a: b\r\nc: d\r\n",
    ];
    for input in inputs {
        let index = SpanIndex::build(input);
        let _ = index.locate(&path("a.b[0].c"));
    }
    let index = SpanIndex::build(&deep_block);
    assert_eq!(at(&index, "k0.k1.k2"), Some((4, 4)));
}

#[test]
fn paths_parse_and_print_in_dotted_form() {
    for text in ["", "name", "phases[2].steps[0].agent", "a[0][1].b"] {
        assert_eq!(path(text).to_string(), text);
    }
    assert_eq!(
        Path::root().key("phases").index(2).key("id"),
        path("phases[2].id")
    );
    for bad in [".", "a.", "a[", "a[x]", "a[1]b", "[1"] {
        assert_eq!(Path::parse(bad), None, "{bad}");
    }
    assert_eq!(path("[1]"), Path::root().index(1));
}
