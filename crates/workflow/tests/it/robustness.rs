//! Malformed input gives errors, never panics: truncations of a valid file, every file
//! with one line removed, and a few hundred random corruptions.

use std::panic;

use apiwright_workflow::LoadError;
use apiwright_workflow::load_str;

use crate::loader::FULL;

/// Loads `text`, turning a panic into a test failure that shows the input.
fn load_without_panic(text: &str) -> Result<(), LoadError> {
    let outcome = panic::catch_unwind(|| load_str("fuzz.yaml", text).map(|_| ()));
    match outcome {
        Ok(result) => {
            if let Err(error) = &result {
                check_positions(text, error);
            }
            result
        }
        Err(_) => panic!("load_str panicked on:\n{text}"),
    }
}

/// Every diagnostic points into the text (or just past its end).
fn check_positions(text: &str, error: &LoadError) {
    let lines = u64::try_from(text.lines().count()).unwrap_or(u64::MAX) + 1;
    for diagnostic in error.diagnostics() {
        assert!(
            (1..=lines).contains(&diagnostic.line) && diagnostic.column >= 1,
            "{diagnostic} is outside the text:\n{text}"
        );
        assert!(!diagnostic.message.contains('\n'), "{diagnostic}");
    }
}

#[test]
fn every_truncation_gives_errors_not_panics() {
    let mut errors = 0;
    let mut cuts = 0;
    // Every third cut keeps the debug-build test quick and still cuts inside keys, values,
    // quotes, brackets and at line ends.
    for (cut, _) in FULL.char_indices().skip(1).step_by(3) {
        cuts += 1;
        if load_without_panic(&FULL[..cut]).is_err() {
            errors += 1;
        }
    }
    // Some cuts leave a shorter but valid workflow (fewer phases, a phase without its later
    // optional fields, a shorter plain title); most must be refused.
    assert!(
        errors * 100 >= cuts * 85,
        "only {errors} of {cuts} truncations refused"
    );
}

#[test]
fn removing_any_line_never_panics() {
    let lines: Vec<&str> = FULL.lines().collect();
    for skip in 0..lines.len() {
        let text: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, line)| *line)
            .collect();
        let _ = load_without_panic(&text.join("\n"));
    }
}

/// xorshift64: deterministic, so a failure reproduces, and no extra dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(bound).unwrap_or(1)).unwrap_or(0)
    }
}

#[test]
fn random_corruptions_never_panic() {
    const NOISE: [&str; 16] = [
        ":", "-", "[", "]", "{", "}", "*a", "&a", "<<: ", "? ", "|", ">", "\"", "'", "\t", "\n  ",
    ];
    let mut random = Random(0x5eed_cafe_f00d_1234);
    let chars: Vec<char> = FULL.chars().collect();
    for _ in 0..600 {
        let mut text: Vec<char> = chars.clone();
        for _ in 0..1 + random.below(3) {
            let at = random.below(text.len());
            let noise = NOISE[random.below(NOISE.len())];
            match random.below(3) {
                0 => {
                    text.splice(at..at, noise.chars());
                }
                1 => {
                    text.remove(at);
                }
                _ => {
                    let end = (at + noise.len()).min(text.len());
                    text.splice(at..end, noise.chars());
                }
            }
        }
        let text: String = text.into_iter().collect();
        let _ = load_without_panic(&text);
    }
}

#[test]
fn deep_nesting_and_huge_scalars_do_not_overflow() {
    let deep = format!("name: {}\n", "[".repeat(50_000));
    assert!(load_without_panic(&deep).is_err());
    let deep_unknown = format!("bogus: {}\n", "{a: ".repeat(10_000));
    assert!(load_without_panic(&deep_unknown).is_err());
    let long = format!("name: {}\n", "x".repeat(1_000_000));
    assert!(load_without_panic(&long).is_err());
}
