//! Phase 2–3 roles: the backend developer (project scaffold; each batch's implementation),
//! the tester (each batch's tests, written before the implementation) and the code reviewer
//! (formats the code, runs clippy, records findings).

use std::time::Duration;

use apiwright_agents::AgentError;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;
use crate::process::run_tool;
use crate::process::tail;

pub(crate) fn files_of(
    generated: Result<Vec<apiwright_codegen::GeneratedFile>, apiwright_codegen::CodegenError>,
) -> Result<Vec<File>, AgentError> {
    generated
        .map(|files| {
            files
                .into_iter()
                .map(|file| File {
                    path: file.path,
                    contents: file.contents,
                })
                .collect()
        })
        .map_err(|error| AgentError::Fatal(format!("code generation failed: {error}")))
}

/// The TDD item of the step, checked against the spec's batches.
fn item(step: &Step<'_>) -> Result<String, AgentError> {
    let item = step.request.item.clone().ok_or_else(|| {
        AgentError::Fatal(format!(
            "the built-in {} implements one TDD batch per step: expected a TDD item, found none",
            step.request.role.id
        ))
    })?;
    let items = apiwright_codegen::items(&step.spec);
    if items.contains(&item) {
        Ok(item)
    } else {
        Err(AgentError::Fatal(format!(
            "expected a TDD item among {}, found `{item}`",
            items.join(", ")
        )))
    }
}

/// A stable id of the project's directory (FNV-1a of its path), so projects sharing a cargo
/// target directory never share artifacts (see `apiwright_codegen::try_scaffold_in`).
pub(crate) fn build_id(workspace: &std::path::Path) -> String {
    let path = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("w{hash:016x}")
}

/// The test functions declared in Rust source (`#[test]` and `#[tokio::test]`).
pub(crate) fn test_count(source: &str) -> usize {
    source.matches("#[tokio::test]").count() + source.matches("#[test]").count()
}

pub(crate) fn tester(step: &Step<'_>) -> Result<Work, AgentError> {
    let item = item(step)?;
    let files = files_of(apiwright_codegen::try_tests_for(&step.spec, &item))?;
    let tests = files
        .iter()
        .map(|file| test_count(&file.contents))
        .sum::<usize>();
    let paths: Vec<String> = files.iter().map(|file| file.path.clone()).collect();
    let mut work = Work {
        summary: format!(
            "Wrote {tests} tests for {item} before its implementation ({})",
            paths.join(", ")
        ),
        decisions: vec![format!(
            "Tests of {item} exercise only the HTTP surface, so they run red until it is implemented"
        )],
        files,
        ..Work::default()
    };
    work.deliverables.insert(
        step.write_name("tests"),
        json!({ "item": item, "files": paths, "tests": tests }),
    );
    Ok(work)
}

pub(crate) fn backend_developer(step: &Step<'_>) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let mut work = Work::default();
    if step.wants("project-setup") {
        let files = files_of(apiwright_codegen::try_scaffold_in(
            spec,
            &build_id(step.workspace()),
        ))?;
        let paths: Vec<String> = files.iter().map(|file| file.path.clone()).collect();
        work.summary = format!(
            "Scaffolded the {} service (axum, SQLite, JWT): {} files, no endpoint implemented yet",
            spec.api.name,
            paths.len()
        );
        work.decisions = vec![
            "Rust with axum and SQLite (WAL), migrations applied at start".into(),
            "Configuration from the environment; JSON logs".into(),
        ];
        work.files = files;
        work.deliverables.insert(
            step.write_name("project-setup"),
            json!({ "language": "rust", "framework": "axum", "database": "sqlite", "files": paths }),
        );
    }
    if step.wants("implementation") {
        let files = whole_project(step)?;
        let paths: Vec<String> = files.iter().map(|file| file.path.clone()).collect();
        let items = apiwright_codegen::items(spec);
        work.summary = format!(
            "Implemented the {} service with its tests: {} ({} files)",
            spec.api.name,
            items.join(", "),
            paths.len()
        );
        work.decisions = vec![
            "Rust with axum and SQLite (WAL), migrations applied at start".into(),
            "Every batch's HTTP tests ship with its implementation".into(),
        ];
        work.files = files;
        work.deliverables.insert(
            step.write_name("implementation"),
            json!({ "language": "rust", "framework": "axum", "database": "sqlite", "implemented": items, "files": paths }),
        );
    }
    if step.wants("impl") {
        let item = item(step)?;
        let items = apiwright_codegen::items(spec);
        let position = items
            .iter()
            .position(|candidate| *candidate == item)
            .unwrap_or(0);
        let implemented: Vec<String> = items[..=position].to_vec();
        let files = files_of(apiwright_codegen::try_implementation_for(
            spec,
            &item,
            &implemented,
        ))?;
        let paths: Vec<String> = files.iter().map(|file| file.path.clone()).collect();
        work.summary = format!("Implemented {item} ({})", paths.join(", "));
        work.decisions = vec![format!(
            "Mounted {} of {} batches",
            implemented.len(),
            items.len()
        )];
        work.files = files;
        work.deliverables.insert(
            step.write_name("impl"),
            json!({ "item": item, "files": paths, "implemented": implemented }),
        );
    }
    Ok(work)
}

/// The whole project at once — scaffold, every batch's tests and every implementation — for
/// workflows that build the service in one step rather than test-first per batch. Later
/// files replace earlier ones with the same path (the last batch mounts every router).
pub(crate) fn whole_project(step: &Step<'_>) -> Result<Vec<File>, AgentError> {
    files_of(apiwright_codegen::try_finished_project(
        &step.spec,
        &build_id(step.workspace()),
    ))
}

/// Formats the workspace's project and runs clippy; the findings decide the review. Outside a
/// TDD phase (no item) the whole project is reviewed.
pub(crate) fn code_reviewer(step: &Step<'_>) -> Result<Work, AgentError> {
    let item = match &step.request.item {
        Some(_) => item(step)?,
        None => "the project".to_string(),
    };
    let limit = Duration::from_secs(900);
    let fmt = run_tool(step.workspace(), step.env(), "cargo", &["fmt"], limit);
    let clippy = run_tool(
        step.workspace(),
        step.env(),
        "cargo",
        &["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"],
        limit,
    );
    let findings: Vec<String> = clippy
        .output
        .lines()
        .filter(|line| line.starts_with("error") || line.starts_with("warning"))
        .filter(|line| !line.starts_with("error: could not compile"))
        .map(str::to_string)
        .collect();
    let approved = fmt.success && clippy.success;
    let mut work = Work {
        summary: if approved {
            format!("Reviewed {item}: formatted, clippy clean with -D warnings")
        } else {
            format!(
                "Reviewed {item}: {} findings; sent back",
                findings.len().max(1)
            )
        },
        decisions: vec!["Formatting is applied, not just checked; lints are errors".into()],
        ..Work::default()
    };
    work.deliverables.insert(
        step.write_name("review"),
        json!({
            "item": item,
            "approved": approved,
            "findings": if approved { 0 } else { findings.len().max(1) },
            "fmt": {"command": fmt.command, "success": fmt.success},
            "clippy": {"command": clippy.command, "success": clippy.success, "exit_code": clippy.exit_code, "output_tail": tail(&clippy.output, 40)},
            "messages": findings,
        }),
    );
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_ids_are_stable_per_directory_and_differ_between_directories() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        assert_eq!(build_id(one.path()), build_id(one.path()));
        assert_ne!(build_id(one.path()), build_id(two.path()));
        let spec = crate::test_support::example_spec("bookstore");
        let files = apiwright_codegen::try_scaffold_in(&spec, &build_id(one.path())).unwrap();
        let manifest = files.iter().find(|file| file.path == "Cargo.toml").unwrap();
        assert!(
            manifest
                .contents
                .contains(&format!("version = \"1.0.0+{}\"", build_id(one.path()))),
            "{}",
            manifest.contents
        );
        assert!(apiwright_codegen::try_scaffold_in(&spec, "no spaces").is_err());
    }

    #[test]
    fn the_whole_project_has_every_batch_once_with_every_router_mounted() {
        let workspace = tempfile::tempdir().unwrap();
        let spec = crate::test_support::example_spec("bookstore");
        let request = crate::context::tests::request(workspace.path(), "backend-developer");
        let step = Step {
            request: &request,
            spec: spec.clone(),
        };
        let files = whole_project(&step).unwrap();
        let mut paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
        let count = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), count, "a path appears twice");
        let last = apiwright_codegen::items(&spec);
        let expected =
            apiwright_codegen::try_implementation_for(&spec, last.last().unwrap(), &last).unwrap();
        for file in expected {
            let kept = files.iter().find(|kept| kept.path == file.path).unwrap();
            assert_eq!(
                kept.contents, file.contents,
                "{} is not the last batch's",
                file.path
            );
        }
        for item in &last {
            for test in apiwright_codegen::try_tests_for(&spec, item).unwrap() {
                assert!(paths.contains(&test.path.as_str()), "missing {}", test.path);
            }
        }
    }
}
