//! What the server needs from the binary to execute runs.

use std::collections::BTreeMap;

use apiwright_agents::AnyAgent;
use apiwright_engine::Engine;
use apiwright_workflow::Workflow;

/// Why the host could not provide an engine or agents: a message for the API's caller
/// (a missing key, an agent CLI not installed, an unknown provider).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

/// How runs are executed: engines and agents built from the configuration the binary read
/// (`apiwright.toml`, the environment). The server never reads configuration itself; it asks
/// its host, so `apiwright serve` runs a workflow exactly as `apiwright run` would.
pub trait RunHost: Send + Sync + 'static {
    /// A new engine on the server's state database. Each drive gets its own (an engine holds
    /// a connection and is used by one thread).
    fn engine(&self) -> Result<Engine, HostError>;

    /// The agents for every role `workflow` uses, checked to be able to work; `provider`
    /// forces one provider on every role (as `apiwright run --agents`).
    fn agents(
        &self,
        workflow: &Workflow,
        provider: Option<&str>,
    ) -> Result<BTreeMap<String, AnyAgent>, HostError>;

    /// Called after every drive of a run, however it ended (the CLI writes REPORT.md).
    fn after_drive(&self, _engine: &Engine, _run_id: &str) {}
}
