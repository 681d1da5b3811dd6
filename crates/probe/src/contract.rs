//! TODO(issue 4): contract
