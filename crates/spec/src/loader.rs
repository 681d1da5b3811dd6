//! Loading a spec from YAML text: shape errors from the deserializer and semantic errors from
//! the validator, both reported as `source:line:col: expected …, found …` (the machinery is
//! shared with the workflow format, crate `apiwright-yaml`).
//!
//! Shape errors stop at the first problem (the deserializer cannot go on); semantic errors are
//! all collected, positioned and sorted by position.

pub use apiwright_yaml::Diagnostic;

use crate::model::Spec;
use crate::validate;

/// A spec that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The YAML is malformed or does not have the spec's shape.
    #[error("{0}")]
    Parse(Diagnostic),
    /// The spec is well-formed but inconsistent; every problem found is listed, by position.
    #[error("{}", apiwright_yaml::join(.0))]
    Invalid(Vec<Diagnostic>),
}

impl SpecError {
    /// Every diagnostic of the error.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            SpecError::Parse(diagnostic) => vec![diagnostic],
            SpecError::Invalid(diagnostics) => diagnostics.iter().collect(),
        }
    }
}

/// Parses and validates a spec; `source` names the text in diagnostics (usually the path).
pub fn load_str(source: &str, text: &str) -> Result<Spec, SpecError> {
    // YAML 1.2 booleans: `yes`, `no`, `on`, `y` are strings (an enum value `no`, a default
    // `y`), and only `true` / `false` fill a boolean.
    let options = serde_saphyr::options! { strict_booleans: true };
    let spec = serde_saphyr::from_str_with_options::<Spec>(text, options).map_err(|error| {
        SpecError::Parse(apiwright_yaml::shape_error(source, text, &error, "spec"))
    })?;
    let issues = validate::validate(&spec);
    if issues.is_empty() {
        return Ok(spec);
    }
    Err(SpecError::Invalid(apiwright_yaml::locate(
        source, text, issues,
    )))
}
