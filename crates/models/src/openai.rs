//! The OpenAI-compatible chat-completions protocol: the request body, the non-streaming answer
//! and the accumulation of a streamed one. It is lenient where compatible servers (vLLM,
//! Ollama, llama.cpp) differ from OpenAI: missing tool-call ids or indices, `arguments` sent as
//! an object, `content` sent as a list of parts, a missing `[DONE]` after `finish_reason`.

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

pub(crate) fn endpoint(base_url: &str) -> String {
    format!("{base_url}/chat/completions")
}

pub(crate) fn request_body(config: &ClientConfig, request: &ChatRequest) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for message in &request.messages {
        messages.push(match message {
            Message::User(text) => json!({"role": "user", "content": text}),
            Message::Assistant { text, tool_calls } => {
                let mut assistant = json!({"role": "assistant", "content": text});
                if !tool_calls.is_empty() {
                    let calls: Vec<Value> = tool_calls
                        .iter()
                        .map(|call| {
                            json!({
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": call.arguments_json()},
                            })
                        })
                        .collect();
                    assistant["tool_calls"] = Value::Array(calls);
                }
                assistant
            }
            Message::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                let content = if *is_error {
                    format!("ERROR: {content}")
                } else {
                    content.clone()
                };
                json!({"role": "tool", "tool_call_id": call_id, "content": content})
            }
        });
    }
    let mut body = json!({
        "model": config.model,
        "messages": messages,
        "max_tokens": config.max_output_tokens,
    });
    if let Some(temperature) = config.temperature {
        body["temperature"] = wire::float(temperature);
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    if config.stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// A complete (non-streaming) chat completion.
pub(crate) fn parse_response(bytes: &[u8]) -> Result<ChatResponse, WireError> {
    let value = wire::parse_json(bytes, "a chat completion")?;
    if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
        return Err(in_band_error(error));
    }
    let Some(choice) = value.get("choices").and_then(|choices| choices.get(0)) else {
        return Err(WireError::Malformed(format!(
            "expected `choices[0]` in the chat completion, found {}",
            wire::body_excerpt(bytes)
        )));
    };
    let Some(message) = choice.get("message").filter(|message| message.is_object()) else {
        return Err(WireError::Malformed(format!(
            "expected an object at `choices[0].message`, found {}",
            wire::body_excerpt(bytes)
        )));
    };
    let mut text = String::new();
    push_content(&mut text, message.get("content"));
    let mut tool_calls = Vec::new();
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
        for (position, call) in calls.iter().enumerate() {
            let function = call.get("function").unwrap_or(&Value::Null);
            let name = wire::string(function, "name").unwrap_or_default();
            if name.is_empty() {
                return Err(WireError::Malformed(format!(
                    "expected `function.name` in `choices[0].message.tool_calls[{position}]`, found {}",
                    wire::excerpt(&call.to_string())
                )));
            }
            tool_calls.push(ToolCall {
                id: call_id(wire::string(call, "id"), position),
                name: name.to_owned(),
                arguments: wire::json_text(function.get("arguments")),
            });
        }
    }
    Ok(response(
        text,
        tool_calls,
        wire::string(choice, "finish_reason"),
        value.get("usage"),
    ))
}

/// The state of a streamed chat completion, fed one SSE event at a time.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    text: String,
    /// Tool calls by their `index`, whose `arguments` arrive in fragments.
    calls: BTreeMap<u64, ToolCall>,
    finish_reason: Option<String>,
    usage: Option<Value>,
}

impl StreamState {
    pub fn on_event(&mut self, event: &SseEvent) -> Result<StreamStep, WireError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok(StreamStep::Done);
        }
        if data.is_empty() {
            return Ok(StreamStep::Continue);
        }
        let chunk = wire::parse_json(data.as_bytes(), "a chat completion chunk")?;
        if let Some(error) = chunk.get("error").filter(|error| !error.is_null()) {
            return Err(in_band_error(error));
        }
        if let Some(usage) = chunk.get("usage").filter(|usage| usage.is_object()) {
            self.usage = Some(usage.clone());
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        let first_choice = choices.into_iter().flatten().find(|choice| {
            choice
                .get("index")
                .is_none_or(|index| index.as_u64() == Some(0))
        });
        let Some(choice) = first_choice else {
            return Ok(StreamStep::Continue);
        };
        if let Some(reason) = wire::string(choice, "finish_reason") {
            self.finish_reason = Some(reason.to_owned());
        }
        let Some(delta) = choice.get("delta") else {
            return Ok(StreamStep::Continue);
        };
        push_content(&mut self.text, delta.get("content"));
        for (position, fragment) in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let index = fragment
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let call = self.calls.entry(index).or_insert_with(|| ToolCall {
                id: String::new(),
                name: String::new(),
                arguments: String::new(),
            });
            if let Some(id) = wire::string(fragment, "id").filter(|id| !id.is_empty()) {
                id.clone_into(&mut call.id);
            }
            let function = fragment.get("function").unwrap_or(&Value::Null);
            if let Some(name) = wire::string(function, "name").filter(|name| !name.is_empty())
                && call.name.is_empty()
            {
                name.clone_into(&mut call.name);
            }
            call.arguments
                .push_str(&wire::json_text(function.get("arguments")));
        }
        Ok(StreamStep::Continue)
    }

    /// The answer once the stream ended. Without `[DONE]` the stream counts as cut unless a
    /// `finish_reason` already arrived (some compatible servers just close).
    pub fn finish(self, saw_end: bool) -> Result<ChatResponse, WireError> {
        if !saw_end && self.finish_reason.is_none() {
            return Err(WireError::Incomplete(
                "the event stream ended before `data: [DONE]` and before any `finish_reason`"
                    .to_owned(),
            ));
        }
        let mut tool_calls = Vec::with_capacity(self.calls.len());
        for (position, (index, mut call)) in self.calls.into_iter().enumerate() {
            if call.name.is_empty() {
                return Err(WireError::Malformed(format!(
                    "expected `function.name` for streamed tool call index {index}, found none"
                )));
            }
            if call.id.is_empty() {
                call.id = call_id(None, position);
            }
            tool_calls.push(call);
        }
        Ok(response(
            self.text,
            tool_calls,
            self.finish_reason.as_deref(),
            self.usage.as_ref(),
        ))
    }
}

fn response(
    text: String,
    tool_calls: Vec<ToolCall>,
    finish_reason: Option<&str>,
    usage: Option<&Value>,
) -> ChatResponse {
    let stop = match finish_reason {
        Some("stop") if !tool_calls.is_empty() => StopReason::ToolUse,
        Some("stop") => StopReason::EndTurn,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
        None => StopReason::Other(String::new()),
    };
    let usage = usage.unwrap_or(&Value::Null);
    ChatResponse {
        text: (!text.is_empty()).then_some(text),
        tool_calls,
        stop,
        usage: TokenUsage {
            input_tokens: wire::count(usage.get("prompt_tokens")),
            output_tokens: wire::count(usage.get("completion_tokens")),
        },
        attempts: 0,
    }
}

/// Appends `content`, which is a string, `null`, or (some servers) a list of `{type: "text",
/// text}` parts.
fn push_content(text: &mut String, content: Option<&Value>) {
    match content {
        Some(Value::String(part)) => text.push_str(part),
        Some(Value::Array(parts)) => {
            for part in parts {
                if let Some(part) = wire::string(part, "text") {
                    text.push_str(part);
                }
            }
        }
        _ => {}
    }
}

fn call_id(id: Option<&str>, position: usize) -> String {
    match id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("call_{position}"),
    }
}

/// `{"error": {"message", "type", "code"}}` inside a 2xx answer. Its numeric `code` is used as
/// the status when it is one; otherwise the failure is taken as a server error (500).
fn in_band_error(error: &Value) -> WireError {
    let status = error
        .get("code")
        .and_then(|code| {
            code.as_u64()
                .or_else(|| code.as_str().and_then(|code| code.parse().ok()))
        })
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (400..=599).contains(code))
        .unwrap_or(500);
    WireError::InBand {
        status,
        body: wire::excerpt(&error.to_string()),
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
