//! Workflow definitions: the data model of a standard operating procedure (phases, steps,
//! agents, gates, loops), its YAML loader with `file:line:col` diagnostics, the semantic
//! validator, the JSON Schema of the format, and the built-in workflows compiled into the
//! binary (one per SOP seed).
//!
//! This crate performs no IO: callers hand it text and a source name. It must not know how
//! steps are executed, how memory is stored or how gates are evaluated.

pub mod builtin;
mod deploy;
mod evidence;
mod loader;
pub mod model;
/// The span index lives in `apiwright-yaml`, shared with the spec format.
mod span_index {
    pub(crate) use apiwright_yaml::span_index::Path;
}
pub mod template;
mod validate;

pub use deploy::*;
pub use evidence::*;
pub use loader::Diagnostic;
pub use loader::LoadError;
pub use loader::load_str;
pub use model::*;

/// The JSON Schema of the workflow file format, generated from the Rust types.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(model::Workflow);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

/// Serializes a workflow back to YAML (used by `apiwright workflow export`).
pub fn to_yaml(workflow: &Workflow) -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(workflow)
}
