//! Why a probe run could not be carried out at all (findings and violations are results).

/// A probe run that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The OpenAPI document cannot be used.
    #[error("OpenAPI document: {0}")]
    Document(String),
}
