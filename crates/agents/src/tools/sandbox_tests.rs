//! Path confinement against real directories and symlinks.

use std::os::unix::fs::symlink;

use super::*;

struct Fixture {
    // Held for its Drop: the directories live as long as the fixture.
    _base: tempfile::TempDir,
    workspace: PathBuf,
    outside: PathBuf,
    sandbox: Sandbox,
}

/// A workspace with `src/lib.rs`, next to a directory outside it holding `secret.txt`.
fn fixture() -> Fixture {
    let base = tempfile::tempdir().unwrap();
    let workspace = base.path().join("workspace");
    let outside = base.path().join("outside");
    std::fs::create_dir_all(workspace.join("src")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(workspace.join("src/lib.rs"), "fn main() {}\n").unwrap();
    std::fs::write(outside.join("secret.txt"), "secret\n").unwrap();
    let sandbox = Sandbox::new(&workspace).unwrap();
    Fixture {
        _base: base,
        workspace,
        outside,
        sandbox,
    }
}

fn refused(sandbox: &Sandbox, path: &str) -> String {
    match sandbox.resolve(path) {
        Ok(resolved) => panic!("`{path}` was accepted as {resolved:?}"),
        Err(message) => message,
    }
}

#[test]
fn plain_relative_paths_resolve_under_the_canonical_root() {
    let fixture = fixture();
    let root = fixture.sandbox.root().to_path_buf();
    assert_eq!(root, fixture.workspace.canonicalize().unwrap());
    let resolved = fixture.sandbox.resolve("src/lib.rs").unwrap();
    assert_eq!(resolved.absolute, root.join("src/lib.rs"));
    assert_eq!(resolved.relative, "src/lib.rs");
    let missing = fixture.sandbox.resolve("./new/dir/file.txt").unwrap();
    assert_eq!(missing.relative, "new/dir/file.txt");
    assert_eq!(missing.absolute, root.join("new/dir/file.txt"));
    for path in ["", ".", "./", "src/.."] {
        let resolved = fixture.sandbox.resolve(path).unwrap();
        assert_eq!(resolved.relative, ".", "{path}");
        assert_eq!(resolved.absolute, root, "{path}");
    }
    assert_eq!(
        fixture
            .sandbox
            .resolve("src/../src/./lib.rs")
            .unwrap()
            .relative,
        "src/lib.rs"
    );
}

#[test]
fn parent_components_that_escape_the_root_are_refused() {
    let fixture = fixture();
    let message = refused(&fixture.sandbox, "..");
    assert_eq!(
        message,
        "path `..` is outside the workspace; use a path relative to the workspace"
    );
    for path in ["../x", "a/../../b", "src/../../outside/secret.txt", "./.."] {
        assert!(
            refused(&fixture.sandbox, path).contains("outside the workspace"),
            "{path}"
        );
    }
}

#[test]
fn absolute_and_home_paths_are_refused() {
    let fixture = fixture();
    for path in ["/etc/passwd", "/", "~", "~/x", "~root/.ssh"] {
        assert!(
            refused(&fixture.sandbox, path).contains("outside the workspace"),
            "{path}"
        );
    }
    // Even an absolute path that names a file inside the workspace: the tools speak
    // relative paths only.
    let inside = fixture.workspace.join("src/lib.rs");
    assert!(refused(&fixture.sandbox, &inside.display().to_string()).contains("outside"));
}

#[test]
fn a_symlinked_directory_pointing_outside_is_refused() {
    let fixture = fixture();
    symlink(&fixture.outside, fixture.workspace.join("escape")).unwrap();
    for path in [
        "escape",
        "escape/secret.txt",
        "escape/new.txt",
        "escape/a/b",
    ] {
        let message = refused(&fixture.sandbox, path);
        assert!(message.contains("outside the workspace"), "{message}");
        assert!(message.contains("`escape` is a symlink"), "{message}");
    }
}

#[test]
fn a_symlinked_file_pointing_outside_is_refused() {
    let fixture = fixture();
    symlink(
        fixture.outside.join("secret.txt"),
        fixture.workspace.join("src/secret.txt"),
    )
    .unwrap();
    let message = refused(&fixture.sandbox, "src/secret.txt");
    assert!(message.contains("outside the workspace"), "{message}");
}

#[test]
fn a_relative_symlink_climbing_out_is_refused() {
    let fixture = fixture();
    symlink("../../outside", fixture.workspace.join("src/up")).unwrap();
    assert!(refused(&fixture.sandbox, "src/up/secret.txt").contains("outside"));
}

#[test]
fn a_broken_symlink_is_refused_because_a_write_would_create_its_target() {
    let fixture = fixture();
    symlink(
        fixture.outside.join("not-yet.txt"),
        fixture.workspace.join("dangling"),
    )
    .unwrap();
    let message = refused(&fixture.sandbox, "dangling");
    assert!(message.contains("broken symlink"), "{message}");
    assert!(!fixture.outside.join("not-yet.txt").exists());
}

#[test]
fn symlinks_inside_pointing_inside_are_allowed() {
    let fixture = fixture();
    symlink("src", fixture.workspace.join("source")).unwrap();
    symlink("lib.rs", fixture.workspace.join("src/alias.rs")).unwrap();
    let through_dir = fixture.sandbox.resolve("source/lib.rs").unwrap();
    assert_eq!(through_dir.relative, "source/lib.rs");
    assert_eq!(
        std::fs::read_to_string(&through_dir.absolute).unwrap(),
        "fn main() {}\n"
    );
    assert_eq!(
        fixture.sandbox.resolve("src/alias.rs").unwrap().relative,
        "src/alias.rs"
    );
    assert_eq!(
        fixture
            .sandbox
            .resolve("source/new/file.rs")
            .unwrap()
            .relative,
        "source/new/file.rs"
    );
}

#[test]
fn a_write_through_a_symlinked_parent_outside_creates_nothing_outside() {
    let fixture = fixture();
    symlink(&fixture.outside, fixture.workspace.join("out")).unwrap();
    let toolbox = crate::tools::testing::toolbox(&fixture.workspace);
    let outcome = crate::tools::testing::call(
        &toolbox,
        "write_file",
        serde_json::json!({"path": "out/deep/planted.txt", "content": "x"}),
    );
    assert!(outcome.is_error, "{outcome:?}");
    assert!(outcome.content.contains("outside the workspace"));
    assert!(!fixture.outside.join("deep").exists());
    assert_eq!(
        std::fs::read_dir(&fixture.outside).unwrap().count(),
        1,
        "only secret.txt stays outside"
    );
}

#[test]
fn a_missing_workspace_is_created() {
    let base = tempfile::tempdir().unwrap();
    let workspace = base.path().join("a/b/c");
    let sandbox = Sandbox::new(&workspace).unwrap();
    assert!(workspace.is_dir());
    assert_eq!(sandbox.root(), workspace.canonicalize().unwrap());
}

#[test]
fn the_walk_is_sorted_skips_build_dirs_and_never_follows_symlinks() {
    let fixture = fixture();
    let root = &fixture.workspace;
    std::fs::create_dir_all(root.join(".git/objects")).unwrap();
    std::fs::create_dir_all(root.join("target/debug")).unwrap();
    std::fs::write(root.join("b.txt"), "b").unwrap();
    std::fs::write(root.join("a.txt"), "a").unwrap();
    symlink(&fixture.outside, root.join("escape")).unwrap();
    let start = fixture.sandbox.resolve(".").unwrap();
    let mut seen = Vec::new();
    fixture
        .sandbox
        .walk(&start, usize::MAX, &mut |entry| {
            seen.push((entry.relative.clone(), entry.kind));
            Walk::Continue
        })
        .unwrap();
    assert_eq!(
        seen,
        vec![
            ("a.txt".to_string(), EntryKind::File),
            ("b.txt".to_string(), EntryKind::File),
            ("escape".to_string(), EntryKind::Symlink),
            ("src".to_string(), EntryKind::Dir),
            ("src/lib.rs".to_string(), EntryKind::File),
        ]
    );
    let mut shallow = Vec::new();
    fixture
        .sandbox
        .walk(&start, 1, &mut |entry| {
            shallow.push(entry.relative.clone());
            if entry.relative == "escape" {
                Walk::Stop
            } else {
                Walk::Continue
            }
        })
        .unwrap();
    assert_eq!(shallow, vec!["a.txt", "b.txt", "escape"]);
}
