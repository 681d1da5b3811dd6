//! OpenAI-compatible chat completions against the fake server: answers in both modes, tool
//! calls split across chunks, parallel calls, usage, and the exact request the server saw.

use apiwright_models::ChatResponse;
use apiwright_models::Protocol;
use apiwright_models::StopReason;
use apiwright_models::TokenUsage;
use pretty_assertions::assert_eq;
use serde_json::Value;
use serde_json::json;

use crate::support::FakeServer;
use crate::support::KEY;
use crate::support::Reply;
use crate::support::bounded;
use crate::support::call;
use crate::support::client;
use crate::support::conversation;
use crate::support::question;

fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
}

fn usage_chunk(prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-1",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    })
}

fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    })
}

fn tool_fragment(index: u64, id: Option<&str>, name: Option<&str>, arguments: &str) -> Value {
    let mut function = json!({"arguments": arguments});
    if let Some(name) = name {
        function["name"] = json!(name);
    }
    let mut fragment = json!({"index": index, "function": function});
    if let Some(id) = id {
        fragment["id"] = json!(id);
        fragment["type"] = json!("function");
    }
    chunk(json!({"tool_calls": [fragment]}), None)
}

async fn answer(reply: Reply, stream: bool) -> (ChatResponse, FakeServer) {
    let server = FakeServer::start(vec![reply]).await;
    let response = bounded(client(&server, Protocol::OpenAi, stream).complete(&question()))
        .await
        .unwrap();
    (response, server)
}

fn hello() -> ChatResponse {
    ChatResponse {
        text: Some("Hello!".to_owned()),
        tool_calls: Vec::new(),
        stop: StopReason::EndTurn,
        usage: TokenUsage {
            input_tokens: 12,
            output_tokens: 3,
        },
        attempts: 1,
    }
}

#[tokio::test]
async fn text_answer_whole() {
    let reply = Reply::json(
        200,
        completion(json!({"role": "assistant", "content": "Hello!"}), "stop"),
    );
    assert_eq!(answer(reply, false).await.0, hello());
}

#[tokio::test]
async fn text_answer_streamed() {
    let reply = Reply::events(&[
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Hel"}), None),
        chunk(json!({"content": "lo!"}), None),
        chunk(json!({}), Some("stop")),
        usage_chunk(12, 3),
        json!("[DONE]"),
    ]);
    assert_eq!(answer(reply, true).await.0, hello());
}

#[tokio::test]
async fn tool_call_whole() {
    let message = json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [{
            "id": "call_9",
            "type": "function",
            "function": {"name": "read_file", "arguments": "{\"path\": \"a.txt\"}"},
        }],
    });
    let reply = Reply::json(200, completion(message, "tool_calls"));
    let (response, _server) = answer(reply, false).await;
    assert_eq!(
        response,
        ChatResponse {
            text: None,
            tool_calls: vec![call("call_9", "read_file", r#"{"path": "a.txt"}"#)],
            stop: StopReason::ToolUse,
            usage: TokenUsage {
                input_tokens: 12,
                output_tokens: 3,
            },
            attempts: 1,
        }
    );
}

#[tokio::test]
async fn tool_call_arguments_split_across_chunks() {
    let reply = Reply::events(&[
        chunk(
            json!({"role": "assistant", "content": "Let me look."}),
            None,
        ),
        tool_fragment(0, Some("call_9"), Some("read_file"), ""),
        tool_fragment(0, None, None, "{\"pa"),
        tool_fragment(0, None, None, "th\": \"a"),
        tool_fragment(0, None, None, ".txt\"}"),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(40, 17),
        json!("[DONE]"),
    ]);
    let (response, _server) = answer(reply, true).await;
    assert_eq!(
        response,
        ChatResponse {
            text: Some("Let me look.".to_owned()),
            tool_calls: vec![call("call_9", "read_file", r#"{"path": "a.txt"}"#)],
            stop: StopReason::ToolUse,
            usage: TokenUsage {
                input_tokens: 40,
                output_tokens: 17,
            },
            attempts: 1,
        }
    );
}

#[tokio::test]
async fn two_parallel_tool_calls_streamed() {
    let reply = Reply::events(&[
        tool_fragment(0, Some("call_a"), Some("read_file"), "{\"path\":"),
        tool_fragment(1, Some("call_b"), Some("list_dir"), ""),
        tool_fragment(1, None, None, "{\"dir\": \"src\"}"),
        tool_fragment(0, None, None, " \"a.txt\"}"),
        chunk(json!({}), Some("tool_calls")),
        json!("[DONE]"),
    ]);
    let (response, _server) = answer(reply, true).await;
    assert_eq!(
        response.tool_calls,
        vec![
            call("call_a", "read_file", r#"{"path": "a.txt"}"#),
            call("call_b", "list_dir", r#"{"dir": "src"}"#),
        ]
    );
    // No usage chunk: zeros, not an error.
    assert_eq!(response.usage, TokenUsage::default());
}

#[tokio::test]
async fn two_parallel_tool_calls_whole() {
    let message = json!({
        "role": "assistant",
        "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}},
            {"id": "call_b", "type": "function", "function": {"name": "list_dir", "arguments": ""}},
        ],
    });
    let (response, _server) =
        answer(Reply::json(200, completion(message, "tool_calls")), false).await;
    assert_eq!(
        response.tool_calls,
        vec![
            call("call_a", "read_file", r#"{"path":"a.txt"}"#),
            call("call_b", "list_dir", ""),
        ]
    );
    assert_eq!(response.tool_calls[1].arguments_json(), "{}");
}

fn expected_request_body(stream: bool) -> Value {
    let mut body = json!({
        "model": "test-model",
        "max_tokens": 256,
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Read both files."},
            {
                "role": "assistant",
                "content": "Reading.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "alpha"},
            {"role": "tool", "tool_call_id": "call_2", "content": "ERROR: no such file"},
            {"role": "user", "content": "Now summarise."},
        ],
        "tools": [{
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Reads a file",
                "parameters": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"],
                },
            },
        }],
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[tokio::test]
async fn request_has_the_mapped_shape_and_bearer_auth() {
    for stream in [false, true] {
        let reply = if stream {
            Reply::events(&[
                chunk(json!({"content": "ok"}), Some("stop")),
                json!("[DONE]"),
            ])
        } else {
            Reply::json(200, completion(json!({"content": "ok"}), "stop"))
        };
        let server = FakeServer::start(vec![reply]).await;
        bounded(client(&server, Protocol::OpenAi, stream).complete(&conversation()))
            .await
            .unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(
            request.body,
            expected_request_body(stream),
            "stream: {stream}"
        );
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {KEY}").as_str()
        );
        assert_eq!(request.headers["content-type"], "application/json");
        assert!(request.headers.get("x-api-key").is_none());
        assert!(request.headers.get("anthropic-version").is_none());
    }
}

#[tokio::test]
async fn no_key_sends_no_auth_header_and_empty_parts_are_omitted() {
    let server = FakeServer::start(vec![Reply::json(
        200,
        completion(json!({"content": "ok"}), "stop"),
    )])
    .await;
    let mut config =
        crate::support::config(Protocol::OpenAi, server.base_url(Protocol::OpenAi), false);
    config.api_key = None;
    config.temperature = None;
    let client = apiwright_models::ModelClient::new(config).unwrap();
    let mut request = question();
    request.system = String::new();
    bounded(client.complete(&request)).await.unwrap();
    let recorded = &server.requests()[0];
    assert!(recorded.headers.get("authorization").is_none());
    assert_eq!(
        recorded.body,
        json!({
            "model": "test-model",
            "max_tokens": 256,
            "messages": [{"role": "user", "content": "Say hello."}],
        })
    );
}

#[tokio::test]
async fn length_finish_is_max_tokens() {
    let reply = Reply::json(200, completion(json!({"content": "Hel"}), "length"));
    assert_eq!(answer(reply, false).await.0.stop, StopReason::MaxTokens);
}
