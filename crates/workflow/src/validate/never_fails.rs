//! Gates that cannot fail. The engine fails a step that does not write every deliverable it
//! declares, so a memory gate that only requires keys written by steps of its own phase is
//! always passed by the time it is checked: it adds a line to the report and no evidence.
//! Such a gate must check what the deliverables hold (`content`) instead.
//!
//! Keys are compared symbolically: a placeholder known only at run time (a parameter, the
//! item, the iteration) stays a named marker, so `{api_id}` only ever equals `{api_id}` and
//! the check never flags a gate whose keys might differ at run time.

use super::Issue;
use super::reads::known_vars;
use super::reads::matches;
use super::reads::segments;
use crate::model::Phase;
use crate::model::Workflow;
use crate::span_index::Path;
use crate::template;

pub(super) fn check(workflow: &Workflow, issues: &mut Vec<Issue>) {
    for (p, phase) in workflow.phases.iter().enumerate() {
        for (g, gate) in phase.gates.iter().enumerate() {
            let Some(memory) = &gate.memory else {
                continue;
            };
            if memory.keys.is_empty() || !memory.content.is_empty() {
                continue;
            }
            let writes = own_writes(workflow, phase, p, gate.stage);
            let guaranteed = memory.keys.iter().all(|key| {
                let read = segments(&symbolic(key, &known_vars(workflow, p, None)), true);
                writes.iter().any(|write| matches(&read, write))
            });
            if guaranteed {
                issues.push(Issue {
                    path: Path::root()
                        .key("phases")
                        .index(p)
                        .key("gates")
                        .index(g)
                        .key("memory")
                        .key("keys"),
                    message: format!(
                        "expected a gate that can fail, found gate `{}` requiring only \
                         deliverables of this phase's own steps, which the engine already \
                         requires; check what they hold with `content` (fields that must be \
                         present and non-empty) or remove the gate",
                        gate.id
                    ),
                    on_key: false,
                });
            }
        }
    }
}

/// The keys the steps of `phase` write before a gate of `stage` is checked.
fn own_writes(
    workflow: &Workflow,
    phase: &Phase,
    p: usize,
    stage: Option<crate::model::TddStage>,
) -> Vec<Vec<super::reads::Seg>> {
    let mut writes = Vec::new();
    for step in &phase.steps {
        if let (Some(gate_stage), Some(step_stage)) = (stage, step.stage)
            && step_stage > gate_stage
        {
            continue;
        }
        let vars = known_vars(workflow, p, Some(&step.agent));
        for deliverable in &step.writes {
            let mut key_vars = vars.clone();
            key_vars.insert("deliverable".to_string(), symbolic(deliverable, &vars));
            writes.push(segments(
                &symbolic(&workflow.memory_pattern, &key_vars),
                false,
            ));
        }
    }
    writes
}

/// Renders `text`, leaving every unknown placeholder as a marker that names it.
fn symbolic(text: &str, vars: &template::Vars) -> String {
    let mut vars = vars.clone();
    for name in template::placeholders(text) {
        vars.entry(name.to_string())
            .or_insert_with(|| format!("\u{1}{name}\u{1}"));
    }
    template::render_lenient(text, &vars, "\u{1}")
}
