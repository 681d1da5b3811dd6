//! The requirements spec of an API: the model (`model.rs`), a YAML loader reporting
//! `file:line:col` errors, semantic validation, and the JSON Schema of the format.
//!
//! This crate performs no IO: callers hand it text and a source name. It must not know how
//! code is generated from a spec.

pub mod model;

pub use model::*;
