//! TODO(issue 4): security probes
