//! Seed 003's roles (the five backend orchestration patterns): `api-designer`,
//! `python-backend-engineer`, `python-test-engineer` and `sprint-manager`, played offline in
//! the one stack the built-in provider generates (Rust, axum, SQLite). The seed is written for
//! a Python/FastAPI codebase; the workflows' gates call the stack-neutral `sh ci.sh STEP`, so
//! the same workflows run against the generated Rust project here and against real Python with
//! model-backed agents.
//!
//! Seed 003 assumes a project exists. Here the spec describes it: the first role that needs a
//! project and finds no `Cargo.toml` writes the *baseline* — the scaffold, `ci.sh`,
//! `openapi.json`, and every batch (with its tests) outside the feature being worked on — and
//! the feature's batches are left to the engineer. The feature is the spec resource named by
//! the `feature` or `task` parameter (with the resources it references); when the parameter
//! names no resource the feature is the whole spec, and the baseline is the whole project
//! (the later roles then find it matches the spec and say so).

use std::path::Path;
use std::time::Duration;

use apiwright_agents::AgentError;
use apiwright_agents::EscalationRequest;
use apiwright_spec::Spec;
use apiwright_workflow::EscalationKind;
use serde_json::Value;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;
use crate::process::run_tool;
use crate::process::tail;

/// The stack every built-in role generates, stated in every seed 003 summary.
pub(crate) const STACK_DECISION: &str = "Played in the built-in provider's one stack, Rust/axum/SQLite: the seed names \
     Python/FastAPI roles, the gates call the stack-neutral `sh ci.sh STEP`, and model-backed \
     agents can do real Python";

/// Time limit of a cargo run by a role.
const CARGO_LIMIT: Duration = Duration::from_secs(900);

/// What a seed 003 step works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The batches (`apiwright_codegen::items`) of the feature, in build order.
    pub items: Vec<String>,
    /// The spec resource the parameter names, if it names one.
    pub resource: Option<String>,
    /// Why these batches, for summaries.
    pub reason: String,
}

/// The resource a parameter value names: its name, plural, or either with `-` for `_`.
fn resource_named<'s>(spec: &'s Spec, value: &str) -> Option<&'s apiwright_spec::Resource> {
    let value = value.trim().to_ascii_lowercase().replace('-', "_");
    spec.resources
        .iter()
        .find(|resource| resource.name == value || resource.plural() == value)
}

/// The feature of the step: the resource named by `feature` or `task` (with the resources it
/// references, transitively, and `auth`), else every batch of the spec.
pub(crate) fn target(step: &Step<'_>) -> Target {
    let spec = &step.spec;
    let all = apiwright_codegen::items(spec);
    for parameter in ["feature", "task"] {
        let Some(value) = step.request.params.get(parameter) else {
            continue;
        };
        if let Some(resource) = resource_named(spec, value) {
            let closure = closure(spec, &resource.name);
            let items = all
                .iter()
                .filter(|item| {
                    *item == "auth"
                        || closure
                            .iter()
                            .any(|name| spec.resource(name).is_some_and(|r| r.plural() == **item))
                })
                .cloned()
                .collect();
            return Target {
                items,
                resource: Some(resource.name.clone()),
                reason: format!(
                    "`{parameter}` = `{value}` names the spec resource `{}`: its batch, with auth and the resources it references",
                    resource.name
                ),
            };
        }
    }
    let named: Vec<String> = ["feature", "task"]
        .iter()
        .filter_map(|p| {
            step.request
                .params
                .get(*p)
                .map(|v| format!("`{p}` = `{v}`"))
        })
        .collect();
    Target {
        items: all,
        resource: None,
        reason: if named.is_empty() {
            "no `feature` or `task` parameter: the whole spec".to_string()
        } else {
            format!(
                "{} names no spec resource (expected one of {}): the whole spec",
                named.join(", "),
                spec.resources
                    .iter()
                    .map(|r| format!("`{}`", r.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    }
}

/// `name` and every resource it references, transitively.
fn closure(spec: &Spec, name: &str) -> Vec<String> {
    let mut found = vec![name.to_string()];
    let mut index = 0;
    while index < found.len() {
        if let Some(resource) = spec.resource(&found[index]) {
            for (_, to) in resource.references() {
                if spec.resource(to).is_some() && !found.iter().any(|known| known == to) {
                    found.push(to.to_string());
                }
            }
        }
        index += 1;
    }
    found
}

/// The batches of the baseline (the "existing project"): `auth` and every batch that does not
/// need the feature's resource. With the whole spec as the feature, the spec describes the
/// whole project and the baseline is all of it: a baseline of `auth` alone leaves the runtime
/// code only resources use unexercised, and seed 003's first phase measures coverage (with
/// `examples/bookstore.yaml`, 75.6 % of lines against the 80 % target).
pub(crate) fn baseline_items(spec: &Spec, target: &Target) -> Vec<String> {
    let all = apiwright_codegen::items(spec);
    let Some(resource) = &target.resource else {
        return all;
    };
    all.into_iter()
        .filter(|item| {
            item == "auth"
                || spec
                    .resources
                    .iter()
                    .find(|r| r.plural() == *item)
                    .is_some_and(|r| !closure(spec, &r.name).contains(resource))
        })
        .collect()
}

pub(crate) fn has_project(workspace: &Path) -> bool {
    workspace.join("Cargo.toml").is_file()
}

/// Batches mounted in the workspace's route registry (`pub mod NAME;` lines).
pub(crate) fn mounted(workspace: &Path) -> Vec<String> {
    std::fs::read_to_string(workspace.join("src/resources/mod.rs"))
        .map(|text| {
            text.lines()
                .filter_map(|line| line.trim().strip_prefix("pub mod "))
                .map(|rest| rest.trim_end_matches(';').trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn generated(
    files: Result<Vec<apiwright_codegen::GeneratedFile>, apiwright_codegen::CodegenError>,
) -> Result<Vec<File>, AgentError> {
    crate::development::files_of(files)
}

/// The project's `ci.sh` and `openapi.json` (the gates' entry point and the contract).
fn project_support(spec: &Spec) -> Vec<File> {
    vec![
        File {
            path: "ci.sh".into(),
            contents: crate::operations::ci_script(spec),
        },
        File {
            path: "openapi.json".into(),
            contents: openapi_json(spec),
        },
    ]
}

pub(crate) fn openapi_json(spec: &Spec) -> String {
    let mut text =
        serde_json::to_string_pretty(&crate::openapi::openapi_document(spec)).unwrap_or_default();
    text.push('\n');
    text
}

/// Which parts of the baseline a role writes (parallel steps split the project by files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parts {
    /// Everything: scaffold, `ci.sh`, `openapi.json`, the baseline batches with their tests.
    All,
    /// Everything but `migrations/` and the batches' tests (parallel-tasks' endpoint step).
    NoMigrationsNoTests,
}

/// The baseline project, when the workspace has none: the scaffold, `ci.sh`,
/// `openapi.json`, and the baseline batches implemented with their tests.
fn baseline(step: &Step<'_>, target: &Target, parts: Parts) -> Result<Vec<File>, AgentError> {
    let spec = &step.spec;
    let mut files = generated(apiwright_codegen::try_scaffold_in(
        spec,
        &crate::development::build_id(step.workspace()),
    ))?;
    files.extend(project_support(spec));
    let implemented = baseline_items(spec, target);
    files.extend(generated(apiwright_codegen::try_batches(
        spec,
        &implemented,
        &implemented,
        parts == Parts::All,
    ))?);
    if parts == Parts::NoMigrationsNoTests {
        files.retain(|file| !file.path.starts_with("migrations/"));
    }
    Ok(dedup(files))
}

/// Later files replace earlier ones with the same path.
pub(crate) fn dedup(files: Vec<File>) -> Vec<File> {
    let mut latest: Vec<File> = Vec::with_capacity(files.len());
    for file in files {
        match latest.iter_mut().find(|kept| kept.path == file.path) {
            Some(kept) => *kept = file,
            None => latest.push(file),
        }
    }
    latest
}

/// Files whose contents differ from the workspace's (or that do not exist there).
pub(crate) fn changed(workspace: &Path, files: Vec<File>) -> Vec<File> {
    files
        .into_iter()
        .filter(|file| {
            std::fs::read_to_string(workspace.join(&file.path)).ok() != Some(file.contents.clone())
        })
        .collect()
}

pub(crate) fn paths(files: &[File]) -> Vec<String> {
    files.iter().map(|file| file.path.clone()).collect()
}

/// Writes the baseline into `work` when the workspace has no project; says so in decisions.
pub(crate) fn ensure_project(
    step: &Step<'_>,
    target: &Target,
    parts: Parts,
    work: &mut Work,
) -> Result<Option<Vec<String>>, AgentError> {
    if has_project(step.workspace()) {
        return Ok(None);
    }
    let files = baseline(step, target, parts)?;
    let implemented = baseline_items(&step.spec, target);
    work.decisions.push(format!(
        "The workspace had no project (no Cargo.toml): wrote the baseline the spec describes — scaffold, ci.sh, openapi.json and the batches {} — and left the feature's batches to the backend engineer",
        implemented.join(", ")
    ));
    let written = paths(&files);
    work.files.extend(files);
    Ok(Some(written))
}

/// The feature's batches (modules, registry and, with `with_tests`, tests) that differ from
/// what the spec generates; the registry mounts what is mounted plus the feature.
fn feature_files(
    step: &Step<'_>,
    target: &Target,
    already_mounted: &[String],
    with_tests: bool,
) -> Result<Vec<File>, AgentError> {
    let spec = &step.spec;
    let all = apiwright_codegen::items(spec);
    let implemented: Vec<String> = all
        .iter()
        .filter(|item| target.items.contains(item) || already_mounted.contains(item))
        .cloned()
        .collect();
    let mut files = generated(apiwright_codegen::try_batches(
        spec,
        &target.items,
        &implemented,
        with_tests,
    ))?;
    if !step.workspace().join("openapi.json").is_file() {
        files.push(File {
            path: "openapi.json".into(),
            contents: openapi_json(spec),
        });
    }
    Ok(changed(step.workspace(), dedup(files)))
}

/// Test counts from libtest's `test result:` lines; `None` when no suite ran.
pub(crate) fn test_counts(output: &str) -> Option<(u64, u64)> {
    let mut seen = false;
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        seen = true;
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let count = |name: &str| {
                words
                    .windows(2)
                    .find(|pair| pair[1].trim_end_matches('.') == name)
                    .and_then(|pair| pair[0].parse::<u64>().ok())
            };
            if let Some(n) = count("passed") {
                passed += n;
            }
            if let Some(n) = count("failed") {
                failed += n;
            }
        }
    }
    seen.then_some((passed, failed))
}

/// Runs a cargo command and returns its evidence as JSON (command, success, counts, tail).
pub(crate) fn cargo_evidence(step: &Step<'_>, args: &[&str]) -> (Value, Option<(u64, u64)>) {
    let run = run_tool(step.workspace(), step.env(), "cargo", args, CARGO_LIMIT);
    let counts = test_counts(&run.output);
    (
        json!({
            "command": run.command,
            "exit_code": run.exit_code,
            "success": run.success,
            "passed": counts.map(|c| c.0),
            "failed": counts.map(|c| c.1),
            "compiled": counts.is_some(),
            "output_tail": tail(&run.output, 30),
        }),
        counts,
    )
}

// ---------------------------------------------------------------------------------------
// api-designer

/// The contract: `openapi.json` from the spec, and the baseline when there is no project
/// (seed 003's first phase gates build, test and measure coverage).
pub(crate) fn api_designer(step: &Step<'_>) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let target = target(step);
    let mut work = Work {
        decisions: vec![STACK_DECISION.to_string(), target.reason.clone()],
        ..Work::default()
    };
    let baseline = ensure_project(step, &target, Parts::All, &mut work)?;
    let document = crate::openapi::openapi_document(spec);
    if baseline.is_none() {
        work.files.push(File {
            path: "openapi.json".into(),
            contents: openapi_json(spec),
        });
    }
    let paths_list: Vec<String> = document["paths"]
        .as_object()
        .map(|paths| paths.keys().cloned().collect())
        .unwrap_or_default();
    let operations = document["paths"]
        .as_object()
        .map(|paths| {
            paths
                .values()
                .filter_map(Value::as_object)
                .map(|ops| ops.len())
                .sum::<usize>()
        })
        .unwrap_or(0);
    let feature_operations: Vec<String> = spec
        .endpoints()
        .iter()
        .filter(|endpoint| match (&target.resource, &endpoint.resource) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(resource)) => target
                .items
                .iter()
                .any(|item| spec.resource(resource).is_some_and(|r| r.plural() == *item)),
        })
        .map(ToString::to_string)
        .collect();
    work.decisions.push(
        "OpenAPI 3.1 generated from the spec, the source of truth; errors are RFC 9457 problems; lists are paginated; bearer JWT".into(),
    );
    work.summary = format!(
        "Wrote the OpenAPI 3.1 contract of {} to openapi.json: {} paths, {operations} operations ({} for the feature){}",
        spec.title(),
        paths_list.len(),
        feature_operations.len(),
        if baseline.is_some() {
            "; scaffolded the baseline project first"
        } else {
            ""
        }
    );
    work.deliverables.insert(
        step.write_name("contract"),
        json!({
            "document": "openapi.json",
            "openapi_version": document["openapi"],
            "operations": operations,
            "paths": paths_list,
            "feature": target.resource,
            "feature_operations": feature_operations,
            "baseline_files": baseline,
        }),
    );
    Ok(work)
}

// ---------------------------------------------------------------------------------------
// python-backend-engineer

pub(crate) fn python_backend_engineer(step: &Step<'_>) -> Result<Work, AgentError> {
    let target = target(step);
    let mut work = Work {
        decisions: vec![STACK_DECISION.to_string(), target.reason.clone()],
        ..Work::default()
    };
    if step.wants("repository-method") {
        return repository_method(step, &target, work);
    }
    let parallel = step.wants("endpoint");
    let parts = if parallel {
        Parts::NoMigrationsNoTests
    } else {
        Parts::All
    };
    let baseline = ensure_project(step, &target, parts, &mut work)?;
    let before = if baseline.is_some() {
        baseline_items(&step.spec, &target)
    } else {
        mounted(step.workspace())
    };
    let files = feature_files(step, &target, &before, !parallel)?;
    let changed_paths = paths(&files);
    // The feature's registry replaces the baseline's.
    let mut all = std::mem::take(&mut work.files);
    all.extend(files);
    work.files = dedup(all);
    let newly: Vec<String> = target
        .items
        .iter()
        .filter(|item| !before.contains(item))
        .cloned()
        .collect();
    if step.request.iteration > 1 && changed_paths.is_empty() {
        work.escalation = Some(EscalationRequest {
            kind: EscalationKind::TechnicalDebt,
            message: format!(
                "iteration {}: the built-in engineer regenerated the feature ({}) from the spec and nothing differs from the workspace, so it has no fix for the failing gates; a person or a model agent must decide",
                step.request.iteration,
                target.items.join(", ")
            ),
            options: vec![
                "fix the project by hand and approve".into(),
                "reject and rerun with a model-backed agent".into(),
            ],
        });
    }
    let deliverable = if step.wants("fix") {
        "fix"
    } else if parallel {
        "endpoint"
    } else {
        "implementation"
    };
    work.decisions.push(if parallel {
        "Parallel step: wrote only the scaffold, the resource modules and the route registry; migrations belong to the repository step and tests to the test step, so no two steps write one file".into()
    } else {
        "The generated HTTP tests ship with each batch: every handoff's gates require passing tests and coverage".into()
    });
    work.summary = if changed_paths.is_empty() {
        format!(
            "The feature ({}) already matches the spec in the workspace: nothing to change",
            target.items.join(", ")
        )
    } else {
        format!(
            "Implemented {} (newly mounted: {}); {} files written",
            target.items.join(", "),
            if newly.is_empty() {
                "none".to_string()
            } else {
                newly.join(", ")
            },
            changed_paths.len()
        )
    };
    let mut value = json!({
        "language": "rust",
        "framework": "axum",
        "database": "sqlite",
        "feature": target.resource,
        "items": target.items,
        "newly_mounted": newly,
        "files": changed_paths,
        "baseline_files": baseline,
    });
    if deliverable == "fix" {
        value["bug"] = json!(bug_statement(&target));
        value["change"] = json!(if newly.is_empty() {
            "regenerated the resource's module from the spec"
        } else {
            "implemented and mounted the resource's batch, which was not served"
        });
    }
    work.deliverables
        .insert(step.write_name(deliverable), value);
    Ok(work)
}

/// parallel-tasks' repository step: the schema the resource modules' queries run on.
fn repository_method(step: &Step<'_>, target: &Target, mut work: Work) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let (up, down) = apiwright_codegen::migrations(spec);
    let files: Vec<File> = generated(apiwright_codegen::try_scaffold_in(
        spec,
        &crate::development::build_id(step.workspace()),
    ))?
    .into_iter()
    .filter(|file| file.path.starts_with("migrations/"))
    .collect();
    let files = changed(step.workspace(), files);
    let tables = up.matches("CREATE TABLE").count();
    let indexes = up.matches("CREATE INDEX").count() + up.matches("CREATE UNIQUE INDEX").count();
    work.decisions.push(
        "The generated service keeps each resource's queries in its module; the repository step owns the schema they run on (migrations/), the only files it writes in this parallel phase".into(),
    );
    work.decisions.push(
        "The free-text `repository_task` is not interpreted by the built-in agent; a model-backed agent can".into(),
    );
    work.summary = format!(
        "Repository layer schema: {tables} tables, {indexes} indexes, reversible ({} files written)",
        files.len()
    );
    work.deliverables.insert(
        step.write_name("repository-method"),
        json!({
            "items": target.items,
            "tables": tables,
            "indexes": indexes,
            "reversible": !down.trim().is_empty(),
            "files": paths(&files),
        }),
    );
    work.files = files;
    Ok(work)
}

pub(crate) fn bug_statement(target: &Target) -> String {
    format!(
        "the service in the workspace does not serve resource `{}` as the spec specifies",
        target.resource.as_deref().unwrap_or("?")
    )
}

#[cfg(test)]
#[path = "seed003_tests.rs"]
mod tests;
