//! End-to-end: the generated projects built and tested by real cargo, with the shared target
//! directory `target/generated` (so that dependencies are built once), each project in
//! `target/generated/projects/{name}` (a stable path, so that its incremental caches are
//! reused; a lock file keeps concurrent runs apart).
//!
//! For the bookstore, the TDD contract is checked item by item: after the scaffold and the
//! item's tests, `cargo test --test {item}` compiles and every test fails; after the
//! implementation, they all pass. The finished project must pass `cargo test`,
//! `cargo clippy --all-targets -- -D warnings` and `cargo fmt --check`. The other examples
//! and a spec of corner cases (`tests/it/specs/edge-cases.yaml`) are generated finished and
//! must pass the same three commands.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use apiwright_codegen::{GeneratedFile, implementation_for, items, scaffold, tests_for};
use apiwright_spec::Spec;

use crate::api::full_project;
use crate::support::{self, Run, cargo, target_dir, test_counts, write};

/// The project directory of `name`, `target/generated/projects/{name}`, with its sources
/// removed, held exclusively (by a lock file) until the guard is dropped. The path is stable,
/// so cargo's incremental caches are reused between runs instead of piling up; a failed
/// project stays there for inspection.
fn project_dir(name: &str) -> (PathBuf, File) {
    let parent = target_dir().join("projects");
    std::fs::create_dir_all(&parent).expect("the projects directory");
    let lock = File::create(parent.join(format!("{name}.lock"))).expect("the lock file");
    lock.lock().expect("the project lock");
    let dir = parent.join(name);
    for sub in ["src", "tests", "migrations"] {
        let _ = std::fs::remove_dir_all(dir.join(sub));
    }
    std::fs::create_dir_all(&dir).expect("the project directory");
    eprintln!("{name}: generated in {}", dir.display());
    (dir, lock)
}

fn check(run: &Run, what: &str) {
    assert!(
        run.success,
        "{what} failed after {:?}:\n{}",
        run.elapsed,
        tail(&run.output)
    );
    eprintln!("{what}: {:.1} s", run.elapsed.as_secs_f64());
}

fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

/// `cargo test`, `cargo clippy --all-targets -- -D warnings` and `cargo fmt --check`.
fn finished_project_checks(dir: &Path, name: &str) {
    let run = cargo(dir, &["test", "--no-fail-fast"]);
    check(&run, &format!("{name}: cargo test"));
    let (passed, failed) = test_counts(&run.output).expect("test results");
    assert!(
        passed > 40 && failed == 0,
        "{passed} passed, {failed} failed"
    );
    check(
        &cargo(dir, &["clippy", "--all-targets", "--", "-D", "warnings"]),
        &format!("{name}: cargo clippy"),
    );
    check(
        &cargo(dir, &["fmt", "--check"]),
        &format!("{name}: cargo fmt --check"),
    );
}

#[test]
fn bookstore_is_built_test_first() {
    let started = Instant::now();
    let spec = support::bookstore();
    let (project, _lock) = project_dir("bookstore");
    let dir = project.as_path();
    write(dir, &scaffold(&spec));
    let run = cargo(dir, &["test", "--no-fail-fast"]);
    check(&run, "scaffold: cargo test");
    let mut implemented: Vec<String> = Vec::new();
    for item in items(&spec) {
        write(dir, &tests_for(&spec, &item));
        let red = cargo(dir, &["test", "--test", &item]);
        let (passed, failed) = test_counts(&red.output)
            .unwrap_or_else(|| panic!("{item}: the tests did not run:\n{}", tail(&red.output)));
        assert!(
            !red.success,
            "{item}: the tests pass before the implementation"
        );
        assert!(
            failed >= 1 && passed == 0,
            "{item}: red run had {passed} passing and {failed} failing tests"
        );
        eprintln!(
            "{item}: red ({failed} failing) in {:.1} s",
            red.elapsed.as_secs_f64()
        );
        implemented.push(item.clone());
        write(dir, &implementation_for(&spec, &item, &implemented));
        let green = cargo(dir, &["test", "--test", &item]);
        check(&green, &format!("{item}: green"));
        let (passed, failed) = test_counts(&green.output).expect("test results");
        assert_eq!((passed, failed), (failed + passed, 0));
    }
    finished_project_checks(dir, "bookstore");
    eprintln!(
        "bookstore end to end: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn other_example(name: &str) {
    // The examples ship with the repository: a missing one is a failure, never a skip.
    let spec: Spec =
        support::example(name).unwrap_or_else(|| panic!("examples/{name}.yaml is missing"));
    finished(name, &spec);
}

/// Writes the finished project of `spec` and checks it.
fn finished(name: &str, spec: &Spec) {
    let started = Instant::now();
    let (project, _lock) = project_dir(name);
    let files: Vec<GeneratedFile> = full_project(spec);
    write(&project, &files);
    finished_project_checks(&project, name);
    eprintln!(
        "{name} end to end: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn user_management_builds_and_passes() {
    other_example("user-management");
}

#[test]
fn order_service_builds_and_passes() {
    other_example("order-service");
}

#[test]
fn edge_cases_build_and_pass() {
    finished("edge-cases", &support::edge_cases());
}
