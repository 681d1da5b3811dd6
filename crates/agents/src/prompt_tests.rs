//! Snapshot of the rendered default prompt.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::ContextEntry;
use crate::Handoff;
use crate::WriteTarget;

fn request() -> StepRequest {
    StepRequest {
        run_id: "run-1".into(),
        workflow: "develop-backend".into(),
        phase_id: "api-design".into(),
        phase_number: 1,
        phase_title: "API Design".into(),
        step_id: "orchestrate-synthesis".into(),
        role: apiwright_workflow::AgentRole {
            id: "orchestrate-synthesis".into(),
            description: "Synthesizes designs from requirements.".into(),
            focus: vec![
                "REST contracts".into(),
                "versioning".into(),
                "rate limiting".into(),
            ],
            command: None,
        },
        task: "Design the API contracts, versioning and pagination.".into(),
        params: Default::default(),
        concurrent: false,
        iteration: 1,
        item: None,
        stage: None,
        reads: vec![ContextEntry {
            key: "develop-backend/t1/phase-0/orchestrate-clarification/requirements".into(),
            value: "{\"stack\":\"rust\"}".into(),
        }],
        missing_reads: vec![
            "develop-backend/t1/phase-0/orchestrate-clarification/constraints".into(),
        ],
        siblings: vec![],
        handoffs: vec![Handoff {
            agent: "orchestrate-clarification".into(),
            step: "clarification/orchestrate-clarification".into(),
            summary: "Confirmed the stack.".into(),
            decisions: vec!["Use PostgreSQL".into()],
        }],
        feedback: vec![],
        gates: std::sync::Arc::from(Vec::new()),
        writes: vec![WriteTarget {
            name: "api-contract".into(),
            key: "develop-backend/t1/phase-1/orchestrate-synthesis/api-contract".into(),
        }],
        workspace: PathBuf::from("/work/ws"),
        db_path: None,
        workflow_dir: None,
        prompt: String::new(),
        timeout: Duration::from_secs(60),
        attempt: 1,
        services: Default::default(),
        env: vec![],
    }
}

#[test]
fn default_prompt_has_every_section_of_the_invocation_template() {
    let prompt = PromptRenderer::builtin()
        .unwrap()
        .render(&request())
        .unwrap();
    for section in [
        "# Agent Invocation: orchestrate-synthesis",
        "## Task Context",
        "## Role Extension",
        "## Johari Context",
        "### Open (Confirmed)",
        "### Blind (Gaps)",
        "### Hidden (Inferred)",
        "### Unknown (To Explore)",
        "## Handoff Context",
        "## Task",
        "## Related Research Terms",
        "## Output",
    ] {
        assert!(prompt.contains(section), "missing {section} in:\n{prompt}");
    }
    insta::assert_snapshot!(prompt);
}

#[test]
fn a_broken_user_template_is_reported_with_its_name() {
    let error = PromptRenderer::new("mine.j2", "{% for x in %}".into()).unwrap_err();
    assert!(
        error.to_string().starts_with("prompt template mine.j2:"),
        "{error}"
    );
    let strict = PromptRenderer::new("mine.j2", "{{ no_such_variable }}".into()).unwrap();
    assert!(strict.render(&request()).is_err());
}
