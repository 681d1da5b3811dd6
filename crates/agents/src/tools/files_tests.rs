//! The file tools through `ToolBox::call` on temporary workspaces.

use std::os::unix::fs::symlink;

use serde_json::json;

use crate::tools::ToolBox;
use crate::tools::testing::call;
use crate::tools::testing::config;
use crate::tools::testing::error;
use crate::tools::testing::ok;
use crate::tools::testing::toolbox;

#[test]
fn write_then_read_round_trips_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    let created = ok(call(
        &toolbox,
        "write_file",
        json!({"path": "src/deep/lib.rs", "content": "fn a() {}\n\nfn b() {}\n"}),
    ));
    assert_eq!(created, "created `src/deep/lib.rs` (21 bytes written)");
    let read = ok(call(
        &toolbox,
        "read_file",
        json!({"path": "src/deep/lib.rs"}),
    ));
    assert_eq!(read, "     1\tfn a() {}\n     2\t\n     3\tfn b() {}\n");
    let replaced = ok(call(
        &toolbox,
        "write_file",
        json!({"path": "src/deep/lib.rs", "content": "x"}),
    ));
    assert_eq!(replaced, "replaced `src/deep/lib.rs` (1 bytes written)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/deep/lib.rs")).unwrap(),
        "x"
    );
}

#[test]
fn read_takes_an_offset_and_a_limit_and_says_how_to_read_more() {
    let dir = tempfile::tempdir().unwrap();
    let mut limited = config(dir.path());
    limited.limits.read_limit_lines = 3;
    let toolbox = ToolBox::new(limited).unwrap();
    let text: String = (1..=10).map(|line| format!("line {line}\n")).collect();
    std::fs::write(dir.path().join("ten.txt"), text).unwrap();

    let first = ok(call(&toolbox, "read_file", json!({"path": "ten.txt"})));
    assert_eq!(
        first,
        "     1\tline 1\n     2\tline 2\n     3\tline 3\n[showing lines 1–3 of 10; call \
         read_file with offset 4 to read more]"
    );
    let middle = ok(call(
        &toolbox,
        "read_file",
        json!({"path": "ten.txt", "offset": 5, "limit": 2}),
    ));
    assert_eq!(
        middle,
        "     5\tline 5\n     6\tline 6\n[showing lines 5–6 of 10; call read_file with \
         offset 7 to read more]"
    );
    // A limit above read_limit_lines is cut to it.
    let clamped = ok(call(
        &toolbox,
        "read_file",
        json!({"path": "ten.txt", "offset": 2, "limit": 100}),
    ));
    assert!(clamped.contains("showing lines 2–4 of 10"), "{clamped}");
    let last = ok(call(
        &toolbox,
        "read_file",
        json!({"path": "ten.txt", "offset": 9}),
    ));
    assert_eq!(
        last,
        "     9\tline 9\n    10\tline 10\n[showing lines 9–10 of 10]"
    );

    let past = error(call(
        &toolbox,
        "read_file",
        json!({"path": "ten.txt", "offset": 11}),
    ));
    assert_eq!(
        past,
        "`offset` 11 is past the end of `ten.txt`, which has 10 lines"
    );
    let zero = error(call(
        &toolbox,
        "read_file",
        json!({"path": "ten.txt", "offset": 0}),
    ));
    assert!(zero.contains("1-based"), "{zero}");
}

#[test]
fn read_stops_at_the_output_limit_on_a_line_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let mut small = config(dir.path());
    small.limits.output_limit = 1000;
    let toolbox = ToolBox::new(small).unwrap();
    let text: String = (1..=500).map(|line| format!("line {line:04}\n")).collect();
    std::fs::write(dir.path().join("long.txt"), text).unwrap();
    let read = ok(call(&toolbox, "read_file", json!({"path": "long.txt"})));
    assert!(read.len() <= 1000, "{}", read.len());
    assert!(
        !read.contains("bytes cut"),
        "stopped by lines, not cut: {read}"
    );
    let note = read.lines().last().unwrap();
    assert!(note.starts_with("[showing lines 1–"), "{note}");
    let next: usize = note
        .rsplit("offset ")
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(read.contains(&format!("line {:04}\n", next - 1)));
    assert!(!read.contains(&format!("line {next:04}\n")));
}

#[test]
fn read_refuses_directories_binaries_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("app.bin"), [0x7f, b'E', 0, 1, 2]).unwrap();
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    assert_eq!(
        error(call(&toolbox, "read_file", json!({"path": "src"}))),
        "`src` is a directory; use list_files to see its entries"
    );
    assert!(error(call(&toolbox, "read_file", json!({"path": "app.bin"}))).contains("binary file"));
    assert_eq!(
        error(call(&toolbox, "read_file", json!({"path": "nope.rs"}))),
        "`nope.rs` does not exist"
    );
    assert_eq!(
        ok(call(&toolbox, "read_file", json!({"path": "empty.txt"}))),
        "(`empty.txt` is empty)"
    );
    let outside = error(call(&toolbox, "read_file", json!({"path": "/etc/passwd"})));
    assert_eq!(
        outside,
        "path `/etc/passwd` is outside the workspace; use a path relative to the workspace"
    );
}

#[test]
fn write_refuses_paths_outside_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("ws");
    let toolbox = toolbox(&workspace);
    let message = error(call(
        &toolbox,
        "write_file",
        json!({"path": "../escaped.txt", "content": "x"}),
    ));
    assert!(message.contains("outside the workspace"), "{message}");
    assert!(!dir.path().join("escaped.txt").exists());
    std::fs::create_dir(workspace.join("src")).unwrap();
    assert!(
        error(call(
            &toolbox,
            "write_file",
            json!({"path": "src", "content": "x"})
        ))
        .contains("is a directory")
    );
    assert!(toolbox.files_changed().is_empty());
}

#[test]
fn edit_replaces_one_exact_occurrence() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    std::fs::write(dir.path().join("a.rs"), "let x = 1;\nlet y = 2;\n").unwrap();
    let edited = ok(call(
        &toolbox,
        "edit_file",
        json!({"path": "a.rs", "old_string": "y = 2", "new_string": "y = 3"}),
    ));
    assert_eq!(edited, "edited `a.rs`: replaced 1 occurrence");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.rs")).unwrap(),
        "let x = 1;\nlet y = 3;\n"
    );
}

#[test]
fn edit_fails_on_no_match_and_on_several_matches_without_replace_all() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    let original = "a = 1\na = 1\na = 1\n";
    std::fs::write(dir.path().join("f.txt"), original).unwrap();
    let missing = error(call(
        &toolbox,
        "edit_file",
        json!({"path": "f.txt", "old_string": "b = 1", "new_string": "b = 2"}),
    ));
    assert!(
        missing.starts_with("`old_string` not found in `f.txt`; read the file first"),
        "{missing}"
    );
    let several = error(call(
        &toolbox,
        "edit_file",
        json!({"path": "f.txt", "old_string": "a = 1", "new_string": "a = 2"}),
    ));
    assert_eq!(
        several,
        "`old_string` found 3 times in `f.txt`; include more context to make it unique or set \
         replace_all"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.txt")).unwrap(),
        original
    );
    assert!(toolbox.files_changed().is_empty());
    let all = ok(call(
        &toolbox,
        "edit_file",
        json!({"path": "f.txt", "old_string": "a = 1", "new_string": "a = 2", "replace_all": true}),
    ));
    assert_eq!(all, "edited `f.txt`: replaced 3 occurrences");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.txt")).unwrap(),
        "a = 2\na = 2\na = 2\n"
    );
    assert_eq!(toolbox.files_changed(), vec!["f.txt"]);
}

#[test]
fn edit_refuses_identical_strings_empty_strings_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    std::fs::write(dir.path().join("f.txt"), "abc").unwrap();
    let same = error(call(
        &toolbox,
        "edit_file",
        json!({"path": "f.txt", "old_string": "b", "new_string": "b"}),
    ));
    assert!(same.contains("are the same"), "{same}");
    let empty = error(call(
        &toolbox,
        "edit_file",
        json!({"path": "f.txt", "old_string": "", "new_string": "x"}),
    ));
    assert!(empty.contains("must not be empty"), "{empty}");
    let missing = error(call(
        &toolbox,
        "edit_file",
        json!({"path": "g.txt", "old_string": "a", "new_string": "b"}),
    ));
    assert_eq!(
        missing,
        "`g.txt` does not exist; use write_file to create it"
    );
}

#[test]
fn list_shows_a_sorted_tree_with_symlinks_and_without_build_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let toolbox = toolbox(&root);
    std::fs::create_dir_all(root.join("src/bin/deeper")).unwrap();
    std::fs::create_dir_all(root.join("target/debug")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "").unwrap();
    std::fs::write(root.join("src/lib.rs"), "").unwrap();
    std::fs::write(root.join("src/bin/main.rs"), "").unwrap();
    symlink("/etc", root.join("etc-link")).unwrap();
    let listing = ok(call(&toolbox, "list_files", json!({})));
    assert_eq!(
        listing,
        "Cargo.toml\netc-link -> /etc\nsrc/\nsrc/bin/\nsrc/lib.rs"
    );
    let deep = ok(call(
        &toolbox,
        "list_files",
        json!({"path": "src", "depth": 5}),
    ));
    assert_eq!(
        deep,
        "src/bin/\nsrc/bin/deeper/\nsrc/bin/main.rs\nsrc/lib.rs"
    );
    assert!(error(call(&toolbox, "list_files", json!({"path": "etc-link"}))).contains("outside"));
    assert!(
        error(call(&toolbox, "list_files", json!({"path": "Cargo.toml"}))).contains("is a file")
    );
    assert!(error(call(&toolbox, "list_files", json!({"depth": 0}))).contains("at least 1"));
    assert_eq!(
        error(call(&toolbox, "list_files", json!({"path": "nope"}))),
        "`nope` does not exist"
    );
}
