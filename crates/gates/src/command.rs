//! Command gates: run a shell command in the workspace; pass on the expected exit.

use std::time::Duration;

use apiwright_workflow::CommandCheck;
use apiwright_workflow::Expect;
use apiwright_workflow::template::render;
use serde_json::json;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;
use crate::shell;

/// Limit of a command gate that sets no `timeout_secs`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

pub(crate) async fn evaluate(
    check: &CommandCheck,
    context: &GateContext<'_>,
) -> Result<(GateOutcome, String, serde_json::Value), GateError> {
    let command_line = render(&check.run, context.vars)?;
    let timeout = check
        .timeout_secs
        .map_or(context.default_timeout, Duration::from_secs);
    let execution = shell::run(&command_line, context, &[], timeout, &mut |_| {}).await;
    let passed = match (check.expect, execution.exit_code, execution.timed_out) {
        (_, _, true) | (_, None, false) => false,
        (Expect::Success, Some(code), false) => code == 0,
        // 126/127: the command could not be run at all; that is not "the tests failed".
        (Expect::Failure, Some(code), false) => code != 0 && code != 126 && code != 127,
    };
    let outcome = if passed {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let summary = if let Some(error) = &execution.start_error {
        error.clone()
    } else if execution.timed_out {
        format!("`{command_line}` timed out after {} s", timeout.as_secs())
    } else {
        match execution.exit_code {
            Some(code) => format!(
                "`{command_line}` exited {code} in {:.1} s (expected {})",
                execution.duration.as_secs_f64(),
                match check.expect {
                    Expect::Success => "exit 0",
                    Expect::Failure => "a non-zero exit",
                }
            ),
            None => format!("`{command_line}` was killed by a signal"),
        }
    };
    let evidence = json!({
        "command": command_line,
        "workspace": context.workspace.display().to_string(),
        "exit_code": execution.exit_code,
        "timed_out": execution.timed_out,
        "duration_ms": u64::try_from(execution.duration.as_millis()).unwrap_or(u64::MAX),
        "expect": match check.expect {
            Expect::Success => "success",
            Expect::Failure => "failure",
        },
        "output_tail": execution.tail,
        "error": execution.start_error,
    });
    Ok((outcome, summary, evidence))
}
