//! The requirements spec of an API: the model (`model.rs`), a YAML loader reporting
//! `file:line:col` errors, semantic validation, the JSON Schema of the format, and pure
//! helpers the generators share (names, lookups, the endpoint list of the generated service).
//!
//! This crate performs no IO: callers hand it text and a source name. It must not know how
//! code is generated from a spec.

mod endpoints;
mod helpers;
mod loader;
pub mod model;
mod validate;

pub use endpoints::API_PREFIX;
pub use endpoints::Endpoint;
pub use endpoints::Method;
pub use helpers::AUTHENTICATED;
pub use helpers::GENERATED_FIELDS;
pub use helpers::MAX_PAGE_SIZE_LIMIT;
pub use helpers::MIN_PASSWORD_LENGTH;
pub use helpers::Operation;
pub use helpers::PUBLIC;
pub use helpers::RESERVED_RESOURCE_NAMES;
pub use loader::Diagnostic;
pub use loader::SpecError;
pub use loader::load_str;
pub use model::*;

/// The JSON Schema of the spec format, generated from the Rust types (committed as
/// `docs/spec.schema.json`).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(model::Spec);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}
