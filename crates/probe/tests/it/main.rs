//! The crate's one integration binary: probes driven against an in-process service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod exchange;
mod openapi;
mod schema;
mod session;
mod support;
