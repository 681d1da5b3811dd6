//! The examples in `docs/spec.md` stay true: every ```yaml block that is a complete spec (it
//! has top-level `api:` and `resources:` keys) loads, unless it follows a
//! `<!-- fails: FILE -->` marker, in which case it must fail with exactly the text of the
//! `text` block that follows it.

use std::fs;
use std::path::PathBuf;

use apiwright_spec::load_str;
use pretty_assertions::assert_eq;

fn guide() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/spec.md");
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A fenced block: its info string, its text, and the `fails:` marker before it, if any.
struct Block {
    info: String,
    text: String,
    fails: Option<String>,
    line: usize,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut marker: Option<String> = None;
    let mut current: Option<(String, Vec<&str>, usize)> = None;
    for (index, line) in text.lines().enumerate() {
        match current.take() {
            Some((info, body, start)) if line.starts_with("```") => {
                let fails = if info == "text" { None } else { marker.take() };
                blocks.push(Block {
                    info,
                    text: body.join("\n") + "\n",
                    fails,
                    line: start,
                });
            }
            Some((info, mut body, start)) => {
                body.push(line);
                current = Some((info, body, start));
            }
            None if line.starts_with("```") => {
                current = Some((
                    line.trim_start_matches('`').to_string(),
                    Vec::new(),
                    index + 1,
                ));
            }
            None => {
                if let Some(file) = line
                    .strip_prefix("<!-- fails: ")
                    .and_then(|rest| rest.strip_suffix(" -->"))
                {
                    marker = Some(file.to_string());
                }
            }
        }
    }
    blocks
}

fn is_complete_spec(yaml: &str) -> bool {
    yaml.lines().any(|line| line.starts_with("api:"))
        && yaml.lines().any(|line| line.starts_with("resources:"))
}

#[test]
fn the_guide_examples_load_or_fail_as_documented() {
    let blocks = blocks(&guide());
    let mut loaded = 0;
    let mut failed = 0;
    for (index, block) in blocks.iter().enumerate() {
        if block.info != "yaml" {
            continue;
        }
        match &block.fails {
            Some(file) => {
                let expected = blocks
                    .get(index + 1)
                    .filter(|next| next.info == "text")
                    .unwrap_or_else(|| panic!("no ```text block after the example {file}"));
                let error = load_str(file, &block.text)
                    .err()
                    .map(|e| e.to_string() + "\n");
                assert_eq!(
                    error.as_deref(),
                    Some(expected.text.as_str()),
                    "example {file}"
                );
                failed += 1;
            }
            None if is_complete_spec(&block.text) => {
                if let Err(error) = load_str("docs/spec.md", &block.text) {
                    panic!(
                        "the spec at docs/spec.md:{} does not load:\n{error}",
                        block.line
                    );
                }
                loaded += 1;
            }
            None => {}
        }
    }
    assert!(loaded >= 1, "no complete spec in docs/spec.md");
    assert!(failed >= 2, "fewer than two error examples in docs/spec.md");
}
