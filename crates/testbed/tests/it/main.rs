//! The testbed over real sockets: the clean service's behaviour, each flaw really present,
//! the embedded document, and the binary's command line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod clean;
mod cli;
mod contract;
mod document;
mod flaws;
mod support;
