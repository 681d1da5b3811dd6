//! apiwright-hooks (skeleton).
