//! TODO(issue 4): exchange
