//! Seed 003's `sprint-manager`: requirements and Given/When/Then acceptance criteria from the
//! spec, and the sprint documentation (`docs/sprint/TASK.md`) from the recorded evidence.

use apiwright_agents::AgentError;
use apiwright_spec::Spec;
use serde_json::Value;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;
use crate::seed003::Parts;
use crate::seed003::STACK_DECISION;
use crate::seed003::ensure_project;
use crate::seed003::target;

pub(crate) fn sprint_manager(step: &Step<'_>) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let target = target(step);
    let task = step
        .request
        .params
        .get("task")
        .cloned()
        .unwrap_or_else(|| "task".to_string());
    let mut work = Work {
        decisions: vec![STACK_DECISION.to_string(), target.reason.clone()],
        ..Work::default()
    };
    let endpoints: Vec<apiwright_spec::Endpoint> = spec
        .endpoints()
        .into_iter()
        .filter(|endpoint| match (&target.resource, &endpoint.resource) {
            (_, None) => endpoint.path.contains("/auth/"),
            (None, Some(_)) => true,
            (Some(_), Some(resource)) => target
                .items
                .iter()
                .any(|item| spec.resource(resource).is_some_and(|r| r.plural() == *item)),
        })
        .collect();
    if step.wants("requirements") || step.wants("acceptance-criteria") {
        let baseline = ensure_project(step, &target, Parts::All, &mut work)?;
        let criteria: Vec<Value> = endpoints
            .iter()
            .enumerate()
            .map(|(index, endpoint)| acceptance_criterion(spec, index + 1, endpoint))
            .collect();
        work.deliverables.insert(
            step.write_name("requirements"),
            json!({
                "task": task,
                "source": format!("spec {} {}", spec.api.name, spec.api.version),
                "feature": target.resource,
                "items": target.items,
                "endpoints": endpoints.iter().map(|e| json!({"method": e.method.as_str(), "path": e.path, "summary": e.summary})).collect::<Vec<_>>(),
                "roles": spec.auth.roles,
                "dependencies": target.items.iter().filter(|item| Some(item.as_str()) != target.resource.as_ref().and_then(|r| spec.resource(r)).map(|r| r.plural()).as_deref()).collect::<Vec<_>>(),
                "baseline_files": baseline,
            }),
        );
        work.deliverables.insert(
            step.write_name("acceptance-criteria"),
            json!({ "task": task, "count": criteria.len(), "criteria": criteria }),
        );
        work.summary = format!(
            "Requirements of {task}: {} endpoints ({}), {} acceptance criteria (Given/When/Then, one per endpoint)",
            endpoints.len(),
            target.items.join(", "),
            endpoints.len()
        );
    }
    if step.wants("sprint-docs") {
        sprint_docs(step, &task, &mut work);
    }
    Ok(work)
}

fn acceptance_criterion(spec: &Spec, number: usize, endpoint: &apiwright_spec::Endpoint) -> Value {
    let resource = endpoint
        .resource
        .as_deref()
        .and_then(|name| spec.resource(name));
    let (operation, success) = match (endpoint.method, endpoint.path.ends_with("{id}")) {
        (apiwright_spec::Method::Get, false) => (
            apiwright_spec::Operation::List,
            "200 with a page of records",
        ),
        (apiwright_spec::Method::Get, true) => {
            (apiwright_spec::Operation::Read, "200 with the record")
        }
        (apiwright_spec::Method::Post, _) => (
            apiwright_spec::Operation::Create,
            "201 with the created record",
        ),
        (apiwright_spec::Method::Patch, _) => (
            apiwright_spec::Operation::Update,
            "200 with the updated record",
        ),
        (apiwright_spec::Method::Delete, _) => (apiwright_spec::Operation::Delete, "204"),
    };
    let who = resource
        .map(|r| r.access(operation).join(" or "))
        .filter(|who| !who.is_empty())
        .unwrap_or_else(|| "any client".to_string());
    let then = match resource {
        Some(_) => format!(
            "it responds {success}; a caller not allowed gets 401 or 403; invalid input gets 422 with field errors"
        ),
        None => format!(
            "it responds as documented in openapi.json ({})",
            endpoint.summary
        ),
    };
    json!({
        "id": format!("AC-{number}"),
        "endpoint": endpoint.to_string(),
        "given": format!("a caller who is {who}"),
        "when": format!("they call {endpoint}"),
        "then": then,
    })
}

/// The last phase: `docs/sprint/{task}.md` from the review and the run's recorded gates.
fn sprint_docs(step: &Step<'_>, task: &str, work: &mut Work) {
    let review = step.read("/code-reviewer/review").unwrap_or(Value::Null);
    let approved = review["approved"].as_bool().unwrap_or(false);
    let criteria = step
        .read("/sprint-manager/acceptance-criteria")
        .unwrap_or(Value::Null);
    // The latest outcome of each gate of each phase.
    let mut latest: Vec<(&str, &str, &str, &str)> = Vec::new();
    for record in step.request.gates.iter() {
        let entry = (
            record.phase.as_str(),
            record.gate.as_str(),
            record.outcome.as_str(),
            record.summary.as_str(),
        );
        match latest
            .iter_mut()
            .find(|known| known.0 == entry.0 && known.1 == entry.1)
        {
            Some(known) => *known = entry,
            None => latest.push(entry),
        }
    }
    let blockers: Vec<String> = latest
        .iter()
        .filter(|(_, _, outcome, _)| !matches!(*outcome, "passed" | "approved"))
        .map(|(phase, gate, outcome, summary)| format!("{phase}/{gate}: {outcome} — {summary}"))
        .collect();
    let complete = approved && blockers.is_empty() && !latest.is_empty();
    let status = if complete { "complete" } else { "blocked" };
    let mut markdown =
        format!("# Sprint task {task}\n\nStatus: **{status}**\n\n## Acceptance criteria\n");
    for criterion in criteria["criteria"].as_array().into_iter().flatten() {
        markdown.push_str(&format!(
            "- {}: Given {}, when {}, then {}.\n",
            criterion["id"].as_str().unwrap_or("?"),
            criterion["given"].as_str().unwrap_or(""),
            criterion["when"].as_str().unwrap_or(""),
            criterion["then"].as_str().unwrap_or("")
        ));
    }
    markdown.push_str("\n## Outcomes (recorded gates, latest per phase)\n");
    for (phase, gate, outcome, summary) in &latest {
        markdown.push_str(&format!("- {phase}/{gate}: {outcome} — {summary}\n"));
    }
    markdown.push_str(&format!(
        "\n## Review\n- code-reviewer approved: {approved}\n\n## Blockers\n"
    ));
    if blockers.is_empty() {
        markdown.push_str("- None.\n");
    }
    for blocker in &blockers {
        markdown.push_str(&format!("- {blocker}\n"));
    }
    let path = format!("docs/sprint/{task}.md");
    work.summary = format!(
        "Marked {task} as {status} in {path} ({} gates recorded, {} blockers, review approved: {approved})",
        latest.len(),
        blockers.len()
    );
    work.deliverables.insert(
        step.write_name("sprint-docs"),
        json!({
            "path": path,
            "status": status,
            "review_approved": approved,
            "criteria": criteria["count"],
            "gates_recorded": latest.len(),
            "blockers": blockers,
        }),
    );
    work.files.push(File {
        path,
        contents: markdown,
    });
}
