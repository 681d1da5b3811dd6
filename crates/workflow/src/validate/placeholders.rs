//! Unknown placeholders: every `{name}` in a template must have a value where the template is
//! used. Parameters are known everywhere; the run's own placeholders depend on the place:
//! the memory pattern knows them all, steps know their agent, only tdd phases have items.

use std::collections::BTreeSet;
use std::collections::HashSet;

use super::Issue;
use super::list;
use crate::model::Mode;
use crate::model::Phase;
use crate::model::Workflow;
use crate::span_index::Path;
use crate::template;

/// Placeholders every memory key gets from the run, besides parameters.
pub(super) const RUN_PLACEHOLDERS: [&str; 8] = [
    "phase",
    "phase_id",
    "agent",
    "deliverable",
    "item",
    "item_slug",
    "iteration",
    "run_id",
];

/// Where a template appears, which decides the placeholders it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A step's task, reads or writes.
    Step,
    /// A gate's command, keys or prompt.
    Gate,
    /// A tdd `items_from` key, read when the phase starts, before any item exists.
    ItemsFrom,
    /// A workflow input key, stored before the first phase: only parameters and the run.
    Input,
}

/// Checks every template of the workflow.
pub(super) fn check(workflow: &Workflow, issues: &mut Vec<Issue>) {
    let parameters: BTreeSet<&str> = workflow.parameters.keys().map(String::as_str).collect();
    let mut pattern_vars = parameters.clone();
    pattern_vars.extend(RUN_PLACEHOLDERS);
    let pattern_at = Path::root().key("memory_pattern");
    template(issues, pattern_at, &workflow.memory_pattern, &pattern_vars);
    pattern_items(workflow, issues);
    let input_vars = allowed(&parameters, Scope::Input, false);
    for (index, input) in workflow.inputs.iter().enumerate() {
        let at = Path::root().key("inputs").index(index).key("key");
        template(issues, at, &input.key, &input_vars);
    }
    let items_vars = allowed(&parameters, Scope::ItemsFrom, false);
    for (index, phase) in workflow.phases.iter().enumerate() {
        let at = Path::root().key("phases").index(index);
        phase_templates(issues, &parameters, phase, &at);
        if let Mode::Tdd(tdd) = &phase.mode
            && let Some(items_from) = &tdd.items_from
        {
            let at = at.key("mode").key("tdd").key("items_from");
            template(issues, at, items_from, &items_vars);
        }
    }
}

fn phase_templates(issues: &mut Vec<Issue>, parameters: &BTreeSet<&str>, phase: &Phase, at: &Path) {
    let tdd = matches!(phase.mode, Mode::Tdd(_));
    let step_vars = allowed(parameters, Scope::Step, tdd);
    for (index, step) in phase.steps.iter().enumerate() {
        let step_at = at.key("steps").index(index);
        template(issues, step_at.key("task"), &step.task, &step_vars);
        for (field, templates) in [("reads", &step.reads), ("writes", &step.writes)] {
            for (i, text) in templates.iter().enumerate() {
                template(issues, step_at.key(field).index(i), text, &step_vars);
            }
        }
    }
    let gate_vars = allowed(parameters, Scope::Gate, tdd);
    for (index, gate) in phase.gates.iter().enumerate() {
        let gate_at = at.key("gates").index(index);
        let mut templates = Vec::new();
        if let Some(command) = &gate.command {
            templates.push((gate_at.key("command").key("run"), &command.run));
        }
        if let Some(tests) = &gate.tests {
            templates.push((gate_at.key("tests").key("run"), &tests.run));
        }
        if let Some(coverage) = &gate.coverage {
            templates.push((
                gate_at.key("coverage").key("min_lines"),
                &coverage.min_lines,
            ));
        }
        if let Some(openapi) = &gate.openapi {
            let at = gate_at.key("openapi");
            templates.push((at.key("document"), &openapi.document));
            // `ignore` holds path templates (`/files/{name}`), not apiwright templates.
            if let Some(axum) = &openapi.routes.axum {
                templates.push((at.key("routes").key("axum"), axum));
            }
            if let Some(command) = &openapi.routes.command {
                templates.push((at.key("routes").key("command"), command));
            }
        }
        if let Some(memory) = &gate.memory {
            let keys = gate_at.key("memory").key("keys");
            let indexed = memory.keys.iter().enumerate();
            templates.extend(indexed.map(|(i, key)| (keys.index(i), key)));
            let contents = gate_at.key("memory").key("content");
            for (i, content) in memory.content.iter().enumerate() {
                templates.push((contents.index(i).key("key"), &content.key));
            }
        }
        if let Some(spec) = &gate.spec {
            templates.push((gate_at.key("spec").key("key"), &spec.key));
        }
        if let Some(score) = &gate.score {
            templates.push((gate_at.key("score").key("key"), &score.key));
        }
        templates.extend(super::evidence::templates(gate, &gate_at));
        if let Some(approval) = &gate.approval {
            templates.push((gate_at.key("approval").key("prompt"), &approval.prompt));
        }
        for (path, text) in templates {
            template(issues, path, text, &gate_vars);
        }
    }
}

/// A memory pattern with `{item}` or `{item_slug}` can only expand in tdd phases, so steps
/// elsewhere must not write through it (the key could not be rendered at run time).
fn pattern_items(workflow: &Workflow, issues: &mut Vec<Issue>) {
    let used = template::placeholders(&workflow.memory_pattern);
    let Some(name) = used
        .iter()
        .find(|name| matches!(**name, "item" | "item_slug"))
    else {
        return;
    };
    for (p, phase) in workflow.phases.iter().enumerate() {
        if matches!(phase.mode, Mode::Tdd(_)) {
            continue;
        }
        for (s, step) in phase.steps.iter().enumerate() {
            if !step.writes.is_empty() {
                let path = Path::root().key("phases").index(p).key("steps").index(s);
                issues.push(Issue {
                    path: path.key("writes"),
                    message: format!(
                        "expected writes only in tdd phases (the memory pattern uses `{{{name}}}`), found writes in phase `{}`",
                        phase.id
                    ),
                    on_key: false,
                });
            }
        }
    }
}

/// The placeholders a template in `scope` may use.
fn allowed<'a>(parameters: &BTreeSet<&'a str>, scope: Scope, tdd: bool) -> BTreeSet<&'a str> {
    let mut allowed = parameters.clone();
    allowed.extend(["run_id", "iteration"]);
    if scope != Scope::Input {
        allowed.extend(["phase", "phase_id"]);
    }
    if scope == Scope::Step {
        allowed.insert("agent");
    }
    if tdd && matches!(scope, Scope::Step | Scope::Gate) {
        allowed.extend(["item", "item_slug"]);
    }
    allowed
}

/// Reports each unknown placeholder of `text` once.
fn template(issues: &mut Vec<Issue>, path: Path, text: &str, allowed: &BTreeSet<&str>) {
    let mut reported = HashSet::new();
    for name in template::placeholders(text) {
        if allowed.contains(name) || !reported.insert(name) {
            continue;
        }
        // The run's own placeholders exist, just not here: say where they do.
        let hint = match name {
            "item" | "item_slug" => " (only tdd phases have items)",
            "agent" => " (only steps have an agent)",
            "deliverable" => " (only the memory pattern has it)",
            "phase" | "phase_id" => " (inputs are stored before the first phase)",
            _ => "",
        };
        let known = list(allowed.iter().copied());
        issues.push(Issue {
            path: path.clone(),
            message: format!("expected a known placeholder ({known}), found `{{{name}}}`{hint}"),
            on_key: false,
        });
    }
}
