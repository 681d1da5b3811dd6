//! Tests of the generator: pure helpers and the public API, snapshots of generated files for
//! the bookstore example, and end-to-end runs of real cargo on the generated projects.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod e2e;
mod snapshots;
mod support;
