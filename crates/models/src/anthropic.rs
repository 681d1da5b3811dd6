//! The Anthropic messages protocol: the request body (with its strict user/assistant
//! alternation), the non-streaming answer and the accumulation of a streamed one.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::json;

use crate::ChatRequest;
use crate::ChatResponse;
use crate::ClientConfig;
use crate::Message;
use crate::StopReason;
use crate::TokenUsage;
use crate::ToolCall;
use crate::sse::SseEvent;
use crate::wire;
use crate::wire::StreamStep;
use crate::wire::WireError;

pub(crate) const API_VERSION: &str = "2023-06-01";

pub(crate) fn endpoint(base_url: &str) -> String {
    format!("{base_url}/v1/messages")
}

pub(crate) fn request_body(config: &ClientConfig, request: &ChatRequest) -> Value {
    let mut body = json!({
        "model": config.model,
        "max_tokens": config.max_output_tokens,
        "messages": messages(&request.messages),
    });
    if !request.system.is_empty() {
        body["system"] = json!(request.system);
    }
    if let Some(temperature) = config.temperature {
        body["temperature"] = wire::float(temperature);
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    if config.stream {
        body["stream"] = json!(true);
    }
    body
}

/// Maps the conversation to Anthropic's turns. Consecutive messages of one role become one
/// turn (the API wants user and assistant to alternate), so tool results and the user text
/// that follows them share a user turn, tool results first as the API requires. Assistant
/// messages with neither text nor tool calls are dropped: empty content is rejected.
fn messages(messages: &[Message]) -> Vec<Value> {
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in messages {
        let (role, blocks) = match message {
            Message::User(text) => ("user", vec![json!({"type": "text", "text": text})]),
            Message::ToolResult {
                call_id,
                content,
                is_error,
            } => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": content,
                    "is_error": is_error,
                })],
            ),
            Message::Assistant { text, tool_calls } => {
                let text = text.as_deref().filter(|text| !text.is_empty());
                let text_block = text.map(|text| json!({"type": "text", "text": text}));
                let tool_blocks = tool_calls.iter().map(|call| {
                    json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": tool_input(&call.arguments),
                    })
                });
                let blocks: Vec<Value> = text_block.into_iter().chain(tool_blocks).collect();
                if blocks.is_empty() {
                    continue;
                }
                ("assistant", blocks)
            }
        };
        match turns.last_mut() {
            Some((last_role, last_blocks)) if *last_role == role => last_blocks.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    turns
        .into_iter()
        .map(|(role, mut blocks)| {
            if role == "user" {
                // Stable: tool results keep their order, and so does the text after them.
                blocks.sort_by_key(|block| block["type"] != "tool_result");
            }
            match blocks.as_slice() {
                [only] if only["type"] == "text" => {
                    json!({"role": role, "content": only["text"]})
                }
                _ => json!({"role": role, "content": blocks}),
            }
        })
        .collect()
}

/// The `input` object of a `tool_use` block from the arguments' JSON text. Text that is not a
/// JSON object is kept, not lost, as `{"_raw": text}`, so the model sees what it sent.
fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({"_raw": arguments}),
    }
}

/// A complete (non-streaming) message.
pub(crate) fn parse_response(bytes: &[u8]) -> Result<ChatResponse, WireError> {
    let value = wire::parse_json(bytes, "a message")?;
    if wire::string(&value, "type") == Some("error") {
        return Err(in_band_error(&value));
    }
    let Some(content) = value.get("content").and_then(Value::as_array) else {
        return Err(WireError::Malformed(format!(
            "expected a `content` array in the message, found {}",
            wire::body_excerpt(bytes)
        )));
    };
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for (position, block) in content.iter().enumerate() {
        match wire::string(block, "type") {
            Some("text") => text.push_str(wire::string(block, "text").unwrap_or_default()),
            Some("tool_use") => tool_calls.push(tool_call(block, position)?),
            _ => {}
        }
    }
    let usage = value.get("usage").unwrap_or(&Value::Null);
    Ok(ChatResponse {
        text: (!text.is_empty()).then_some(text),
        tool_calls,
        stop: stop_reason(wire::string(&value, "stop_reason")),
        usage: TokenUsage {
            input_tokens: input_tokens(usage),
            output_tokens: wire::count(usage.get("output_tokens")),
        },
        attempts: 0,
    })
}

fn tool_call(block: &Value, position: usize) -> Result<ToolCall, WireError> {
    let (Some(id), Some(name)) = (wire::string(block, "id"), wire::string(block, "name")) else {
        return Err(WireError::Malformed(format!(
            "expected `id` and `name` in the tool_use block at content[{position}], found {}",
            wire::excerpt(&block.to_string())
        )));
    };
    Ok(ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: block
            .get("input")
            .map_or_else(String::new, Value::to_string),
    })
}

#[derive(Debug)]
enum Block {
    Text(String),
    /// A tool call whose `input` arrives as JSON text fragments.
    ToolUse(ToolCall),
    /// Thinking and other blocks this crate does not return.
    Other,
}

/// The state of a streamed message, fed one SSE event at a time.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    blocks: BTreeMap<u64, Block>,
    stop_reason: Option<String>,
    usage: TokenUsage,
}

impl StreamState {
    pub fn on_event(&mut self, event: &SseEvent) -> Result<StreamStep, WireError> {
        if event.data.trim().is_empty() {
            return Ok(StreamStep::Continue);
        }
        let data = wire::parse_json(event.data.as_bytes(), "a message stream event")?;
        let kind = wire::string(&data, "type").or(event.event.as_deref());
        match kind {
            Some("message_start") => {
                let usage = data.pointer("/message/usage").unwrap_or(&Value::Null);
                self.usage.input_tokens = input_tokens(usage);
                self.usage.output_tokens = wire::count(usage.get("output_tokens"));
            }
            Some("content_block_start") => {
                let index = block_index(&data)?;
                let block = data.get("content_block").unwrap_or(&Value::Null);
                let block = match wire::string(block, "type") {
                    Some("text") => {
                        Block::Text(wire::string(block, "text").unwrap_or_default().to_owned())
                    }
                    Some("tool_use") => {
                        let mut call = tool_call(block, index as usize)?;
                        // The full input arrives as deltas; the start carries `{}`.
                        call.arguments.clear();
                        Block::ToolUse(call)
                    }
                    _ => Block::Other,
                };
                self.blocks.insert(index, block);
            }
            Some("content_block_delta") => {
                let index = block_index(&data)?;
                let delta = data.get("delta").unwrap_or(&Value::Null);
                match (self.blocks.get_mut(&index), wire::string(delta, "type")) {
                    (Some(Block::Text(text)), Some("text_delta")) => {
                        text.push_str(wire::string(delta, "text").unwrap_or_default());
                    }
                    (Some(Block::ToolUse(call)), Some("input_json_delta")) => {
                        let fragment = wire::string(delta, "partial_json").unwrap_or_default();
                        call.arguments.push_str(fragment);
                    }
                    (None, _) => {
                        return Err(WireError::Malformed(format!(
                            "expected `content_block_start` for index {index} before its \
                             `content_block_delta`, found none"
                        )));
                    }
                    _ => {}
                }
            }
            Some("message_delta") => {
                if let Some(reason) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(reason.to_owned());
                }
                if let Some(usage) = data.get("usage").filter(|usage| usage.is_object()) {
                    if usage.get("output_tokens").is_some() {
                        self.usage.output_tokens = wire::count(usage.get("output_tokens"));
                    }
                    // Newer servers repeat the (cumulative) input count here.
                    self.usage.input_tokens = self.usage.input_tokens.max(input_tokens(usage));
                }
            }
            Some("message_stop") => return Ok(StreamStep::Done),
            Some("error") => return Err(in_band_error(&data)),
            _ => {}
        }
        Ok(StreamStep::Continue)
    }

    /// The answer once the stream ended. Without `message_stop` the stream counts as cut unless
    /// the `stop_reason` already arrived.
    pub fn finish(self, saw_end: bool) -> Result<ChatResponse, WireError> {
        if !saw_end && self.stop_reason.is_none() {
            return Err(WireError::Incomplete(
                "the event stream ended before `message_stop` and before any `stop_reason`"
                    .to_owned(),
            ));
        }
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        for block in self.blocks.into_values() {
            match block {
                Block::Text(part) => text.push_str(&part),
                Block::ToolUse(mut call) => {
                    if call.arguments.trim().is_empty() {
                        call.arguments = "{}".to_owned();
                    }
                    tool_calls.push(call);
                }
                Block::Other => {}
            }
        }
        Ok(ChatResponse {
            text: (!text.is_empty()).then_some(text),
            tool_calls,
            stop: stop_reason(self.stop_reason.as_deref()),
            usage: self.usage,
            attempts: 0,
        })
    }
}

fn block_index(data: &Value) -> Result<u64, WireError> {
    data.get("index").and_then(Value::as_u64).ok_or_else(|| {
        WireError::Malformed(format!(
            "expected a numeric `index` in the content block event, found {}",
            wire::excerpt(&data.to_string())
        ))
    })
}

/// Prompt tokens: Anthropic counts cache reads and writes apart from `input_tokens`.
fn input_tokens(usage: &Value) -> u64 {
    wire::count(usage.get("input_tokens"))
        .saturating_add(wire::count(usage.get("cache_creation_input_tokens")))
        .saturating_add(wire::count(usage.get("cache_read_input_tokens")))
}

fn stop_reason(reason: Option<&str>) -> StopReason {
    match reason {
        Some("end_turn" | "stop_sequence") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
        None => StopReason::Other(String::new()),
    }
}

/// `{"type": "error", "error": {"type": "overloaded_error", ...}}`, in a stream or a body. The
/// error type maps to the HTTP status Anthropic documents for it.
fn in_band_error(data: &Value) -> WireError {
    let status = match data.pointer("/error/type").and_then(Value::as_str) {
        Some("invalid_request_error") => 400,
        Some("authentication_error") => 401,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("request_too_large") => 413,
        Some("rate_limit_error") => 429,
        Some("overloaded_error") => 529,
        _ => 500,
    };
    WireError::InBand {
        status,
        body: wire::excerpt(&data.to_string()),
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
