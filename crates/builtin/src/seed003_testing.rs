//! Seed 003's `python-test-engineer`, played in Rust: the feature's spec tests written and
//! run (`tests`, `test-report`), debug-fix-verify's reproduction (`failing-test`) and its
//! verification (`verification`). See `seed003.rs` for the baseline and the feature.

use apiwright_agents::AgentError;
use apiwright_agents::EscalationRequest;
use apiwright_workflow::EscalationKind;
use serde_json::Value;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;
use crate::seed003::Parts;
use crate::seed003::STACK_DECISION;
use crate::seed003::Target;
use crate::seed003::bug_statement;
use crate::seed003::cargo_evidence;
use crate::seed003::changed;
use crate::seed003::ensure_project;
use crate::seed003::generated;
use crate::seed003::has_project;
use crate::seed003::paths;
use crate::seed003::target;

pub(crate) fn python_test_engineer(step: &Step<'_>) -> Result<Work, AgentError> {
    let target = target(step);
    let mut work = Work {
        decisions: vec![STACK_DECISION.to_string(), target.reason.clone()],
        ..Work::default()
    };
    if step.wants("failing-test") {
        return reproduce(step, &target, work);
    }
    if step.wants("verification") {
        return verify(step, &target, work);
    }
    // In a parallel phase the sibling steps write the project at the same time, and without a
    // project there is nothing to run: the tests are written and the gates run them.
    let run_them = has_project(step.workspace()) && !step.request.concurrent;
    let mut files = Vec::new();
    for item in &target.items {
        files.extend(generated(apiwright_codegen::try_tests_for(
            &step.spec, item,
        ))?);
    }
    let test_paths = paths(&files);
    let tests: usize = files
        .iter()
        .map(|file| crate::development::test_count(&file.contents))
        .sum();
    let written = changed(step.workspace(), files);
    if !run_them {
        work.decisions.push(
            "Parallel step (or no project yet): the project may be half-written by the sibling steps, so the tests are not run here; the phase's gates run them".into(),
        );
        work.summary = format!(
            "Wrote the tests of {} ({tests} tests, {} files written); run by the gates",
            target.items.join(", "),
            written.len()
        );
        work.deliverables.insert(
            step.write_name("tests"),
            json!({"items": target.items, "files": test_paths, "written": paths(&written), "tests": tests, "run": Value::Null}),
        );
        work.files = written;
        return Ok(work);
    }
    // The files must be on disk before they run.
    crate::context::write_files(step.workspace(), &written)?;
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for item in &target.items {
        let (evidence, counts) = cargo_evidence(step, &["test", "--test", item]);
        match counts {
            Some((_, 0)) => {}
            Some((_, failed)) => failures.push(format!("{item}: {failed} tests failed")),
            None => failures.push(format!("{item}: the tests did not compile or run")),
        }
        runs.push(json!({"item": item, "run": evidence}));
    }
    let passed: u64 = runs
        .iter()
        .filter_map(|run| run["run"]["passed"].as_u64())
        .sum();
    let failed: u64 = runs
        .iter()
        .filter_map(|run| run["run"]["failed"].as_u64())
        .sum();
    work.summary = format!(
        "Tests of {}: {tests} tests ({} files written, the rest unchanged); ran them: {passed} passed, {failed} failed{}",
        target.items.join(", "),
        written.len(),
        if failures.is_empty() {
            String::new()
        } else {
            format!("; issues: {}", failures.join("; "))
        }
    );
    let value = json!({
        "items": target.items,
        "files": test_paths,
        "written": paths(&written),
        "tests": tests,
        "passed": passed,
        "failed": failed,
        "issues": failures,
        "runs": runs,
    });
    let name = if step.wants("test-report") {
        "test-report"
    } else {
        "tests"
    };
    work.deliverables.insert(step.write_name(name), value);
    // Already written above; `finish` writes them again unchanged.
    work.files = written;
    Ok(work)
}

/// debug-fix-verify's reproduction: the spec's tests of the resource the `task` names, as
/// `tests/{task}.rs`, run against the workspace's service; they must fail.
fn reproduce(step: &Step<'_>, target: &Target, mut work: Work) -> Result<Work, AgentError> {
    let task = step.request.params.get("task").cloned().unwrap_or_default();
    let Some(resource) = target.resource.clone() else {
        work.summary =
            "Could not reproduce: the built-in agents cannot find bugs from a description".into();
        work.escalation = Some(EscalationRequest {
            kind: EscalationKind::ClarificationNeeded,
            message: format!(
                "the built-in agents cannot find bugs: `task` = `{task}` names no spec resource, and the only defect they can reproduce is a resource of the spec not served as specified; name a resource as the task (one of {}), describe the bug in the spec, or use a model-backed agent",
                step.spec
                    .resources
                    .iter()
                    .map(|r| r.plural())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            options: vec![
                "rerun with --param task=RESOURCE".into(),
                "use a model-backed python-test-engineer".into(),
            ],
        });
        work.deliverables.insert(
            step.write_name("failing-test"),
            json!({"task": task, "reproduced": false, "reason": "the task names no spec resource"}),
        );
        return Ok(work);
    };
    let baseline = ensure_project(step, target, Parts::All, &mut work)?;
    if baseline.is_some() {
        crate::context::write_files(step.workspace(), &work.files)?;
    }
    let item = step
        .spec
        .resource(&resource)
        .map(|r| r.plural())
        .unwrap_or_default();
    let contents = generated(apiwright_codegen::try_tests_for(&step.spec, &item))?
        .into_iter()
        .map(|file| file.contents)
        .next()
        .unwrap_or_default();
    let test_file = File {
        path: format!("tests/{task}.rs"),
        contents,
    };
    crate::context::write_files(step.workspace(), std::slice::from_ref(&test_file))?;
    let (evidence, counts) = cargo_evidence(step, &["test", "--test", &task]);
    let reproduced = matches!(counts, Some((_, failed)) if failed > 0);
    work.files.push(test_file.clone());
    work.decisions.push(
        "The only defect the built-in agent can establish without a model is non-conformance to the spec: the spec's HTTP tests of the resource, run against the service in the workspace".into(),
    );
    if !reproduced {
        work.escalation = Some(EscalationRequest {
            kind: EscalationKind::ClarificationNeeded,
            message: format!(
                "could not reproduce `{task}`: the spec's tests of `{resource}` {} against the workspace's service, and the built-in agents cannot find other bugs; describe the bug in the spec or use a model-backed agent",
                match counts {
                    Some(_) => "pass",
                    None => "do not compile or run",
                }
            ),
            options: vec![
                "reject: nothing to fix".into(),
                "use a model-backed python-test-engineer".into(),
            ],
        });
    }
    work.summary = if reproduced {
        format!(
            "Reproduced `{task}`: tests/{task}.rs (the spec's tests of {resource}) fails against the workspace's service: {} failed, {} passed",
            counts.map_or(0, |c| c.1),
            counts.map_or(0, |c| c.0)
        )
    } else {
        format!("Could not reproduce `{task}`: the spec's tests of {resource} do not fail")
    };
    work.deliverables.insert(
        step.write_name("failing-test"),
        json!({
            "task": task,
            "bug": bug_statement(target),
            "file": test_file.path,
            "resource": resource,
            "reproduced": reproduced,
            "baseline_files": baseline,
            "run": evidence,
        }),
    );
    Ok(work)
}

/// debug-fix-verify's verification: the reproducing test and the whole suite, run.
fn verify(step: &Step<'_>, target: &Target, mut work: Work) -> Result<Work, AgentError> {
    let task = step.request.params.get("task").cloned().unwrap_or_default();
    let (item_evidence, item_counts) = cargo_evidence(step, &["test", "--test", &task]);
    let (suite_evidence, suite_counts) = cargo_evidence(step, &["test"]);
    let fixed = matches!(item_counts, Some((passed, 0)) if passed > 0);
    let no_regressions = matches!(suite_counts, Some((_, 0)));
    work.decisions.push(
        "Verified by running the reproducing test and the whole suite; the edge cases (validation, auth, pagination boundaries) are the spec's tests already in the suite".into(),
    );
    work.summary = format!(
        "Verified `{task}`: reproducing test {}, whole suite {}",
        if fixed { "passes" } else { "still fails" },
        if no_regressions {
            "passes"
        } else {
            "has failures"
        }
    );
    work.deliverables.insert(
        step.write_name("verification"),
        json!({
            "task": task,
            "resource": target.resource,
            "fixed": fixed,
            "no_regressions": no_regressions,
            "reproducing_test": item_evidence,
            "suite": suite_evidence,
        }),
    );
    Ok(work)
}
