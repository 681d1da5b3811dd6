//! Memory gates: required keys exist; required patterns match at least one key.

use apiwright_store::KeyPattern;
use apiwright_workflow::MemoryCheck;
use apiwright_workflow::template::render;
use serde_json::json;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

/// At most this many matched keys are listed per pattern in the evidence.
const LISTED_MATCHES: usize = 20;

pub(crate) fn evaluate(
    check: &MemoryCheck,
    context: &GateContext<'_>,
) -> Result<(GateOutcome, String, serde_json::Value), GateError> {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for template in &check.keys {
        let key = render(template, context.vars)?;
        let pattern = KeyPattern::parse(&key)?;
        let matched: Vec<String> = if pattern.is_literal() {
            context
                .store
                .memory_get(&key)?
                .map(|entry| entry.key)
                .into_iter()
                .collect()
        } else {
            context
                .store
                .memory_match(&pattern)?
                .into_iter()
                .map(|entry| entry.key)
                .collect()
        };
        if matched.is_empty() {
            missing.push(key.clone());
        }
        rows.push(json!({
            "key": key,
            "count": matched.len(),
            "matched": matched.iter().take(LISTED_MATCHES).collect::<Vec<_>>(),
        }));
    }
    let outcome = if missing.is_empty() {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let summary = if missing.is_empty() {
        format!("all {} required keys present", check.keys.len())
    } else {
        format!("missing {}", missing.join(", "))
    };
    Ok((outcome, summary, json!({ "keys": rows })))
}
