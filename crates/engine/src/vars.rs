//! Placeholder values for a run position: parameters, run id, phase, iteration, TDD item.

use apiwright_workflow::Workflow;
use apiwright_workflow::template::Vars;
use apiwright_workflow::template::slug;

use crate::event::Round;

/// Values available everywhere in a run.
pub(crate) fn run_vars(params: &Vars, run_id: &str) -> Vars {
    let mut vars = params.clone();
    vars.insert("run_id".into(), run_id.to_string());
    vars.insert("iteration".into(), "1".into());
    vars
}

/// Values inside a phase (before its first round).
pub(crate) fn phase_vars(workflow: &Workflow, base: &Vars, phase_id: &str) -> Vars {
    let mut vars = base.clone();
    if let Some(index) = workflow.phase_index(phase_id) {
        vars.insert(
            "phase".into(),
            workflow.phases[index].number_at(index).to_string(),
        );
    }
    vars.insert("phase_id".into(), phase_id.to_string());
    vars
}

/// Values inside a round.
pub(crate) fn round_vars(
    workflow: &Workflow,
    base: &Vars,
    round: &Round,
    items: Option<&[String]>,
) -> Vars {
    let mut vars = phase_vars(workflow, base, &round.phase);
    vars.insert("iteration".into(), round.iteration.to_string());
    if let (Some(index), Some(items)) = (round.item, items)
        && let Some(item) = items.get(index)
    {
        vars.insert("item".into(), item.clone());
        vars.insert("item_slug".into(), slug(item));
    }
    vars
}
