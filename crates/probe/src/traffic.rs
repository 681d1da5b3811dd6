//! TODO(issue 4): traffic
