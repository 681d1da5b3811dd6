//! The crate's one integration binary: probes driven against an in-process service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod exchange;
mod notes;
mod openapi;
mod schema;
mod security;
mod session;
mod support;
