//! Spec gates: a requirements spec stored in memory must load exactly like a user's
//! `--spec` file (same loader, same validation, same diagnostics).

use apiwright_store::Value;
use apiwright_workflow::SpecCheck;
use apiwright_workflow::template::render;
use serde_json::json;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

pub(crate) fn evaluate(
    check: &SpecCheck,
    context: &GateContext<'_>,
) -> Result<(GateOutcome, String, serde_json::Value), GateError> {
    let key = render(&check.key, context.vars)?;
    let entry = context.store.memory_get(&key)?;
    let verdict = match &entry {
        None => Err(format!(
            "expected a requirements spec at `{key}`, found nothing stored"
        )),
        Some(entry) => {
            let value = match &entry.value {
                Value::Json(document) => document.clone(),
                Value::Text(text) => serde_json::Value::String(text.clone()),
            };
            load_spec_at(&key, &value, check.field.as_deref())
        }
    };
    Ok(match verdict {
        Ok(spec) => {
            let resources: Vec<&str> = spec
                .resources
                .iter()
                .map(|resource| resource.name.as_str())
                .collect();
            let endpoints = spec.endpoints().len();
            (
                GateOutcome::Passed,
                format!(
                    "the spec at `{key}` is valid: API `{}`, {} resources, {endpoints} endpoints",
                    spec.api.name,
                    resources.len()
                ),
                json!({
                    "key": key,
                    "field": check.field,
                    "valid": true,
                    "api": spec.api.name,
                    "resources": resources,
                    "endpoints": endpoints,
                }),
            )
        }
        Err(problems) => (
            GateOutcome::Failed,
            format!(
                "the spec at `{key}` is not valid: {}",
                first_line(&problems)
            ),
            json!({
                "key": key,
                "field": check.field,
                "valid": false,
                "diagnostics": problems.lines().collect::<Vec<_>>(),
            }),
        ),
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Loads the spec held by `value` (at the dotted `field` when given): YAML/JSON text, or a
/// JSON object written out as JSON text first so that diagnostics carry `line:col` into it.
/// The error lists every diagnostic, one per line.
pub fn load_spec_at(
    source: &str,
    value: &serde_json::Value,
    field: Option<&str>,
) -> Result<apiwright_spec::Spec, String> {
    let mut current = value;
    // A deliverable stored as JSON text is parsed before a field is looked up in it.
    let parsed;
    if let (serde_json::Value::String(text), Some(_)) = (current, field)
        && let Ok(document) = serde_json::from_str::<serde_json::Value>(text)
    {
        parsed = document;
        current = &parsed;
    }
    if let Some(field) = field {
        for part in field.split('.').filter(|part| !part.is_empty()) {
            current = current.get(part).ok_or_else(|| {
                format!("expected the spec under field `{field}` of `{source}`, found no `{part}`")
            })?;
        }
    }
    let text = match current {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(_) => serde_json::to_string_pretty(current)
            .map_err(|error| format!("cannot write the spec as JSON: {error}"))?,
        other => {
            return Err(format!(
                "expected a spec (YAML/JSON text or a JSON object) in `{source}`, found {}",
                match other {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    _ => "an array",
                }
            ));
        }
    };
    let name = match field {
        Some(field) => format!("{source}#{field}"),
        None => source.to_string(),
    };
    apiwright_spec::load_str(&name, &text).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::load_spec_at;
    use serde_json::json;

    const SPEC: &str = "api:\n  name: notes\n  version: 1.0.0\nresources:\n  - name: note\n    fields:\n      - {name: body, type: string, required: true}\n";

    #[test]
    fn a_valid_spec_loads_from_text_and_from_a_json_field() {
        let spec = load_spec_at("k", &json!(SPEC), None).unwrap();
        assert_eq!(spec.api.name, "notes");
        let value: serde_json::Value = serde_saphyr::from_str(SPEC).unwrap();
        let wrapped = json!({ "spec": value });
        assert!(load_spec_at("k", &wrapped, Some("spec")).is_ok());
        let as_text = json!(wrapped.to_string());
        assert!(load_spec_at("k", &as_text, Some("spec")).is_ok());
    }

    #[test]
    fn an_invalid_spec_names_the_field_and_position() {
        let broken = json!({ "spec": { "api": { "name": "notes", "version": "1.0.0" }, "resources": [ { "name": "note", "fields": [ { "name": "body", "type": "strng" } ] } ] } });
        let error = load_spec_at("m/requirements", &broken, Some("spec")).unwrap_err();
        assert!(error.contains("m/requirements#spec:"), "{error}");
        assert!(error.contains("strng"), "{error}");
        let error = load_spec_at("m/requirements", &json!({}), Some("spec")).unwrap_err();
        assert!(error.contains("found no `spec`"), "{error}");
        let error = load_spec_at("k", &json!(3), None).unwrap_err();
        assert!(error.contains("found a number"), "{error}");
    }

    #[test]
    fn a_normalized_spec_loads_again() {
        // The built-in product manager stores the spec it loaded as JSON under
        // `requirements.spec`; the gate must accept what it wrote.
        let text = include_str!("../../../examples/bookstore.yaml");
        let spec = apiwright_spec::load_str("bookstore.yaml", text).unwrap();
        let normalized = json!({ "spec": serde_json::to_value(&spec).unwrap() });
        let again = load_spec_at("requirements", &normalized, Some("spec")).unwrap();
        assert_eq!(again, spec);
    }
}
