//! Executing runs in the server: the host the binary provides ([`RunHost`]), the worker pool,
//! and the feed that tells event streams a run changed.

pub(crate) mod cache;
pub(crate) mod host;
pub(crate) mod pool;
pub(crate) mod view;
