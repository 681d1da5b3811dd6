//! Snapshots of generated files for the bookstore example (`tests/it/snapshots/`): the schema,
//! the seed, a resource module, its tests, the registry and the manifest. A change to the
//! generator shows up here as a reviewable diff.

use apiwright_codegen::{implementation_for, migrations, scaffold, tests_for};

use crate::support::{bookstore, file};

#[test]
fn migration_up() {
    insta::assert_snapshot!("migration_up", migrations(&bookstore()).0);
}

#[test]
fn migration_down() {
    insta::assert_snapshot!("migration_down", migrations(&bookstore()).1);
}

#[test]
fn seed() {
    let files = scaffold(&bookstore());
    insta::assert_snapshot!("seed", file(&files, "migrations/seed.sql"));
}

#[test]
fn manifest() {
    let files = scaffold(&bookstore());
    insta::assert_snapshot!("manifest", file(&files, "Cargo.toml"));
}

#[test]
fn books_module_and_registry() {
    let implemented: Vec<String> = ["auth", "authors", "books"].map(str::to_owned).to_vec();
    let files = implementation_for(&bookstore(), "books", &implemented);
    insta::assert_snapshot!("books_module", file(&files, "src/resources/books.rs"));
    insta::assert_snapshot!("registry", file(&files, "src/resources/mod.rs"));
}

#[test]
fn reviews_module() {
    let implemented: Vec<String> = ["auth", "authors", "books", "reviews"]
        .map(str::to_owned)
        .to_vec();
    let files = implementation_for(&bookstore(), "reviews", &implemented);
    insta::assert_snapshot!("reviews_module", file(&files, "src/resources/reviews.rs"));
}

#[test]
fn books_tests() {
    let files = tests_for(&bookstore(), "books");
    insta::assert_snapshot!("books_tests", file(&files, "tests/books.rs"));
}
