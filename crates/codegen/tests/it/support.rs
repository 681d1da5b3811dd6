//! Shared helpers: example specs, writing a generated project, running cargo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apiwright_codegen::GeneratedFile;
use apiwright_spec::Spec;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Loads `examples/{name}.yaml`, if it exists.
pub fn example(name: &str) -> Option<Spec> {
    let path = workspace().join("examples").join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).ok()?;
    Some(
        apiwright_spec::load_str(&path.display().to_string(), &text).expect("the example is valid"),
    )
}

/// The spec of corner cases (`tests/it/specs/edge-cases.yaml`).
pub fn edge_cases() -> Spec {
    let text = include_str!("specs/edge-cases.yaml");
    apiwright_spec::load_str("edge-cases.yaml", text).expect("the edge cases spec is valid")
}

/// The bookstore example.
pub fn bookstore() -> Spec {
    example("bookstore").expect("examples/bookstore.yaml exists")
}

/// Writes files under `root`.
pub fn write(root: &Path, files: &[GeneratedFile]) {
    for file in files {
        assert!(
            !file.path.starts_with('/') && !file.path.contains(".."),
            "{}",
            file.path
        );
        let path = root.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("directories");
        std::fs::write(&path, &file.contents).expect("written");
    }
}

/// The contents of the file at `path` among `files`.
pub fn file<'f>(files: &'f [GeneratedFile], path: &str) -> &'f str {
    &files
        .iter()
        .find(|file| file.path == path)
        .unwrap_or_else(|| panic!("no file {path}"))
        .contents
}

/// Output of a cargo run.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub output: String,
    pub elapsed: Duration,
}

/// The target directory shared by generated projects: `target/generated`, or
/// `$CODEGEN_TARGET_DIR` (to measure a cold build without touching the shared cache).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CODEGEN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/generated"))
}

/// Runs `cargo args` in `dir` with the shared target directory of generated projects.
pub fn cargo(dir: &Path, args: &[&str]) -> Run {
    let started = Instant::now();
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_INCREMENTAL")
        .env_remove("CARGO_LLVM_COV")
        .env_remove("LLVM_PROFILE_FILE")
        .output()
        .expect("cargo runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Run {
        success: output.status.success(),
        output: text,
        elapsed: started.elapsed(),
    }
}

/// The counts of libtest's `test result:` lines, summed: (passed, failed).
pub fn test_counts(output: &str) -> Option<(u32, u32)> {
    let mut found = None;
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        let number = |label: &str| -> u32 {
            rest.split(';')
                .find_map(|part| part.trim().strip_suffix(label))
                .and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
                .unwrap_or(0)
        };
        let (passed, failed) = found.unwrap_or((0, 0));
        found = Some((passed + number(" passed"), failed + number(" failed")));
    }
    found
}
