//! apiwright-config (skeleton).
