//! Shared test fixtures: the in-process notes service and its document.

pub mod notes_document;
pub mod notes_service;
