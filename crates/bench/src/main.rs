//! Benchmark runner (skeleton).
fn main() {}
