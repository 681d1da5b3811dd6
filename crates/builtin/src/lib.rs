//! The built-in offline agents: every role of the `api-development` workflow played
//! deterministically from a structured requirements spec (`apiwright-spec`). They write real
//! deliverables — requirements, an OpenAPI document, migrations, tests written before their
//! implementation, the implementation of a Rust service, CI and deployment files, docs — to
//! memory (through the engine) and to the run's workspace; the gates then judge them by
//! building and testing what was written.
//!
//! It also plays every role of `develop-backend` (seed 002, module `seed002`) and of
//! `api-orchestration-sop` (seed 001, modules `seed001` and `design`), generating the same one
//! stack (Rust, axum, SQLite) and escalating when a run asks for another.
//!
//! This crate must not decide anything about the run (the engine does) and must never report
//! work it did not do: evidence it cannot produce (load or security testing, deployment) is
//! reported as not run.

mod context;
mod design;
mod development;
mod documentation;
mod evidence;
mod generation;
mod openapi;
mod operations;
mod planning;
mod process;
mod seed001;
mod seed002;
mod seed003;
mod seed003_sprint;
mod seed003_testing;
mod seed004;
#[cfg(test)]
mod test_support;
mod validation_plans;

use apiwright_agents::Agent;
use apiwright_agents::AgentError;
use apiwright_agents::StepOutput;
use apiwright_agents::StepRequest;

pub use openapi::openapi_document;

/// Roles the built-in provider can play.
pub const ROLES: &[&str] = &[
    "product-manager",
    "system-architect",
    "database-architect",
    "qa-engineer",
    "tester",
    "backend-developer",
    "code-reviewer",
    "security-specialist",
    "performance-analyst",
    "api-documentation-specialist",
    "devops-engineer",
    "production-validator",
    "performance-monitor",
    // Seed 002 (develop-backend).
    "orchestrate-clarification",
    "orchestrate-synthesis",
    "orchestrate-generation",
    "orchestrate-validation",
    // Seed 001 (api-orchestration-sop); backend-developer and code-reviewer are above.
    "api-orchestrator",
    "api-designer",
    "test-engineer",
    "release-engineer",
    "adversarial-validator",
    // Seed 003 (the five patterns) and seed 004 (backend-iteration).
    "python-backend-engineer",
    "python-test-engineer",
    "sprint-manager",
];

/// A built-in agent for one role.
#[derive(Debug, Clone)]
pub struct BuiltinAgent {
    role: String,
}

impl BuiltinAgent {
    /// The agent for `role`, if the built-in provider plays it.
    pub fn new(role: &str) -> Option<BuiltinAgent> {
        ROLES.contains(&role).then(|| BuiltinAgent {
            role: role.to_string(),
        })
    }
}

impl Agent for BuiltinAgent {
    fn provider(&self) -> &str {
        "builtin"
    }

    fn reads_prompt(&self) -> bool {
        // The built-in roles work from the request's structured fields.
        false
    }

    async fn run(&self, request: StepRequest) -> Result<StepOutput, AgentError> {
        // Generating files and running cargo is blocking work: keep it off the engine's task.
        let role = self.role.clone();
        tokio::task::spawn_blocking(move || context::run_role(&role, &request))
            .await
            .map_err(|error| AgentError::Fatal(format!("built-in agent crashed: {error}")))?
    }
}
