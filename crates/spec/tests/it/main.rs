//! Integration tests of the spec crate: the three examples load, shape errors with exact
//! positions, the committed JSON Schema, and the examples in `docs/spec.md`.

mod docs;
mod examples;
mod loader;
mod schema;
