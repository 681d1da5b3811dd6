//! Model agents against the scripted fake model server (real HTTP on 127.0.0.1): the tool
//! loop, both protocols with and without streaming, limits, retries and escalation.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod model;
