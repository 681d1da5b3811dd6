//! The built-in workflows, one per SOP seed, embedded in the binary.
//!
//! STUB: a helper fills in the YAML files under `builtin/`.

use crate::loader::LoadError;
use crate::loader::load_str;
use crate::model::Workflow;

/// Names of the built-in workflows, in the order `workflow list` prints them.
pub const NAMES: [&str; 0] = [];

/// The YAML text of a built-in workflow.
pub fn source(name: &str) -> Option<&'static str> {
    let _ = name;
    None
}

/// Loads a built-in workflow by name.
pub fn load(name: &str) -> Option<Result<Workflow, LoadError>> {
    source(name).map(|text| load_str(&format!("builtin:{name}"), text))
}
