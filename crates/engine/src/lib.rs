//! apiwright-engine (skeleton).
