//! apiwright-agents (skeleton).
