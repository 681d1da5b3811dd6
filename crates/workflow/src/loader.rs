//! Loading a workflow from YAML text: shape errors from the deserializer and semantic errors
//! from the validator, both reported as `source:line:col: expected …, found …`.
//!
//! Shape errors stop at the first problem (the deserializer cannot go on); semantic errors are
//! all collected, positioned through the span index and sorted by position, so one run of
//! `apiwright workflow validate` shows everything to fix. The positioning and the wording of
//! shape errors are shared with the other formats (crate `apiwright-yaml`).

pub use apiwright_yaml::Diagnostic;

use crate::model::Workflow;
use crate::validate;

/// A workflow file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The YAML is malformed or does not have the workflow's shape.
    #[error("{0}")]
    Parse(Diagnostic),
    /// The workflow is well-formed but inconsistent; every problem found is listed.
    #[error("{}", apiwright_yaml::join(.0))]
    Invalid(Vec<Diagnostic>),
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

/// Parses and validates a workflow; `source` names the text in diagnostics.
pub fn load_str(source: &str, text: &str) -> Result<Workflow, LoadError> {
    let workflow = serde_saphyr::from_str::<Workflow>(text).map_err(|error| {
        LoadError::Parse(apiwright_yaml::shape_error(
            source, text, &error, "workflow",
        ))
    })?;
    let issues = validate::validate(&workflow);
    if issues.is_empty() {
        return Ok(workflow);
    }
    let issues = issues.into_iter().map(|issue| apiwright_yaml::Issue {
        path: issue.path,
        message: issue.message,
        on_key: issue.on_key,
    });
    Err(LoadError::Invalid(apiwright_yaml::locate(
        source, text, issues,
    )))
}
