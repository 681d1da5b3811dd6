//! The Anthropic messages protocol, written from its JSON: reading a request into a
//! [`ParsedRequest`] (checking role alternation and block placement on the way), rendering an
//! [`Answer`] as a `message` or as its SSE event sequence, and the error body.

use bytes::Bytes;
use serde_json::Value;
use serde_json::json;

use crate::request::Answer;
use crate::request::Malformed;
use crate::request::Parsed;
use crate::request::ParsedMessage;
use crate::request::ParsedRequest;
use crate::request::Protocol;
use crate::request::text_of;
use crate::sse;

pub(crate) fn parse(body: &Value) -> Result<Parsed, Malformed> {
    let Some(object) = body.as_object() else {
        return Err(Malformed("request body must be a JSON object".to_owned()));
    };
    let mut violations = Vec::new();
    let model = match object.get("model").and_then(Value::as_str) {
        Some(model) => model.to_owned(),
        None => {
            violations.push("missing `model`".to_owned());
            String::new()
        }
    };
    if object.get("max_tokens").and_then(Value::as_u64).is_none() {
        violations.push("missing `max_tokens`".to_owned());
    }
    let stream = object
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(raw_messages) = object.get("messages").and_then(Value::as_array) else {
        return Err(Malformed("`messages` must be an array".to_owned()));
    };
    let mut messages = Vec::new();
    let mut previous_role = None;
    for (position, raw_message) in raw_messages.iter().enumerate() {
        let number = position + 1;
        let Some(role) = raw_message.get("role").and_then(Value::as_str) else {
            return Err(Malformed(format!("message {number} has no `role`")));
        };
        match (previous_role, role) {
            (None, "assistant") => {
                violations.push("the first message must have role `user`".to_owned());
            }
            (Some(previous), current) if previous == current => violations.push(format!(
                "messages {} and {number} both have role `{current}`; roles must alternate",
                number - 1
            )),
            _ => {}
        }
        previous_role = Some(role);
        let content = raw_message.get("content");
        match role {
            "user" => read_user_content(content, number, &mut messages, &mut violations),
            "assistant" => {
                messages.push(read_assistant_content(content, number, &mut violations));
            }
            other => violations.push(format!("message {number} has unknown role `{other}`")),
        }
    }
    let tools = object
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| tool.get("name").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let turn = messages
        .iter()
        .filter(|message| matches!(message, ParsedMessage::Assistant { .. }))
        .count();
    Ok(Parsed {
        request: ParsedRequest {
            protocol: Protocol::Anthropic,
            model,
            stream,
            system: text_of(object.get("system")),
            messages,
            tools,
            turn,
        },
        include_usage: false,
        violations,
    })
}

/// Appends one message per run of text blocks and one per `tool_result` block, in order.
fn read_user_content(
    content: Option<&Value>,
    number: usize,
    messages: &mut Vec<ParsedMessage>,
    violations: &mut Vec<String>,
) {
    let Some(blocks) = content.and_then(Value::as_array) else {
        messages.push(ParsedMessage::User(text_of(content)));
        return;
    };
    let mut text = None::<String>;
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let block_text = block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                text.get_or_insert_default().push_str(block_text);
            }
            Some("tool_result") => {
                if let Some(text) = text.take() {
                    messages.push(ParsedMessage::User(text));
                }
                let call_id = block.get("tool_use_id").and_then(Value::as_str);
                if call_id.is_none() {
                    violations.push(format!(
                        "a tool_result in message {number} has no `tool_use_id`"
                    ));
                }
                messages.push(ParsedMessage::ToolResult {
                    call_id: call_id.unwrap_or_default().to_owned(),
                    content: text_of(block.get("content")),
                    is_error: block
                        .get("is_error")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                });
            }
            Some("tool_use") => {
                violations.push(format!(
                    "message {number} is a user message with a tool_use block"
                ));
            }
            // Images, documents and other blocks carry nothing a script matches on.
            _ => {}
        }
    }
    if let Some(text) = text {
        messages.push(ParsedMessage::User(text));
    }
}

fn read_assistant_content(
    content: Option<&Value>,
    number: usize,
    violations: &mut Vec<String>,
) -> ParsedMessage {
    let Some(blocks) = content.and_then(Value::as_array) else {
        let text = Some(text_of(content)).filter(|text| !text.is_empty());
        return ParsedMessage::Assistant {
            text,
            tool_calls: Vec::new(),
        };
    };
    let mut text = None::<String>;
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let block_text = block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                text.get_or_insert_default().push_str(block_text);
            }
            Some("tool_use") => {
                let id = block.get("id").and_then(Value::as_str).unwrap_or_default();
                if id.is_empty() {
                    violations.push(format!("a tool_use in message {number} has no `id`"));
                }
                let name = block
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let input = block.get("input").cloned().unwrap_or(Value::Null);
                if !input.is_object() {
                    violations.push(format!(
                        "tool_use {id} in message {number} has an `input` that is not an object"
                    ));
                }
                tool_calls.push((id.to_owned(), name.to_owned(), input));
            }
            Some("tool_result") => violations.push(format!(
                "message {number} is an assistant message with a tool_result block"
            )),
            _ => {}
        }
    }
    ParsedMessage::Assistant {
        text: text.filter(|text| !text.is_empty()),
        tool_calls,
    }
}

fn stop_reason(answer: &Answer) -> &'static str {
    if answer.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

/// A non-streaming `message`.
pub(crate) fn render(answer: &Answer) -> Value {
    let mut content = Vec::new();
    if let Some(text) = answer.text.as_ref().filter(|text| !text.is_empty()) {
        content.push(json!({ "type": "text", "text": text }));
    }
    for call in &answer.tool_calls {
        content.push(json!({
            "type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments,
        }));
    }
    json!({
        "id": answer.response_id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": stop_reason(answer),
        "stop_sequence": null,
        "usage": { "input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens },
    })
}

/// The SSE events of a streamed answer, from `message_start` to `message_stop`.
pub(crate) fn render_stream(answer: &Answer) -> Vec<Bytes> {
    let mut frames = vec![sse::event(
        "message_start",
        &json!({ "type": "message_start", "message": {
            "id": answer.response_id,
            "type": "message",
            "role": "assistant",
            "model": answer.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": { "input_tokens": answer.input_tokens, "output_tokens": 1 },
        } }),
    )];
    let mut index = 0;
    if let Some(text) = answer.text.as_ref().filter(|text| !text.is_empty()) {
        frames.push(sse::event(
            "content_block_start",
            &json!({ "type": "content_block_start", "index": index,
                     "content_block": { "type": "text", "text": "" } }),
        ));
        for fragment in sse::fragments(text) {
            frames.push(sse::event(
                "content_block_delta",
                &json!({ "type": "content_block_delta", "index": index,
                         "delta": { "type": "text_delta", "text": fragment } }),
            ));
        }
        frames.push(block_stop(index));
        index += 1;
    }
    for call in &answer.tool_calls {
        frames.push(sse::event(
            "content_block_start",
            &json!({ "type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": call.id, "name": call.name, "input": {},
            } }),
        ));
        for fragment in sse::fragments(&call.arguments.to_string()) {
            frames.push(sse::event(
                "content_block_delta",
                &json!({ "type": "content_block_delta", "index": index,
                         "delta": { "type": "input_json_delta", "partial_json": fragment } }),
            ));
        }
        frames.push(block_stop(index));
        index += 1;
    }
    frames.push(sse::event(
        "message_delta",
        &json!({ "type": "message_delta",
                 "delta": { "stop_reason": stop_reason(answer), "stop_sequence": null },
                 "usage": { "output_tokens": answer.output_tokens } }),
    ));
    frames.push(sse::event(
        "message_stop",
        &json!({ "type": "message_stop" }),
    ));
    frames
}

fn block_stop(index: usize) -> Bytes {
    sse::event(
        "content_block_stop",
        &json!({ "type": "content_block_stop", "index": index }),
    )
}

/// The error body Anthropic sends with a non-2xx status.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let error_type = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json!({ "type": "error", "error": { "type": error_type, "message": message } })
}
