//! Protocol-neutral contract checks on a request's history: every tool call answered exactly
//! once, right after the assistant message that made it, and no result for an unknown call.
//! Also the checks of a scripted turn against its request (`expect`, offered tools).

use std::collections::HashMap;

use crate::request::ParsedMessage;
use crate::request::ParsedRequest;
use crate::script::Turn;

/// Violations of the tool-call/tool-result pairing rules.
pub(crate) fn tool_results(messages: &[ParsedMessage]) -> Vec<String> {
    // Which assistant turn (1-based) made each call.
    let mut call_turns: HashMap<&str, usize> = HashMap::new();
    let mut assistant_turn = 0;
    for message in messages {
        if let ParsedMessage::Assistant { tool_calls, .. } = message {
            assistant_turn += 1;
            for (id, _, _) in tool_calls {
                call_turns.entry(id.as_str()).or_insert(assistant_turn);
            }
        }
    }
    let mut violations = Vec::new();
    let mut assistant_turn = 0;
    for (position, message) in messages.iter().enumerate() {
        match message {
            ParsedMessage::Assistant { tool_calls, .. } => {
                assistant_turn += 1;
                let following: Vec<&str> = messages[position + 1..]
                    .iter()
                    .map_while(|message| match message {
                        ParsedMessage::ToolResult { call_id, .. } => Some(call_id.as_str()),
                        ParsedMessage::User(_) | ParsedMessage::Assistant { .. } => None,
                    })
                    .collect();
                for (id, name, _) in tool_calls {
                    let answers = following.iter().filter(|call_id| **call_id == id).count();
                    let answered_elsewhere = messages.iter().any(|message| {
                        matches!(message, ParsedMessage::ToolResult { call_id, .. } if call_id == id)
                    });
                    match answers {
                        1 => {}
                        0 if answered_elsewhere => violations.push(format!(
                            "tool call {id} (`{name}`) from assistant turn {assistant_turn} is answered, but not right after that turn"
                        )),
                        0 => violations.push(format!(
                            "tool call {id} (`{name}`) from assistant turn {assistant_turn} has no tool result"
                        )),
                        count => violations.push(format!(
                            "tool call {id} (`{name}`) from assistant turn {assistant_turn} has {count} tool results; expected exactly one"
                        )),
                    }
                }
            }
            ParsedMessage::ToolResult { call_id, .. }
                if !call_turns.contains_key(call_id.as_str()) =>
            {
                violations.push(format!(
                    "tool result refers to unknown tool call id `{call_id}`"
                ));
            }
            ParsedMessage::ToolResult { .. } | ParsedMessage::User(_) => {}
        }
    }
    violations
}

/// Violations of a scripted turn's `expect` list and of its calls to tools not offered.
pub(crate) fn turn(request: &ParsedRequest, script_name: &str, turn: &Turn) -> Vec<String> {
    let mut violations = Vec::new();
    let latest_input = request.latest_input();
    for expected in &turn.expect {
        if !latest_input.contains(expected.as_str()) {
            violations.push(format!(
                "{script_name} turn {}: the messages since the previous assistant turn do not contain {expected:?}",
                request.turn + 1
            ));
        }
    }
    for call in &turn.tool_calls {
        if !request.tools.contains(&call.name) {
            violations.push(format!(
                "{script_name} turn {}: scripted tool `{}` is not among the request's tools {:?}",
                request.turn + 1,
                call.name,
                request.tools
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::tool_results;
    use crate::request::ParsedMessage;

    fn assistant_calling(ids: &[&str]) -> ParsedMessage {
        ParsedMessage::Assistant {
            text: None,
            tool_calls: ids
                .iter()
                .map(|id| ((*id).to_owned(), "read".to_owned(), json!({})))
                .collect(),
        }
    }

    fn result(id: &str) -> ParsedMessage {
        ParsedMessage::ToolResult {
            call_id: id.to_owned(),
            content: "ok".to_owned(),
            is_error: false,
        }
    }

    fn user() -> ParsedMessage {
        ParsedMessage::User("hi".to_owned())
    }

    #[test]
    fn each_call_answered_once_right_after_is_clean() {
        let messages = vec![
            user(),
            assistant_calling(&["a", "b"]),
            result("b"),
            result("a"),
        ];
        assert_eq!(tool_results(&messages), Vec::<String>::new());
    }

    #[test]
    fn late_missing_double_and_unknown_results_are_named() {
        let messages = vec![
            user(),
            assistant_calling(&["a", "b", "c"]),
            result("a"),
            result("a"),
            user(),
            result("b"),
            result("zzz"),
        ];
        assert_eq!(
            tool_results(&messages),
            vec![
                "tool call a (`read`) from assistant turn 1 has 2 tool results; expected exactly one",
                "tool call b (`read`) from assistant turn 1 is answered, but not right after that turn",
                "tool call c (`read`) from assistant turn 1 has no tool result",
                "tool result refers to unknown tool call id `zzz`",
            ]
        );
    }
}
