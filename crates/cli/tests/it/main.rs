//! Integration tests of the `apiwright` binary: real processes, a real SQLite file, real
//! script agents.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod approvals;
mod check;
mod concurrency;
mod deploy;
mod example;
mod hooks_cli;
mod main_job;
mod memory_cli;
mod model_agents;
mod model_main_job;
mod resume;
mod seed_003_004;
mod seed_roles;
mod serve;
mod support;
mod workflows;
