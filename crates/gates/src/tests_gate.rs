//! Tests gates: run a test suite and judge it by the counts the runner prints.
//!
//! libtest prints `test result: ok. 12 passed; 0 failed; 1 ignored; …` per test binary;
//! nextest prints `N tests run: P passed, F failed, S skipped`. A suite that did not compile
//! prints neither, so it never passes a red check.

use std::time::Duration;

use apiwright_workflow::TestsCheck;
use apiwright_workflow::TestsExpect;
use apiwright_workflow::template::render;
use serde_json::json;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;
use crate::shell;

/// Test counts read from a runner's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestCounts {
    /// Result lines seen (one per libtest binary, or one nextest summary).
    pub suites: u32,
    /// Tests passed.
    pub passed: u32,
    /// Tests failed.
    pub failed: u32,
    /// Tests ignored or skipped.
    pub ignored: u32,
    /// A compiler error was reported (`error: could not compile`).
    pub build_failed: bool,
}

impl TestCounts {
    /// Reads one line of runner output.
    pub fn read_line(&mut self, line: &str) {
        let line = line.trim();
        if line.starts_with("error: could not compile") || line.starts_with("error[E") {
            self.build_failed = true;
        }
        if let Some(rest) = line.strip_prefix("test result: ") {
            self.suites += 1;
            self.passed += number_before(rest, " passed");
            self.failed += number_before(rest, " failed");
            self.ignored += number_before(rest, " ignored");
        } else if line.contains(" tests run: ") || line.contains(" test run: ") {
            // nextest summary: `Summary [ 0.1s] 12 tests run: 12 passed, 0 skipped`
            self.suites += 1;
            self.passed += number_before(line, " passed");
            self.failed += number_before(line, " failed");
            self.ignored += number_before(line, " skipped");
        }
    }
}

/// The number right before `label` (`"3 passed"` → 3), 0 if absent.
fn number_before(text: &str, label: &str) -> u32 {
    text.find(label)
        .and_then(|end| {
            let digits: String = text[..end]
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.chars().rev().collect::<String>().parse().ok()
        })
        .unwrap_or(0)
}

pub(crate) async fn evaluate(
    check: &TestsCheck,
    context: &GateContext<'_>,
) -> Result<(GateOutcome, String, serde_json::Value), GateError> {
    let command_line = render(&check.run, context.vars)?;
    let timeout = check
        .timeout_secs
        .map_or(context.default_timeout, Duration::from_secs);
    let mut counts = TestCounts::default();
    let execution = shell::run(&command_line, context, &[], timeout, &mut |line| {
        counts.read_line(line);
    })
    .await;
    let min_tests = check.min_tests.unwrap_or(1);
    let ran = counts.suites > 0 && !counts.build_failed;
    let (passed, summary) = if let Some(error) = &execution.start_error {
        (false, error.clone())
    } else if execution.timed_out {
        (
            false,
            format!("`{command_line}` timed out after {} s", timeout.as_secs()),
        )
    } else if !ran {
        (
            false,
            format!(
                "expected test results, found none: the tests did not build or run (exit {})",
                execution
                    .exit_code
                    .map_or_else(|| "by signal".to_string(), |code| code.to_string())
            ),
        )
    } else {
        let counted = format!(
            "{} passed, {} failed, {} ignored",
            counts.passed, counts.failed, counts.ignored
        );
        match check.expect {
            TestsExpect::Pass => {
                if counts.failed > 0 || execution.exit_code != Some(0) {
                    (
                        false,
                        format!("expected every test to pass, found {counted}"),
                    )
                } else if counts.passed < min_tests {
                    (
                        false,
                        format!("expected at least {min_tests} passing tests, found {counted}"),
                    )
                } else {
                    (true, counted)
                }
            }
            TestsExpect::Fail => {
                if counts.failed == 0 {
                    (
                        false,
                        format!(
                            "expected failing tests before the implementation, found {counted}"
                        ),
                    )
                } else {
                    (true, format!("{counted} (red as expected)"))
                }
            }
        }
    };
    let outcome = if passed {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let evidence = json!({
        "command": command_line,
        "workspace": context.workspace.display().to_string(),
        "exit_code": execution.exit_code,
        "timed_out": execution.timed_out,
        "duration_ms": u64::try_from(execution.duration.as_millis()).unwrap_or(u64::MAX),
        "expect": match check.expect {
            TestsExpect::Pass => "pass",
            TestsExpect::Fail => "fail",
        },
        "suites": counts.suites,
        "passed": counts.passed,
        "failed": counts.failed,
        "ignored": counts.ignored,
        "build_failed": counts.build_failed,
        "output_tail": execution.tail,
        "error": execution.start_error,
    });
    Ok((outcome, summary, evidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_and_nextest_counts() {
        let mut counts = TestCounts::default();
        for line in [
            "running 3 tests",
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: ok. 10 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.2s",
        ] {
            counts.read_line(line);
        }
        assert_eq!(
            counts,
            TestCounts {
                suites: 2,
                passed: 12,
                failed: 1,
                ignored: 2,
                build_failed: false
            }
        );
        let mut nextest = TestCounts::default();
        nextest.read_line("     Summary [   0.120s] 12 tests run: 10 passed, 2 failed, 1 skipped");
        assert_eq!(
            nextest,
            TestCounts {
                suites: 1,
                passed: 10,
                failed: 2,
                ignored: 1,
                build_failed: false
            }
        );
        let mut broken = TestCounts::default();
        broken
            .read_line("error: could not compile `books` (test \"books\") due to 1 previous error");
        assert!(broken.build_failed);
    }
}
