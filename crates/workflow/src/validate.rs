//! STUB: semantic validation of a parsed workflow.
