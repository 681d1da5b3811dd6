//! The OpenAI chat-completions protocol, written from its JSON: reading a request into a
//! [`ParsedRequest`], rendering an [`Answer`] as a `chat.completion` or as
//! `chat.completion.chunk` SSE frames, and the error body.

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
    let stream = object
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let include_usage = object
        .get("stream_options")
        .and_then(|options| options.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(raw_messages) = object.get("messages").and_then(Value::as_array) else {
        return Err(Malformed("`messages` must be an array".to_owned()));
    };
    let mut system_parts = Vec::new();
    let mut messages = Vec::new();
    for (position, raw_message) in raw_messages.iter().enumerate() {
        let number = position + 1;
        let Some(role) = raw_message.get("role").and_then(Value::as_str) else {
            return Err(Malformed(format!("message {number} has no `role`")));
        };
        let content = raw_message.get("content");
        match role {
            "system" | "developer" => system_parts.push(text_of(content)),
            "user" => messages.push(ParsedMessage::User(text_of(content))),
            "assistant" => {
                let text = Some(text_of(content)).filter(|text| !text.is_empty());
                let tool_calls = parse_tool_calls(raw_message, number, &mut violations);
                messages.push(ParsedMessage::Assistant { text, tool_calls });
            }
            "tool" => {
                let call_id = match raw_message.get("tool_call_id").and_then(Value::as_str) {
                    Some(call_id) => call_id.to_owned(),
                    None => {
                        violations.push(format!("tool message {number} has no `tool_call_id`"));
                        String::new()
                    }
                };
                messages.push(ParsedMessage::ToolResult {
                    call_id,
                    content: text_of(content),
                    is_error: false,
                });
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
                .filter_map(|tool| tool.pointer("/function/name").and_then(Value::as_str))
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
            protocol: Protocol::OpenAi,
            model,
            stream,
            system: system_parts.join("\n"),
            messages,
            tools,
            turn,
        },
        include_usage,
        violations,
    })
}

fn parse_tool_calls(
    raw_message: &Value,
    number: usize,
    violations: &mut Vec<String>,
) -> Vec<(String, String, Value)> {
    let Some(raw_calls) = raw_message.get("tool_calls").and_then(Value::as_array) else {
        return Vec::new();
    };
    raw_calls
        .iter()
        .map(|raw_call| {
            let id = raw_call.get("id").and_then(Value::as_str).unwrap_or_default();
            if id.is_empty() {
                violations.push(format!("a tool call in message {number} has no `id`"));
            }
            let name = raw_call
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let raw_arguments = raw_call
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let arguments = match serde_json::from_str(raw_arguments) {
                Ok(arguments) => arguments,
                Err(error) => {
                    violations.push(format!(
                        "tool call {id} in message {number} has arguments that are not JSON text: {error}"
                    ));
                    Value::String(raw_arguments.to_owned())
                }
            };
            (id.to_owned(), name.to_owned(), arguments)
        })
        .collect()
}

fn finish_reason(answer: &Answer) -> &'static str {
    if answer.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

fn usage(answer: &Answer) -> Value {
    json!({
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
    })
}

/// A non-streaming `chat.completion`.
pub(crate) fn render(answer: &Answer) -> Value {
    let mut message = json!({ "role": "assistant", "content": answer.text });
    if !answer.tool_calls.is_empty() {
        message["tool_calls"] = answer
            .tool_calls
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "type": "function",
                    "function": { "name": call.name, "arguments": call.arguments.to_string() },
                })
            })
            .collect();
    }
    json!({
        "id": answer.response_id,
        "object": "chat.completion",
        "created": sse::unix_seconds(),
        "model": answer.model,
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason(answer) }],
        "usage": usage(answer),
    })
}

/// The SSE frames of a streamed answer, `data: [DONE]` included.
pub(crate) fn render_stream(answer: &Answer) -> Vec<Bytes> {
    let created = sse::unix_seconds();
    let chunk = |delta: Value, finish_reason: Option<&str>| {
        sse::data(&json!({
            "id": answer.response_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
        }))
    };
    let mut frames = vec![chunk(json!({ "role": "assistant" }), None)];
    if let Some(text) = &answer.text {
        for fragment in sse::fragments(text) {
            frames.push(chunk(json!({ "content": fragment }), None));
        }
    }
    for (index, call) in answer.tool_calls.iter().enumerate() {
        frames.push(chunk(
            json!({ "tool_calls": [{
                "index": index,
                "id": call.id,
                "type": "function",
                "function": { "name": call.name, "arguments": "" },
            }] }),
            None,
        ));
        for fragment in sse::fragments(&call.arguments.to_string()) {
            frames.push(chunk(
                json!({ "tool_calls": [{ "index": index, "function": { "arguments": fragment } }] }),
                None,
            ));
        }
    }
    frames.push(chunk(json!({}), Some(finish_reason(answer))));
    if answer.include_usage {
        frames.push(sse::data(&json!({
            "id": answer.response_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [],
            "usage": usage(answer),
        })));
    }
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

/// The error body OpenAI sends with a non-2xx status.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let (error_type, code) = match status {
        400 => ("invalid_request_error", Value::Null),
        401 => ("invalid_request_error", json!("invalid_api_key")),
        404 => ("invalid_request_error", json!("unknown_url")),
        429 => ("requests", json!("rate_limit_exceeded")),
        _ => ("server_error", Value::Null),
    };
    json!({ "error": { "message": message, "type": error_type, "param": null, "code": code } })
}
