//! The testbed over real sockets: the clean service's behaviour, each flaw really present,
//! the embedded document, the binary's command line, and the evidence gates against it
//! (positive and negative controls).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod clean;
mod cli;
mod contract;
mod deploy;
mod document;
mod flaws;
mod gates;
mod support;
