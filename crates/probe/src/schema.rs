//! TODO(issue 4): schema
