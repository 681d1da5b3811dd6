//! Integration tests: a real `FakeModel` on 127.0.0.1 driven over HTTP with reqwest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod binary;
mod contract;
mod faults;
mod openai;
mod script_file;
mod support;
