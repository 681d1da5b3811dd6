//! Turning an agent program's stdout into a [`StepOutput`].
//!
//! A program either prints a JSON envelope
//! (`{"deliverables": {"name": value, …}, "summary": "…", "decisions": […], "escalation": {…}}`)
//! or plain output, which becomes the single deliverable of a step that writes exactly one.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::request::AgentError;
use crate::request::EscalationRequest;
use crate::request::StepOutput;
use crate::request::Usage;
use crate::request::WriteTarget;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    deliverables: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    decisions: Vec<String>,
    #[serde(default)]
    escalation: Option<EscalationRequest>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// Parses an agent's stdout against the deliverables the step must write.
pub fn parse_output(
    agent: &str,
    stdout: &str,
    writes: &[WriteTarget],
) -> Result<StepOutput, AgentError> {
    let whole = stdout.trim();
    // Coding-agent CLIs print prose around the envelope (often in a ```json fence): the last
    // JSON object with `deliverables` in their final message is the envelope.
    let trimmed = if is_envelope(whole) {
        whole
    } else {
        embedded_envelope(whole).unwrap_or(whole)
    };
    let looks_like_envelope = is_envelope(trimmed);
    if looks_like_envelope {
        let envelope: Envelope = serde_json::from_str(trimmed).map_err(|error| {
            AgentError::RespondToAgent(format!(
                "expected a JSON envelope with `deliverables`, `summary`, `decisions`, `escalation`, `usage`, found invalid envelope: {error}"
            ))
        })?;
        let expected: Vec<&str> = writes.iter().map(|write| write.name.as_str()).collect();
        let missing: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|name| !envelope.deliverables.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            return Err(AgentError::RespondToAgent(format!(
                "expected deliverables {}, found {} (missing: {})",
                quote_list(&expected),
                quote_list(
                    &envelope
                        .deliverables
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                ),
                missing.join(", ")
            )));
        }
        let unexpected: Vec<&str> = envelope
            .deliverables
            .keys()
            .map(String::as_str)
            .filter(|name| !expected.contains(name))
            .collect();
        if !unexpected.is_empty() {
            return Err(AgentError::RespondToAgent(format!(
                "expected only deliverables {}, found undeclared {}",
                quote_list(&expected),
                quote_list(&unexpected)
            )));
        }
        return Ok(StepOutput {
            summary: envelope
                .summary
                .unwrap_or_else(|| default_summary(agent, writes)),
            deliverables: envelope.deliverables,
            decisions: envelope.decisions,
            escalation: envelope.escalation,
            usage: envelope.usage,
            memory: BTreeMap::new(),
        });
    }
    match writes {
        [] => Ok(StepOutput {
            summary: if trimmed.is_empty() {
                default_summary(agent, writes)
            } else {
                trimmed.to_string()
            },
            ..StepOutput::default()
        }),
        [single] => {
            if trimmed.is_empty() {
                return Err(AgentError::RespondToAgent(format!(
                    "expected deliverable `{}` on stdout, found no output",
                    single.name
                )));
            }
            let value = serde_json::from_str(trimmed)
                .unwrap_or_else(|_| serde_json::Value::String(stdout.to_string()));
            Ok(StepOutput {
                deliverables: BTreeMap::from([(single.name.clone(), value)]),
                summary: default_summary(agent, writes),
                ..StepOutput::default()
            })
        }
        several => Err(AgentError::RespondToAgent(format!(
            "expected a JSON envelope with deliverables {} (the step writes {} deliverables), found plain output",
            quote_list(&several.iter().map(|w| w.name.as_str()).collect::<Vec<_>>()),
            several.len()
        ))),
    }
}

fn is_envelope(text: &str) -> bool {
    text.starts_with('{')
        && serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|value| value.get("deliverables").map(serde_json::Value::is_object))
            .unwrap_or(false)
}

/// Most trailing bytes searched for an embedded envelope, and most candidate objects tried
/// (parsing from each `{` is linear, so the search stays bounded on huge outputs).
const EMBEDDED_SEARCH_BYTES: usize = 512 * 1024;
const EMBEDDED_CANDIDATES: usize = 4096;

/// The last JSON object in `text` that has a `deliverables` object, as a slice of `text`.
fn embedded_envelope(text: &str) -> Option<&str> {
    let mut start = text.len().saturating_sub(EMBEDDED_SEARCH_BYTES);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let window = &text[start..];
    let openings: Vec<usize> = window.match_indices('{').map(|(at, _)| at).collect();
    for &at in openings.iter().rev().take(EMBEDDED_CANDIDATES) {
        let candidate = &window[at..];
        let mut values =
            serde_json::Deserializer::from_str(candidate).into_iter::<serde_json::Value>();
        if let Some(Ok(value)) = values.next()
            && value
                .get("deliverables")
                .is_some_and(serde_json::Value::is_object)
        {
            let end = values.byte_offset();
            return Some(&candidate[..end]);
        }
    }
    None
}

fn quote_list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn default_summary(agent: &str, writes: &[WriteTarget]) -> String {
    if writes.is_empty() {
        format!("{agent} finished")
    } else {
        format!(
            "{agent} wrote {}",
            writes
                .iter()
                .map(|write| write.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(names: &[&str]) -> Vec<WriteTarget> {
        names
            .iter()
            .map(|name| WriteTarget {
                name: name.to_string(),
                key: format!("k/{name}"),
            })
            .collect()
    }

    #[test]
    fn plain_output_is_the_single_deliverable() {
        let output =
            parse_output("pm", "{\"endpoints\": 3}\n", &targets(&["requirements"])).unwrap();
        assert_eq!(
            output.deliverables["requirements"],
            serde_json::json!({"endpoints": 3})
        );
        let text = parse_output("pm", "just text\n", &targets(&["notes"])).unwrap();
        assert_eq!(text.deliverables["notes"], serde_json::json!("just text\n"));
    }

    #[test]
    fn envelope_must_carry_every_declared_deliverable() {
        let err = parse_output(
            "pm",
            r#"{"deliverables": {"a": 1}, "summary": "did a"}"#,
            &targets(&["a", "b"]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected deliverables `a`, `b`, found `a` (missing: b)"
        );
        let ok = parse_output(
            "pm",
            r#"{"deliverables": {"a": 1, "b": "x"}, "summary": "did both", "decisions": ["use JWT"],
                "escalation": {"kind": "clarification_needed", "message": "which DB?"}}"#,
            &targets(&["a", "b"]),
        )
        .unwrap();
        assert_eq!(ok.summary, "did both");
        assert_eq!(ok.decisions, vec!["use JWT".to_string()]);
        assert_eq!(
            ok.escalation.map(|e| e.kind),
            Some(apiwright_workflow::EscalationKind::ClarificationNeeded)
        );
    }

    #[test]
    fn an_envelope_inside_a_final_message_is_found() {
        let writes = targets(&["plan", "notes"]);
        let stdout = "I wrote the files.\n\n```json\n{\"deliverables\": {\"plan\": {\"a\": 1}, \"notes\": \"n\"}, \"summary\": \"done\"}\n```\nAnything else?";
        let output = parse_output("claude-code", stdout, &writes).unwrap();
        assert_eq!(output.summary, "done");
        assert_eq!(output.deliverables["plan"], serde_json::json!({"a": 1}));
        // The last envelope wins (an agent may quote the example it was given first).
        let twice = format!("{{\"deliverables\": {{\"plan\": 0, \"notes\": 0}}}} then {stdout}");
        let output = parse_output("claude-code", &twice, &writes).unwrap();
        assert_eq!(output.deliverables["notes"], serde_json::json!("n"));
        // Prose without an envelope still cannot fill two deliverables.
        assert!(parse_output("claude-code", "all done {not json}", &writes).is_err());
    }

    #[test]
    fn plain_output_cannot_fill_several_deliverables() {
        let err = parse_output("pm", "hello", &targets(&["a", "b"])).unwrap_err();
        assert!(matches!(err, AgentError::RespondToAgent(_)));
        let empty = parse_output("pm", "  \n", &targets(&["a"])).unwrap_err();
        assert_eq!(
            empty.to_string(),
            "expected deliverable `a` on stdout, found no output"
        );
    }
}
