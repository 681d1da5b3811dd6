//! apiwright-gates (skeleton).
