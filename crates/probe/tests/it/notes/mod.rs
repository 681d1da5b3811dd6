//! The in-process notes service with switchable security flaws, and its document.

pub mod document;
pub mod service;
