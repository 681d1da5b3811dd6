//! The `contract` gate: every operation of the document exercised by
//! `apiwright_probe::contract` against the running service; any violation fails the gate, and
//! so does a run that exercised nothing.

use std::time::Duration;

use apiwright_probe::contract;
use apiwright_probe::contract::ContractOptions;
use apiwright_workflow::ContractCheck;
use serde_json::json;

use super::DEFAULT_CHECK_TIMEOUT;
use super::Verdict;
use super::with_service;
use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

/// Invalid requests per operation: every kind of body defect and bad query value the
/// document allows for, without letting one wide schema dominate the run.
const MAX_INVALID_PER_OPERATION: usize = 24;
/// A request slower than this is a server error: a contract check is not a load test.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Violations kept in the evidence in full (with their exchanges); the count is always exact.
const VIOLATIONS_KEPT: usize = 50;

pub(crate) async fn evaluate(
    check: &ContractCheck,
    context: &GateContext<'_>,
) -> Result<Verdict, GateError> {
    let limit = check
        .timeout_secs
        .map_or(DEFAULT_CHECK_TIMEOUT, Duration::from_secs);
    let options = ContractOptions {
        max_invalid_per_operation: MAX_INVALID_PER_OPERATION,
        request_timeout: REQUEST_TIMEOUT,
        skip_operations: check.skip.clone(),
    };
    with_service(&check.service, &check.openapi, limit, context, |target, _| async move {
        let report = contract::run(&target.client, &target.api, &target.session, &options).await;
        let exercised = report
            .operations
            .iter()
            .filter(|operation| operation.skipped.is_none())
            .count();
        let skipped = report.operations.len() - exercised;
        let violations = report.violations.len();
        let outcome = if violations == 0 && exercised > 0 {
            GateOutcome::Passed
        } else {
            GateOutcome::Failed
        };
        let mut summary = format!(
            "{exercised} operations exercised with {} requests: {violations} violations ({} server errors)",
            report.requests_sent, report.server_errors
        );
        if skipped > 0 {
            summary.push_str(&format!(", {skipped} skipped"));
        }
        if exercised == 0 {
            summary.push_str("; nothing was exercised, so nothing is verified");
        }
        let mut evidence = serde_json::to_value(&report).unwrap_or_else(|error| json!({ "error": error.to_string() }));
        if let Some(list) = evidence.get_mut("violations").and_then(|list| list.as_array_mut())
            && list.len() > VIOLATIONS_KEPT
        {
            list.truncate(VIOLATIONS_KEPT);
        }
        if let serde_json::Value::Object(object) = &mut evidence {
            object.insert("violation_count".into(), json!(violations));
            object.insert("auth_exchanges".into(), json!(target.session.exchanges.len()));
        }
        (outcome, summary, evidence)
    })
    .await
}
