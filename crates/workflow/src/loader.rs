//! Loading a workflow from YAML text: shape errors from the deserializer and semantic errors
//! from the validator, both reported as `source:line:col: expected …, found …`.
//!
//! STUB: a helper replaces this with the full loader (span index + validation).

use std::fmt;

use crate::model::Workflow;

/// One problem in a workflow file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name (or `builtin:NAME`) the text came from.
    pub source: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.source, self.line, self.column, self.message)
    }
}

/// A workflow file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The YAML is malformed or does not have the workflow's shape.
    #[error("{0}")]
    Parse(Diagnostic),
    /// The workflow is well-formed but inconsistent; every problem found is listed.
    #[error("{}", join(.0))]
    Invalid(Vec<Diagnostic>),
}

fn join(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl LoadError {
    /// Every diagnostic of the error.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            LoadError::Parse(diagnostic) => vec![diagnostic],
            LoadError::Invalid(diagnostics) => diagnostics.iter().collect(),
        }
    }
}

/// Parses and validates a workflow.
pub fn load_str(source: &str, text: &str) -> Result<Workflow, LoadError> {
    serde_saphyr::from_str::<Workflow>(text).map_err(|error| {
        let (line, column) = error
            .location()
            .map_or((1, 1), |location| (location.line(), location.column()));
        LoadError::Parse(Diagnostic {
            source: source.to_string(),
            line,
            column,
            message: error.to_string(),
        })
    })
}
