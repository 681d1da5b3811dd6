//! The examples in `docs/workflows.md` stay true: a YAML block after `<!-- loads: FILE -->`
//! must load, and a YAML block after `<!-- fails: FILE -->` must fail with exactly the text of
//! the `text` block that follows it.

use std::fs;
use std::path::PathBuf;

use apiwright_workflow::load_str;
use pretty_assertions::assert_eq;

fn guide() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/workflows.md");
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The fenced blocks after each `<!-- KIND: FILE -->` marker: `(kind, file, blocks)`, where
/// blocks are the next two fenced code blocks (the second may be missing).
fn examples(text: &str) -> Vec<(String, String, Vec<String>)> {
    let mut examples = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let Some(marker) = line
            .strip_prefix("<!-- ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let Some((kind, file)) = marker.split_once(": ") else {
            continue;
        };
        let mut blocks = Vec::new();
        let mut current: Option<Vec<&str>> = None;
        for line in &lines[index + 1..] {
            if line.starts_with("<!-- ") || blocks.len() == 2 {
                break;
            }
            match (&mut current, line.starts_with("```")) {
                (None, true) => current = Some(Vec::new()),
                (Some(body), true) => {
                    blocks.push(body.join("\n") + "\n");
                    current = None;
                }
                (Some(body), false) => body.push(line),
                (None, false) => {}
            }
        }
        examples.push((kind.to_string(), file.to_string(), blocks));
    }
    examples
}

#[test]
fn the_guide_examples_load_or_fail_as_documented() {
    let examples = examples(&guide());
    assert!(
        examples.len() >= 3,
        "markers not found in docs/workflows.md"
    );
    for (kind, file, blocks) in examples {
        match (kind.as_str(), blocks.as_slice()) {
            ("loads", [yaml, ..]) => {
                if let Err(error) = load_str(&file, yaml) {
                    panic!("the example {file} does not load:\n{error}");
                }
            }
            ("fails", [yaml, expected]) => {
                let error = load_str(&file, yaml).err().map(|e| e.to_string() + "\n");
                assert_eq!(error.as_deref(), Some(expected.as_str()), "example {file}");
            }
            _ => panic!("bad example marker `{kind}: {file}`"),
        }
    }
}
