//! The `Agent` interface every provider implements, the step request and output types,
//! prompt rendering (minijinja templates with the sections of seed 002's invocation template
//! and seed 003's handoff context), and the `command` provider that runs an external program.
//!
//! This crate must not touch the state database or decide anything about a run: it turns one
//! step request into one step output. The engine owns scheduling, memory and gates.

mod command;
pub mod confidence;
mod envelope;
mod model;
mod prompt;
mod request;
mod services;
pub mod tools;

pub use command::CommandAgent;
pub use command::CommandAgentConfig;
pub use envelope::parse_output;
pub use model::ModelAgent;
pub use model::ModelAgentConfig;
pub use prompt::DEFAULT_STEP_TEMPLATE;
pub use prompt::PromptError;
pub use prompt::PromptRenderer;
pub use request::AgentError;
pub use request::ContextEntry;
pub use request::EscalationRequest;
pub use request::GateRecord;
pub use request::Handoff;
pub use request::StepOutput;
pub use request::StepRequest;
pub use request::Usage;
pub use request::WriteTarget;
pub use services::BoundCheck;
pub use services::Budget;
pub use services::DeliverableCheck;
pub use services::MemoryAccess;
pub use services::StepServices;
pub use services::UsageMeter;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Something that can do a step's work.
///
/// Contract: `run` returns exactly one output or one error per call, produces every
/// deliverable named in `request.writes` on success, and stays inside `request.workspace` for
/// any file it writes. It must respect `request.timeout` (the engine also enforces it).
pub trait Agent: Send + Sync + 'static {
    /// Short provider name for reports (`command`, `builtin`, …).
    fn provider(&self) -> &str;

    /// Whether the agent hands in its work through tools (model agents) rather than on
    /// stdout; the prompt's output section follows it.
    fn works_through_tools(&self) -> bool {
        false
    }

    /// Whether the agent reads the rendered prompt (the engine records it for `apiwright
    /// prompt show` only then: an agent that works from the request alone was told nothing).
    fn reads_prompt(&self) -> bool {
        true
    }

    /// Does the step's work.
    fn run(
        &self,
        request: StepRequest,
    ) -> impl Future<Output = Result<StepOutput, AgentError>> + Send;
}

type BoxedRun = Pin<Box<dyn Future<Output = Result<StepOutput, AgentError>> + Send>>;

trait ErasedAgent: Send + Sync {
    fn provider(&self) -> &str;
    fn works_through_tools(&self) -> bool;
    fn reads_prompt(&self) -> bool;
    fn run_boxed(self: Arc<Self>, request: StepRequest) -> BoxedRun;
}

impl<A: Agent> ErasedAgent for A {
    fn provider(&self) -> &str {
        Agent::provider(self)
    }

    fn works_through_tools(&self) -> bool {
        Agent::works_through_tools(self)
    }

    fn reads_prompt(&self) -> bool {
        Agent::reads_prompt(self)
    }

    fn run_boxed(self: Arc<Self>, request: StepRequest) -> BoxedRun {
        Box::pin(async move { self.run(request).await })
    }
}

/// A type-erased agent, so one run can mix providers per role.
#[derive(Clone)]
pub struct AnyAgent(Arc<dyn ErasedAgent>);

impl std::fmt::Debug for AnyAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AnyAgent").field(&self.0.provider()).finish()
    }
}

impl AnyAgent {
    /// Erases an agent's type.
    pub fn new(agent: impl Agent) -> AnyAgent {
        AnyAgent(Arc::new(agent))
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        self.0.provider()
    }

    /// Whether the agent hands in its work through tools.
    pub fn works_through_tools(&self) -> bool {
        self.0.works_through_tools()
    }

    /// Whether the agent reads the rendered prompt.
    pub fn reads_prompt(&self) -> bool {
        self.0.reads_prompt()
    }

    /// Runs the step; the returned future is `'static` so it can be spawned.
    pub fn run(&self, request: StepRequest) -> BoxedRun {
        Arc::clone(&self.0).run_boxed(request)
    }
}
