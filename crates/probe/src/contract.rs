//! Contract conformance: every documented operation exercised against the running service.
