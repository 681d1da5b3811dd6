//! Run reports (placeholder).
