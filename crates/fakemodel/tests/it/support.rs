//! Shared helpers: the weather script, raw HTTP posting, and client-side reassembly of both
//! protocols' responses (written here independently of the server's renderers).

use apiwright_fakemodel::Conversation;
use apiwright_fakemodel::Script;
use apiwright_fakemodel::ScriptedCall;
use apiwright_fakemodel::Turn;
use serde_json::Value;
use serde_json::json;

pub const TOOL_RESULT: &str = "18°C, sunny";

/// Turn 0 calls `get_weather`; turn 1 answers in text and expects the tool result.
pub fn weather_script() -> Script {
    Script {
        conversations: vec![Conversation {
            name: "weather".to_owned(),
            matches: vec!["forecaster".to_owned(), "Paris".to_owned()],
            turns: vec![
                Turn {
                    text: Some("Let me check the weather.".to_owned()),
                    tool_calls: vec![ScriptedCall {
                        name: "get_weather".to_owned(),
                        arguments: json!({ "city": "Paris", "unit": "celsius" }),
                    }],
                    ..Turn::default()
                },
                Turn {
                    text: Some("It is 18 degrees and sunny in Paris.".to_owned()),
                    expect: vec!["18°C".to_owned()],
                    ..Turn::default()
                },
            ],
        }],
        ..Script::default()
    }
}

pub struct HttpReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

pub async fn post(url: &str, body: &Value, headers: &[(&str, &str)]) -> HttpReply {
    post_raw(url, body.to_string().into_bytes(), headers).await
}

pub async fn post_raw(url: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> HttpReply {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("whole body").to_vec();
    HttpReply {
        status,
        headers,
        body,
    }
}

/// `(event name, data)` per SSE frame.
pub fn sse_frames(body: &[u8]) -> Vec<(Option<String>, String)> {
    let text = std::str::from_utf8(body).expect("UTF-8 stream");
    assert!(
        text.ends_with("\n\n"),
        "stream ends with a complete frame: {text:?}"
    );
    text.split("\n\n")
        .filter(|frame| !frame.is_empty())
        .map(|frame| {
            let mut event = None;
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(payload) = line.strip_prefix("data: ") {
                    data.push_str(payload);
                } else {
                    panic!("unexpected SSE line {line:?}");
                }
            }
            (event, data)
        })
        .collect()
}

/// A reassembled assistant answer.
#[derive(Debug, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    /// `(id, name, arguments)`.
    pub calls: Vec<(String, String, Value)>,
    pub finish: String,
    pub usage: Option<(u64, u64)>,
    /// Streaming only: how many text deltas and argument fragments arrived.
    pub text_deltas: usize,
    pub argument_fragments: Vec<usize>,
}

pub mod openai {
    use super::*;

    pub fn request(messages: Vec<Value>, stream: bool) -> Value {
        json!({
            "model": "gpt-fake",
            "stream": stream,
            "stream_options": if stream { json!({ "include_usage": true }) } else { Value::Null },
            "tools": [{ "type": "function", "function": {
                "name": "get_weather",
                "parameters": { "type": "object", "properties": { "city": { "type": "string" } } },
            } }],
            "messages": messages,
        })
    }

    pub fn opening() -> Vec<Value> {
        vec![
            json!({ "role": "system", "content": "You are a forecaster." }),
            json!({ "role": "user", "content": "What is the weather in Paris?" }),
        ]
    }

    pub fn parse(body: &Value) -> Completion {
        assert_eq!(body["object"], "chat.completion");
        let choice = &body["choices"][0];
        assert_eq!(choice["index"], 0);
        let message = &choice["message"];
        assert_eq!(message["role"], "assistant");
        let calls = message["tool_calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .map(|call| {
                        assert_eq!(call["type"], "function");
                        let arguments = call["function"]["arguments"].as_str().expect("JSON text");
                        (
                            call["id"].as_str().unwrap().to_owned(),
                            call["function"]["name"].as_str().unwrap().to_owned(),
                            serde_json::from_str(arguments).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let usage = &body["usage"];
        assert_eq!(
            usage["total_tokens"].as_u64(),
            Some(
                usage["prompt_tokens"].as_u64().unwrap()
                    + usage["completion_tokens"].as_u64().unwrap()
            )
        );
        Completion {
            text: message["content"].as_str().unwrap_or_default().to_owned(),
            calls,
            finish: choice["finish_reason"].as_str().unwrap().to_owned(),
            usage: Some((
                usage["prompt_tokens"].as_u64().unwrap(),
                usage["completion_tokens"].as_u64().unwrap(),
            )),
            ..Completion::default()
        }
    }

    pub fn parse_stream(body: &[u8]) -> Completion {
        let frames = super::sse_frames(body);
        let (last_event, last_data) = frames.last().expect("frames");
        assert_eq!(
            (last_event.as_deref(), last_data.as_str()),
            (None, "[DONE]")
        );
        let mut completion = Completion::default();
        let mut arguments: Vec<String> = Vec::new();
        let mut saw_role = false;
        for (event, data) in &frames[..frames.len() - 1] {
            assert_eq!(event, &None);
            let chunk: Value = serde_json::from_str(data).unwrap();
            assert_eq!(chunk["object"], "chat.completion.chunk");
            if let Some(usage) = chunk.get("usage") {
                assert_eq!(chunk["choices"], json!([]));
                completion.usage = Some((
                    usage["prompt_tokens"].as_u64().unwrap(),
                    usage["completion_tokens"].as_u64().unwrap(),
                ));
                continue;
            }
            assert!(
                completion.finish.is_empty(),
                "no delta after the finish reason"
            );
            let choice = &chunk["choices"][0];
            let delta = &choice["delta"];
            if delta["role"] == "assistant" {
                saw_role = true;
            }
            if let Some(content) = delta["content"].as_str() {
                completion.text.push_str(content);
                completion.text_deltas += 1;
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = call["index"].as_u64().unwrap() as usize;
                if let Some(id) = call["id"].as_str() {
                    assert_eq!(
                        index,
                        completion.calls.len(),
                        "a new call starts with the next index"
                    );
                    completion.calls.push((
                        id.to_owned(),
                        call["function"]["name"].as_str().unwrap().to_owned(),
                        Value::Null,
                    ));
                    arguments.push(String::new());
                    completion.argument_fragments.push(0);
                }
                if let Some(fragment) = call["function"]["arguments"]
                    .as_str()
                    .filter(|f| !f.is_empty())
                {
                    arguments[index].push_str(fragment);
                    completion.argument_fragments[index] += 1;
                }
            }
            if let Some(finish) = choice["finish_reason"].as_str() {
                completion.finish = finish.to_owned();
            }
        }
        assert!(saw_role, "the first delta carries the role");
        for (call, arguments) in completion.calls.iter_mut().zip(arguments) {
            call.2 = serde_json::from_str(&arguments).unwrap();
        }
        completion
    }
}

pub mod anthropic {
    use super::*;

    pub fn request(messages: Vec<Value>, stream: bool) -> Value {
        json!({
            "model": "claude-fake",
            "max_tokens": 1024,
            "stream": stream,
            "system": "You are a forecaster.",
            "tools": [{ "name": "get_weather", "input_schema": { "type": "object" } }],
            "messages": messages,
        })
    }

    pub fn opening() -> Vec<Value> {
        vec![json!({ "role": "user", "content": "What is the weather in Paris?" })]
    }

    pub const HEADERS: &[(&str, &str)] = &[("anthropic-version", "2023-06-01")];

    pub fn parse(body: &Value) -> Completion {
        assert_eq!(body["type"], "message");
        assert_eq!(body["role"], "assistant");
        let mut completion = Completion::default();
        for block in body["content"].as_array().unwrap() {
            match block["type"].as_str().unwrap() {
                "text" => completion.text.push_str(block["text"].as_str().unwrap()),
                "tool_use" => completion.calls.push((
                    block["id"].as_str().unwrap().to_owned(),
                    block["name"].as_str().unwrap().to_owned(),
                    block["input"].clone(),
                )),
                other => panic!("unexpected block {other}"),
            }
        }
        completion.finish = body["stop_reason"].as_str().unwrap().to_owned();
        completion.usage = Some((
            body["usage"]["input_tokens"].as_u64().unwrap(),
            body["usage"]["output_tokens"].as_u64().unwrap(),
        ));
        completion
    }

    pub fn parse_stream(body: &[u8]) -> Completion {
        let frames = super::sse_frames(body);
        let names: Vec<&str> = frames
            .iter()
            .map(|(event, _)| event.as_deref().unwrap())
            .collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names.last(), Some(&"message_stop"));
        let mut completion = Completion::default();
        let mut input_tokens = 0;
        let mut open_block: Option<(usize, String, String)> = None; // (index, type, partial json)
        let mut next_index = 0;
        for (event, data) in &frames {
            let payload: Value = serde_json::from_str(data).unwrap();
            assert_eq!(
                payload["type"].as_str(),
                event.as_deref(),
                "event name equals data type"
            );
            match event.as_deref().unwrap() {
                "message_start" => {
                    input_tokens = payload["message"]["usage"]["input_tokens"]
                        .as_u64()
                        .unwrap()
                }
                "content_block_start" => {
                    assert!(open_block.is_none(), "blocks do not overlap");
                    let index = payload["index"].as_u64().unwrap() as usize;
                    assert_eq!(index, next_index);
                    let block = &payload["content_block"];
                    let kind = block["type"].as_str().unwrap().to_owned();
                    if kind == "tool_use" {
                        completion.calls.push((
                            block["id"].as_str().unwrap().to_owned(),
                            block["name"].as_str().unwrap().to_owned(),
                            Value::Null,
                        ));
                        completion.argument_fragments.push(0);
                    }
                    open_block = Some((index, kind, String::new()));
                }
                "content_block_delta" => {
                    let (index, kind, partial) = open_block.as_mut().expect("open block");
                    assert_eq!(payload["index"].as_u64().unwrap() as usize, *index);
                    let delta = &payload["delta"];
                    match (kind.as_str(), delta["type"].as_str().unwrap()) {
                        ("text", "text_delta") => {
                            completion.text.push_str(delta["text"].as_str().unwrap());
                            completion.text_deltas += 1;
                        }
                        ("tool_use", "input_json_delta") => {
                            partial.push_str(delta["partial_json"].as_str().unwrap());
                            *completion.argument_fragments.last_mut().unwrap() += 1;
                        }
                        other => panic!("unexpected delta {other:?}"),
                    }
                }
                "content_block_stop" => {
                    let (index, kind, partial) = open_block.take().expect("open block");
                    assert_eq!(payload["index"].as_u64().unwrap() as usize, index);
                    if kind == "tool_use" {
                        completion.calls.last_mut().unwrap().2 =
                            serde_json::from_str(&partial).unwrap();
                    }
                    next_index += 1;
                }
                "message_delta" => {
                    completion.finish =
                        payload["delta"]["stop_reason"].as_str().unwrap().to_owned();
                    completion.usage = Some((
                        input_tokens,
                        payload["usage"]["output_tokens"].as_u64().unwrap(),
                    ));
                }
                "message_stop" | "ping" => {}
                other => panic!("unexpected event {other}"),
            }
        }
        completion
    }
}
