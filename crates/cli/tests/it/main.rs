//! Integration tests of the `apiwright` binary: real processes, a real SQLite file, real
//! script agents.

mod approvals;
mod concurrency;
mod example;
mod hooks_cli;
mod memory_cli;
mod resume;
mod support;
mod workflows;
