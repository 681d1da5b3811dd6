//! The public API on the example specs: items, file sets, errors, and that generated Rust is
//! rustfmt-clean.

use std::process::Command;

use apiwright_codegen::{
    CodegenError, ERROR_FILE, GeneratedFile, implementation_for, items, migrations, scaffold,
    tests_for, try_implementation_for, try_tests_for,
};

use crate::support::{self, bookstore, file};

/// Every file of the finished project (all items implemented).
pub fn full_project(spec: &apiwright_spec::Spec) -> Vec<GeneratedFile> {
    apiwright_codegen::try_finished_project(spec, "").expect("the spec generates")
}

/// Writes the finished bookstore project to `$CODEGEN_OUT` (a development aid).

#[test]
fn items_are_auth_then_resources_after_what_they_reference() {
    assert_eq!(items(&bookstore()), ["auth", "authors", "books", "reviews"]);
}

#[test]
fn the_scaffold_has_the_runtime_and_no_item() {
    let files = scaffold(&bookstore());
    let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
    for expected in [
        "Cargo.toml",
        "src/lib.rs",
        "src/main.rs",
        "src/resources/mod.rs",
        "migrations/0001_init.up.sql",
        "migrations/0001_init.down.sql",
        "migrations/seed.sql",
        "tests/common/mod.rs",
        "tests/platform.rs",
    ] {
        assert!(paths.contains(&expected), "{expected} in {paths:?}");
    }
    assert!(!paths.iter().any(|path| path.starts_with("tests/auth")));
    assert!(!file(&files, "src/resources/mod.rs").contains("pub mod"));
    assert!(
        !file(&files, "Cargo.toml").contains("regex")
            || bookstore()
                .resources
                .iter()
                .any(|r| r.fields.iter().any(|f| f.pattern.is_some()))
    );
}

#[test]
fn the_registry_mounts_exactly_the_implemented_items() {
    let spec = bookstore();
    let implemented = vec!["auth".to_owned(), "authors".to_owned()];
    let files = implementation_for(&spec, "authors", &implemented);
    assert_eq!(files[0].path, "src/resources/authors.rs");
    let registry = file(&files, "src/resources/mod.rs");
    assert!(registry.contains("pub mod auth;\npub mod authors;\n"));
    assert!(!registry.contains("mod books") && !registry.contains("books::routes"));
}

#[test]
fn errors_are_reported() {
    let spec = bookstore();
    assert_eq!(
        try_tests_for(&spec, "nothing"),
        Err(CodegenError::UnknownItem("nothing".to_owned()))
    );
    let error = try_implementation_for(&spec, "books", &["auth".to_owned()]);
    assert!(matches!(error, Err(CodegenError::InvalidImplemented(_))));
    let files = tests_for(&spec, "nothing");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, ERROR_FILE);
    assert!(files[0].contents.contains("compile_error!"));
}

#[test]
fn migrations_are_in_the_scaffold() {
    let spec = bookstore();
    let (up, down) = migrations(&spec);
    let files = scaffold(&spec);
    assert_eq!(file(&files, "migrations/0001_init.up.sql"), up);
    assert_eq!(file(&files, "migrations/0001_init.down.sql"), down);
}

#[test]
fn generation_is_deterministic() {
    let spec = bookstore();
    assert_eq!(full_project(&spec), full_project(&spec));
}

/// Every generated Rust file of every example is exactly as rustfmt would write it.
#[test]
fn generated_rust_is_rustfmt_clean() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut checked = 0;
    for name in ["bookstore", "user-management", "order-service"] {
        let Some(spec) = support::example(name) else {
            continue;
        };
        let files = full_project(&spec);
        let root = dir.path().join(name);
        support::write(&root, &files);
        let rust: Vec<String> = files
            .iter()
            .filter(|file| file.path.ends_with(".rs"))
            .map(|file| root.join(&file.path).display().to_string())
            .collect();
        let output = Command::new("rustfmt")
            .args(["--edition", "2024", "--check"])
            .args(&rust)
            .output()
            .expect("rustfmt runs");
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        checked += rust.len();
    }
    assert!(checked > 20);
}
