//! TODO(issue 4): exchange — placeholder until probe-core lands (replaced on merge).

/// Placeholder for the recorded request and response.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Exchange {}
