//! The `kubernetes` target of the `deploy` gate.

use apiwright_workflow::DeployCheck;
use serde_json::Value;

use super::Verdict;
use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

pub(crate) async fn evaluate(
    _check: &DeployCheck,
    _context: &GateContext<'_>,
) -> Result<Verdict, GateError> {
    Ok((
        GateOutcome::Failed,
        "kubernetes target: pending".into(),
        Value::Null,
    ))
}
