//! TODO(issue 4): session
