//! Test helpers for the roles of seeds 001 and 002: a step request for a role with the small
//! `examples/notes.yaml` spec as its input, named deliverables, parameters and gate records.

use std::path::Path;

use apiwright_agents::ContextEntry;
use apiwright_agents::GateRecord;
use apiwright_agents::StepOutput;
use apiwright_agents::StepRequest;
use apiwright_agents::WriteTarget;

pub(crate) const NOTES: &str = include_str!("../../../examples/notes.yaml");

/// A request for `role` reading the notes spec and writing `writes`.
pub(crate) fn request_with(workspace: &Path, role: &str, writes: &[&str]) -> StepRequest {
    let mut request = crate::context::tests::request(workspace, role);
    request.reads.push(ContextEntry {
        key: "test/run/input/spec".into(),
        value: NOTES.into(),
    });
    request.writes = writes
        .iter()
        .map(|name| WriteTarget {
            name: (*name).to_string(),
            key: format!("test/run/phase/{role}/{name}"),
        })
        .collect();
    request
}

/// Runs `role` on a request built by [`request_with`] with `params`.
pub(crate) fn step_with(
    workspace: &Path,
    role: &str,
    writes: &[&str],
    params: &[(&str, &str)],
) -> StepOutput {
    let mut request = request_with(workspace, role, writes);
    for (name, value) in params {
        request
            .params
            .insert((*name).to_string(), (*value).to_string());
    }
    crate::context::run_role(role, &request).unwrap()
}

/// A recorded gate outcome.
pub(crate) fn gate(phase: &str, gate: &str, kind: &str, outcome: &str) -> GateRecord {
    GateRecord {
        phase: phase.into(),
        round: format!("{phase}#1"),
        gate: gate.into(),
        kind: kind.into(),
        outcome: outcome.into(),
        summary: format!("{gate}: {outcome}"),
        evidence: if kind == "planned" {
            serde_json::json!({"planned": gate, "description": "planned check"})
        } else {
            serde_json::json!({"passed": 3, "failed": 0})
        },
    }
}

/// An example spec of the repository (`examples/NAME.yaml`), validated like a user's file.
pub(crate) fn example_spec(name: &str) -> apiwright_spec::Spec {
    let path = format!("{}/../../examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    apiwright_spec::load_str(&path, &text).unwrap_or_else(|error| panic!("{error}"))
}
