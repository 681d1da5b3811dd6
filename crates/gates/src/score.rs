//! Score gates: a number read from a deliverable, compared with `min` and `max`.

use apiwright_store::Value;
use apiwright_workflow::ScoreCheck;
use apiwright_workflow::template::render;
use serde_json::json;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

pub(crate) fn evaluate(
    check: &ScoreCheck,
    context: &GateContext<'_>,
) -> Result<(GateOutcome, String, serde_json::Value), GateError> {
    let key = render(&check.key, context.vars)?;
    let entry = context.store.memory_get(&key)?;
    let found = match &entry {
        None => Err(format!("no value at `{key}`")),
        Some(entry) => match &entry.value {
            Value::Json(document) => read_number(document, check.field.as_deref()),
            Value::Text(text) => match check.field {
                None => text
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("expected a number at `{key}`, found text")),
                Some(_) => Err(format!("expected a JSON object at `{key}`, found text")),
            },
        },
    };
    let evidence_base = json!({
        "key": key,
        "field": check.field,
        "min": check.min,
        "max": check.max,
    });
    let (outcome, summary, value) = match found {
        Err(problem) => (GateOutcome::Failed, problem, None),
        Ok(value) => {
            let low = check.min.is_none_or(|min| value >= min);
            let high = check.max.is_none_or(|max| value <= max);
            let bounds = describe_bounds(check.min, check.max);
            if low && high {
                (
                    GateOutcome::Passed,
                    format!("{value} is within {bounds}"),
                    Some(value),
                )
            } else {
                (
                    GateOutcome::Failed,
                    format!("expected {bounds}, found {value}"),
                    Some(value),
                )
            }
        }
    };
    let mut evidence = evidence_base;
    if let Some(object) = evidence.as_object_mut() {
        object.insert("value".into(), json!(value));
    }
    Ok((outcome, summary, evidence))
}

fn describe_bounds(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("a value in [{min}, {max}]"),
        (Some(min), None) => format!("a value ≥ {min}"),
        (None, Some(max)) => format!("a value ≤ {max}"),
        (None, None) => "any value".to_string(),
    }
}

fn read_number(document: &serde_json::Value, field: Option<&str>) -> Result<f64, String> {
    let mut current = document;
    if let Some(path) = field {
        for part in path.split('.') {
            current = current
                .get(part)
                .ok_or_else(|| format!("expected field `{path}`, found no `{part}`"))?;
        }
    }
    match current {
        serde_json::Value::Number(number) => number
            .as_f64()
            .ok_or_else(|| "expected a finite number".to_string()),
        serde_json::Value::String(text) => text
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("expected a number, found string {text:?}")),
        other => Err(format!("expected a number, found {}", kind(other))),
    }
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
