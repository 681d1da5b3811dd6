//! Rendering a step's prompt from an editable minijinja template.
//!
//! The default template (`prompts/step.md.j2`) carries the sections of seed 002's agent
//! invocation template (task context, role extension, Johari context, task, research terms,
//! output) and seed 003's handoff context. Users replace it with their own file; the same
//! context variables are available (see `docs/workflows.md`).

use minijinja::Environment;
use serde::Serialize;

use crate::request::StepRequest;

/// The built-in step prompt template.
pub const DEFAULT_STEP_TEMPLATE: &str = include_str!("prompts/step.md.j2");

/// A prompt template failed to compile or render.
#[derive(Debug, thiserror::Error)]
#[error("prompt template {name}: {source}")]
pub struct PromptError {
    name: String,
    #[source]
    source: minijinja::Error,
}

/// Renders step prompts; build once per run.
pub struct PromptRenderer {
    env: Environment<'static>,
    name: String,
}

impl std::fmt::Debug for PromptRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptRenderer")
            .field("name", &self.name)
            .finish()
    }
}

#[derive(Serialize)]
struct PromptContext<'a> {
    run_id: &'a str,
    workflow: &'a str,
    phase_id: &'a str,
    phase_number: u32,
    phase_title: &'a str,
    step_id: &'a str,
    role: RoleContext<'a>,
    task: &'a str,
    iteration: u32,
    attempt: u32,
    item: Option<&'a str>,
    stage: Option<apiwright_workflow::TddStage>,
    reads: &'a [crate::ContextEntry],
    missing_reads: &'a [String],
    siblings: &'a [crate::ContextEntry],
    handoffs: &'a [crate::Handoff],
    feedback: &'a [String],
    writes: &'a [crate::WriteTarget],
    workspace: String,
    research_terms: Vec<String>,
    /// The agent hands in its work through tools (`memory_store`, `finish`, `escalate`)
    /// rather than on stdout.
    tools: bool,
    /// What the deliverables must pass (from the phase's gates), one line each.
    checks: Vec<String>,
}

/// The role as templates see it: every field present, even when empty.
#[derive(Serialize)]
struct RoleContext<'a> {
    id: &'a str,
    description: &'a str,
    focus: &'a [String],
}

impl PromptRenderer {
    /// A renderer for `template` (use [`DEFAULT_STEP_TEMPLATE`] for the built-in one);
    /// `name` identifies it in errors (a file path, or `builtin`).
    pub fn new(name: &str, template: String) -> Result<PromptRenderer, PromptError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template_owned("step", template)
            .map_err(|source| PromptError {
                name: name.to_string(),
                source,
            })?;
        Ok(PromptRenderer {
            env,
            name: name.to_string(),
        })
    }

    /// The built-in template.
    pub fn builtin() -> Result<PromptRenderer, PromptError> {
        PromptRenderer::new("builtin", DEFAULT_STEP_TEMPLATE.to_string())
    }

    /// Renders the prompt of a request (its `prompt` field is ignored).
    pub fn render(&self, request: &StepRequest) -> Result<String, PromptError> {
        let context = PromptContext {
            run_id: &request.run_id,
            workflow: &request.workflow,
            phase_id: &request.phase_id,
            phase_number: request.phase_number,
            phase_title: &request.phase_title,
            step_id: &request.step_id,
            role: RoleContext {
                id: &request.role.id,
                description: &request.role.description,
                focus: &request.role.focus,
            },
            task: &request.task,
            iteration: request.iteration,
            attempt: request.attempt,
            item: request.item.as_deref(),
            stage: request.stage,
            reads: &request.reads,
            missing_reads: &request.missing_reads,
            siblings: &request.siblings,
            handoffs: &request.handoffs,
            feedback: &request.feedback,
            writes: &request.writes,
            workspace: request.workspace.display().to_string(),
            research_terms: research_terms(request),
            tools: request.services.tools,
            checks: request
                .services
                .checks
                .iter()
                .map(|bound| format!("`{}`: {}", bound.deliverable, bound.check.describe()))
                .collect(),
        };
        let template = self
            .env
            .get_template("step")
            .map_err(|source| PromptError {
                name: self.name.clone(),
                source,
            })?;
        template
            .render(minijinja::value::Serde(&context))
            .map_err(|source| PromptError {
                name: self.name.clone(),
                source,
            })
    }
}

/// Seed 002 asks for 7–10 research keywords: taken from the role's focus areas, the phase
/// title and the task, without duplicates or filler words.
fn research_terms(request: &StepRequest) -> Vec<String> {
    const FILLER: [&str; 24] = [
        "the", "and", "for", "with", "from", "into", "that", "this", "each", "every", "all",
        "your", "its", "are", "was", "per", "use", "using", "write", "writes", "step", "task",
        "make", "them",
    ];
    let mut terms: Vec<String> = Vec::new();
    let sources = request
        .role
        .focus
        .iter()
        .map(String::as_str)
        .chain([request.phase_title.as_str(), request.task.as_str()]);
    for source in sources {
        for word in source.split(|c: char| !c.is_alphanumeric() && c != '-') {
            let word = word.trim_matches('-').to_lowercase();
            if word.len() < 3 || FILLER.contains(&word.as_str()) || terms.contains(&word) {
                continue;
            }
            terms.push(word);
            if terms.len() == 10 {
                return terms;
            }
        }
    }
    terms
}

#[cfg(test)]
#[path = "prompt_tests.rs"]
mod tests;
