//! Integration tests of the workflow crate: loading real files, shape errors with exact
//! positions, robustness against malformed input, the committed JSON Schema, and the examples
//! in `docs/workflows.md`.

mod docs;
mod loader;
mod robustness;
mod schema;
