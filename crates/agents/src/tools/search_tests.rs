//! `glob` and `grep` on temporary workspaces.

use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::json;

use crate::tools::ToolBox;
use crate::tools::testing::call;
use crate::tools::testing::error;
use crate::tools::testing::ok;
use crate::tools::testing::toolbox;

/// A small crate next to an outside directory reachable through a symlink.
fn project(base: &Path) -> ToolBox {
    let root = base.join("ws");
    let outside = base.join("outside");
    for dir in ["src/api", "tests", "target/debug", ".git", "docs"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"demo\"\n").unwrap();
    std::fs::write(root.join("src/lib.rs"), "pub mod api;\nfn Helper() {}\n").unwrap();
    std::fs::write(
        root.join("src/api/mod.rs"),
        "pub fn list_books() {}\npub fn get_book() {}\n",
    )
    .unwrap();
    std::fs::write(root.join("tests/it.rs"), "fn list_books_works() {}\n").unwrap();
    std::fs::write(root.join("target/debug/gen.rs"), "fn list_books() {}\n").unwrap();
    std::fs::write(root.join(".git/config.rs"), "fn list_books() {}\n").unwrap();
    std::fs::write(root.join("docs/notes.md"), "list_books returns a page\n").unwrap();
    std::fs::write(root.join("docs/blob.bin"), b"list_books\0\x01\x02").unwrap();
    std::fs::write(outside.join("leak.rs"), "fn list_books() {}\n").unwrap();
    symlink(&outside, root.join("vendor")).unwrap();
    toolbox(&root)
}

#[test]
fn glob_finds_workspace_relative_paths_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = project(dir.path());
    assert_eq!(
        ok(call(&toolbox, "glob", json!({"pattern": "src/**/*.rs"}))),
        "src/api/mod.rs\nsrc/lib.rs"
    );
    // `*` stays in one directory; build output, .git and the symlinked dir are never entered.
    assert_eq!(
        ok(call(&toolbox, "glob", json!({"pattern": "**/*.rs"}))),
        "src/api/mod.rs\nsrc/lib.rs\ntests/it.rs"
    );
    assert_eq!(
        ok(call(&toolbox, "glob", json!({"pattern": "*.toml"}))),
        "Cargo.toml"
    );
    // With a base path the pattern is relative to it; results stay workspace-relative.
    assert_eq!(
        ok(call(
            &toolbox,
            "glob",
            json!({"pattern": "*.rs", "path": "src/api"})
        )),
        "src/api/mod.rs"
    );
    assert_eq!(
        ok(call(&toolbox, "glob", json!({"pattern": "**/*.py"}))),
        "no files match `**/*.py` under `.`"
    );
}

#[test]
fn glob_refuses_bad_patterns_and_paths_outside() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = project(dir.path());
    let bad = error(call(&toolbox, "glob", json!({"pattern": "src/[a"})));
    assert!(bad.starts_with("invalid glob pattern `src/[a`"), "{bad}");
    let outside = error(call(
        &toolbox,
        "glob",
        json!({"pattern": "*.rs", "path": "vendor"}),
    ));
    assert!(outside.contains("outside the workspace"), "{outside}");
    assert!(
        error(call(
            &toolbox,
            "glob",
            json!({"pattern": "*", "path": "../outside"})
        ))
        .contains("outside the workspace")
    );
}

#[test]
fn glob_stops_at_its_limit_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    for index in 0..1005 {
        std::fs::write(dir.path().join(format!("f{index:04}.txt")), "").unwrap();
    }
    let listing = ok(call(&toolbox, "glob", json!({"pattern": "*.txt"})));
    assert!(listing.starts_with("f0000.txt\n"));
    assert!(
        listing.ends_with("[1005 files match; showing the first 1000: narrow the pattern]"),
        "{}",
        &listing[listing.len() - 100..]
    );
}

#[test]
fn grep_prints_path_line_text_and_skips_build_dirs_binaries_and_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = project(dir.path());
    assert_eq!(
        ok(call(&toolbox, "grep", json!({"pattern": "list_books"}))),
        "docs/notes.md:1:list_books returns a page\nsrc/api/mod.rs:1:pub fn list_books() \
         {}\ntests/it.rs:1:fn list_books_works() {}"
    );
    assert_eq!(
        ok(call(
            &toolbox,
            "grep",
            json!({"pattern": "fn \\w+_book\\(", "path": "src", "glob": "*.rs"})
        )),
        "src/api/mod.rs:2:pub fn get_book() {}"
    );
    assert_eq!(
        ok(call(
            &toolbox,
            "grep",
            json!({"pattern": "HELPER", "ignore_case": true})
        )),
        "src/lib.rs:2:fn Helper() {}"
    );
    assert_eq!(
        ok(call(&toolbox, "grep", json!({"pattern": "HELPER"}))),
        "no matches for `HELPER` under `.`"
    );
    // A glob with `/` filters by path below the search base.
    assert_eq!(
        ok(call(
            &toolbox,
            "grep",
            json!({"pattern": "list_books", "glob": "tests/*.rs"})
        )),
        "tests/it.rs:1:fn list_books_works() {}"
    );
    // A single file can be searched.
    assert_eq!(
        ok(call(
            &toolbox,
            "grep",
            json!({"pattern": "name", "path": "Cargo.toml"})
        )),
        "Cargo.toml:2:name = \"demo\""
    );
}

#[test]
fn grep_reports_regex_errors_and_refuses_paths_outside() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = project(dir.path());
    let bad = error(call(&toolbox, "grep", json!({"pattern": "fn (unclosed"})));
    assert!(bad.starts_with("invalid regex `fn (unclosed`"), "{bad}");
    assert!(bad.contains("unclosed group"), "{bad}");
    let outside = error(call(
        &toolbox,
        "grep",
        json!({"pattern": "x", "path": "vendor/leak.rs"}),
    ));
    assert!(outside.contains("outside the workspace"), "{outside}");
    assert_eq!(
        error(call(
            &toolbox,
            "grep",
            json!({"pattern": "x", "path": "missing"})
        )),
        "`missing` does not exist"
    );
}

#[test]
fn grep_stops_at_its_limit_and_skips_large_files() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = toolbox(dir.path());
    let many: String = (0..600).map(|line| format!("hit {line}\n")).collect();
    std::fs::write(dir.path().join("many.txt"), many).unwrap();
    let huge = "hit\n".repeat(600_000);
    std::fs::write(dir.path().join("huge.txt"), huge).unwrap();
    let found = ok(call(&toolbox, "grep", json!({"pattern": "^hit"})));
    assert_eq!(
        found
            .lines()
            .filter(|line| line.starts_with("many.txt:"))
            .count(),
        500
    );
    assert!(!found.contains("huge.txt"));
    assert!(found.ends_with("[stopped after 500 matches; narrow the pattern, path or glob]"));
}
