//! Memory gates: required keys exist; required patterns match at least one key; deliverables
//! hold the fields the criterion asks for, present and non-empty.

use apiwright_store::KeyPattern;
use apiwright_store::MemoryEntry;
use apiwright_store::Value;
use apiwright_workflow::ContentCheck;
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
    let mut problems = Vec::new();
    for template in &check.keys {
        let key = render(template, context.vars)?;
        let matched: Vec<String> = lookup(context, &key)?
            .into_iter()
            .map(|entry| entry.key)
            .collect();
        if matched.is_empty() {
            problems.push(format!("missing {key}"));
        }
        rows.push(json!({
            "key": key,
            "count": matched.len(),
            "matched": matched.iter().take(LISTED_MATCHES).collect::<Vec<_>>(),
        }));
    }
    let mut contents = Vec::new();
    let mut fields_checked = 0;
    for content in &check.content {
        let (row, found) = check_content(content, context)?;
        let matched = row["count"].as_u64().unwrap_or(0) as usize;
        fields_checked += matched * (content.fields.len() + content.equals.len());
        problems.extend(found);
        contents.push(row);
    }
    let outcome = if problems.is_empty() {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    let summary = if problems.is_empty() {
        match (check.keys.len(), fields_checked) {
            (keys, 0) => format!("all {keys} required keys present"),
            (0, fields) => format!("all {fields} required fields present and non-empty"),
            (keys, fields) => format!(
                "all {keys} required keys present; all {fields} required fields present and non-empty"
            ),
        }
    } else {
        problems.join("; ")
    };
    Ok((
        outcome,
        summary,
        json!({ "keys": rows, "content": contents }),
    ))
}

fn lookup(context: &GateContext<'_>, key: &str) -> Result<Vec<MemoryEntry>, GateError> {
    let pattern = KeyPattern::parse(key)?;
    Ok(if pattern.is_literal() {
        context.store.memory_get(key)?.into_iter().collect()
    } else {
        context.store.memory_match(&pattern)?
    })
}

/// Checks every key `content.key` matches; returns the evidence row and the problems found.
fn check_content(
    content: &ContentCheck,
    context: &GateContext<'_>,
) -> Result<(serde_json::Value, Vec<String>), GateError> {
    let key = render(&content.key, context.vars)?;
    let entries = lookup(context, &key)?;
    let mut problems = Vec::new();
    if entries.is_empty() {
        problems.push(format!("missing {key}"));
    }
    let mut checked = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let mut fields = Vec::new();
        for field in &content.fields {
            let verdict = match &entry.value {
                Value::Json(document) => field_verdict(document, field),
                Value::Text(_) => Err(format!(
                    "expected a JSON object with field `{field}`, found plain text"
                )),
            };
            if let Err(problem) = &verdict {
                problems.push(format!("{}: {problem}", entry.key));
            }
            fields.push(json!({
                "field": field,
                "ok": verdict.is_ok(),
                "found": verdict.unwrap_or_else(|problem| problem),
            }));
        }
        for (field, expected) in &content.equals {
            let verdict = match &entry.value {
                Value::Json(document) => equals_verdict(document, field, expected),
                Value::Text(_) => Err(format!(
                    "expected a JSON object with field `{field}` = {expected}, found plain text"
                )),
            };
            if let Err(problem) = &verdict {
                problems.push(format!("{}: {problem}", entry.key));
            }
            fields.push(json!({
                "field": field,
                "expected": expected,
                "ok": verdict.is_ok(),
                "found": verdict.unwrap_or_else(|problem| problem),
            }));
        }
        // Matches past the listing limit are judged all the same, only not listed.
        if index < LISTED_MATCHES {
            checked.push(json!({ "key": entry.key, "fields": fields }));
        }
    }
    let row = json!({
        "key": key,
        "count": entries.len(),
        "checked": checked,
    });
    Ok((row, problems))
}

/// What is wrong with a deliverable against a content check's `fields` and `equals` (empty
/// when nothing is): the same verdicts the gate gives, so an agent can be told before the
/// gate runs.
pub fn content_problems(
    document: &serde_json::Value,
    fields: &[String],
    equals: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<String> {
    let mut problems: Vec<String> = fields
        .iter()
        .filter_map(|field| field_verdict(document, field).err())
        .collect();
    problems.extend(
        equals
            .iter()
            .filter_map(|(field, expected)| equals_verdict(document, field, expected).err()),
    );
    problems
}

/// The value at a dotted path; numbers index arrays.
fn at_path<'v>(
    document: &'v serde_json::Value,
    field: &str,
) -> Result<&'v serde_json::Value, String> {
    let mut current = document;
    for part in field.split('.') {
        let next = match current {
            serde_json::Value::Object(map) => map.get(part),
            serde_json::Value::Array(items) => {
                part.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        current = next.ok_or_else(|| format!("expected field `{field}`, found no `{part}`"))?;
    }
    Ok(current)
}

/// `Ok(the value)` when the field equals `expected` (no coercion: `"3"` is not `3`).
fn equals_verdict(
    document: &serde_json::Value,
    field: &str,
    expected: &serde_json::Value,
) -> Result<String, String> {
    let found = at_path(document, field)?;
    if found == expected {
        Ok(found.to_string())
    } else {
        Err(format!(
            "expected field `{field}` to be {expected}, found {found}"
        ))
    }
}

/// `Ok(description of what was found)` when the field is present and non-empty.
fn field_verdict(document: &serde_json::Value, field: &str) -> Result<String, String> {
    match at_path(document, field)? {
        serde_json::Value::Null => Err(format!("expected field `{field}` to be set, found null")),
        serde_json::Value::String(text) if text.trim().is_empty() => Err(format!(
            "expected field `{field}` to be non-empty, found an empty string"
        )),
        serde_json::Value::Array(items) if items.is_empty() => Err(format!(
            "expected field `{field}` to be non-empty, found an empty array"
        )),
        serde_json::Value::Object(map) if map.is_empty() => Err(format!(
            "expected field `{field}` to be non-empty, found an empty object"
        )),
        serde_json::Value::Array(items) => Ok(format!("{} items", items.len())),
        serde_json::Value::Object(map) => Ok(format!("an object with {} fields", map.len())),
        serde_json::Value::String(text) => Ok(format!("{} characters", text.chars().count())),
        other => Ok(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::equals_verdict;
    use super::field_verdict;
    use serde_json::json;

    #[test]
    fn fields_must_be_present_and_non_empty() {
        let document = json!({
            "language": "rust",
            "auth": { "roles": ["admin", "member"], "scheme": "" },
            "endpoints": [{ "path": "/books" }],
            "notes": [],
            "limits": {},
            "owner": null,
            "count": 0,
            "enabled": false,
        });
        assert_eq!(
            field_verdict(&document, "language").unwrap(),
            "4 characters"
        );
        assert_eq!(field_verdict(&document, "auth.roles").unwrap(), "2 items");
        assert_eq!(
            field_verdict(&document, "endpoints.0.path").unwrap(),
            "6 characters"
        );
        // Zero and false are values, not absence.
        assert_eq!(field_verdict(&document, "count").unwrap(), "0");
        assert_eq!(field_verdict(&document, "enabled").unwrap(), "false");
        for (field, found) in [
            ("auth.scheme", "an empty string"),
            ("notes", "an empty array"),
            ("limits", "an empty object"),
            ("owner", "null"),
            ("auth.expiry", "no `expiry`"),
            ("endpoints.1.path", "no `1`"),
            ("language.name", "no `name`"),
        ] {
            let problem = field_verdict(&document, field).unwrap_err();
            assert!(problem.contains(found), "{field}: {problem}");
        }
    }

    #[test]
    fn equals_compares_json_values_exactly() {
        let document = json!({"confirmed": false, "go": {"decision": "GO"}, "count": 3});
        assert_eq!(
            equals_verdict(&document, "go.decision", &json!("GO")).unwrap(),
            "\"GO\""
        );
        assert_eq!(equals_verdict(&document, "count", &json!(3)).unwrap(), "3");
        let problem = equals_verdict(&document, "confirmed", &json!(true)).unwrap_err();
        assert_eq!(
            problem,
            "expected field `confirmed` to be true, found false"
        );
        assert!(equals_verdict(&document, "count", &json!("3")).is_err());
        assert!(
            equals_verdict(&document, "missing", &json!(1))
                .unwrap_err()
                .contains("no `missing`")
        );
    }
}
