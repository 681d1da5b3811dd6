//! TODO(issue 4): openapi
