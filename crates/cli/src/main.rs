//! apiwright CLI (skeleton).
fn main() {}
