//! The SOP engine: runs a workflow's phases in their declared modes against [`Agent`]s,
//! evaluates gates, loops and escalates, pauses for approvals, and records every transition
//! as an event in the durable log — in the same transaction as the state it describes — so an
//! interrupted run resumes without redoing finished steps.
//!
//! `machine` is the pure state machine (events in, decisions out, no IO); `driver` performs
//! the decisions (agents, gates, store). This crate must not parse command lines or render
//! terminal output; it reports progress through an observer callback.
//!
//! [`Agent`]: apiwright_agents::Agent

mod driver;
mod error;
pub mod event;
pub mod machine;
pub mod report;
mod services;
mod start;
mod vars;

pub use driver::DriveOutcome;
pub use driver::Engine;
pub use driver::EngineConfig;
pub use error::EngineError;
pub use event::Event;
pub use start::RunRequest;
pub use start::builtin_spec_reader;
pub use start::new_run_id;
