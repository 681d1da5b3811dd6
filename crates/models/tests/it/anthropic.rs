//! Anthropic messages against the fake server: answers in both modes, tool input split across
//! `input_json_delta` events, parallel tool use, usage, and the exact request the server saw
//! (merged tool_result turn, `x-api-key`, `anthropic-version`).

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

pub fn message_start(input_tokens: u64) -> Value {
    json!({
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "test-model",
            "stop_reason": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    })
}

pub fn text_start(index: u64) -> Value {
    json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
}

pub fn text_delta(index: u64, text: &str) -> Value {
    json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})
}

fn tool_start(index: u64, id: &str, name: &str) -> Value {
    json!({
        "type": "content_block_start",
        "index": index,
        "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}},
    })
}

fn json_delta(index: u64, partial_json: &str) -> Value {
    json!({
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial_json},
    })
}

pub fn block_stop(index: u64) -> Value {
    json!({"type": "content_block_stop", "index": index})
}

pub fn message_delta(stop_reason: &str, output_tokens: u64) -> Value {
    json!({
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": {"output_tokens": output_tokens},
    })
}

pub fn message_stop() -> Value {
    json!({"type": "message_stop"})
}

fn message(content: Value, stop_reason: &str) -> Value {
    json!({
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "test-model",
        "content": content,
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 12, "output_tokens": 3},
    })
}

async fn answer(reply: Reply, stream: bool) -> ChatResponse {
    let server = FakeServer::start(vec![reply]).await;
    bounded(client(&server, Protocol::Anthropic, stream).complete(&question()))
        .await
        .unwrap()
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
    let body = message(json!([{"type": "text", "text": "Hello!"}]), "end_turn");
    assert_eq!(answer(Reply::json(200, body), false).await, hello());
}

#[tokio::test]
async fn text_answer_streamed() {
    let reply = Reply::events(&[
        message_start(12),
        text_start(0),
        json!({"type": "ping"}),
        text_delta(0, "Hel"),
        text_delta(0, "lo!"),
        block_stop(0),
        message_delta("end_turn", 3),
        message_stop(),
    ]);
    assert_eq!(answer(reply, true).await, hello());
}

#[tokio::test]
async fn tool_use_input_split_across_deltas() {
    let reply = Reply::events(&[
        message_start(40),
        text_start(0),
        text_delta(0, "Let me look."),
        block_stop(0),
        tool_start(1, "toolu_9", "read_file"),
        json_delta(1, ""),
        json_delta(1, "{\"pa"),
        json_delta(1, "th\": \"a"),
        json_delta(1, ".txt\"}"),
        block_stop(1),
        message_delta("tool_use", 17),
        message_stop(),
    ]);
    assert_eq!(
        answer(reply, true).await,
        ChatResponse {
            text: Some("Let me look.".to_owned()),
            tool_calls: vec![call("toolu_9", "read_file", r#"{"path": "a.txt"}"#)],
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
async fn two_parallel_tool_uses_streamed() {
    let reply = Reply::events(&[
        message_start(5),
        tool_start(0, "toolu_a", "read_file"),
        json_delta(0, "{\"path\": \"a.txt\"}"),
        block_stop(0),
        tool_start(1, "toolu_b", "list_dir"),
        block_stop(1),
        message_delta("tool_use", 9),
        message_stop(),
    ]);
    let response = answer(reply, true).await;
    assert_eq!(
        response.tool_calls,
        vec![
            call("toolu_a", "read_file", r#"{"path": "a.txt"}"#),
            // A tool called without arguments streams no input at all.
            call("toolu_b", "list_dir", "{}"),
        ]
    );
    assert_eq!(response.text, None);
}

#[tokio::test]
async fn tool_uses_whole() {
    let content = json!([
        {"type": "text", "text": "Both."},
        {"type": "tool_use", "id": "toolu_a", "name": "read_file", "input": {"path": "a.txt"}},
        {"type": "tool_use", "id": "toolu_b", "name": "list_dir", "input": {}},
    ]);
    let response = answer(Reply::json(200, message(content, "tool_use")), false).await;
    assert_eq!(
        response,
        ChatResponse {
            text: Some("Both.".to_owned()),
            tool_calls: vec![
                call("toolu_a", "read_file", r#"{"path":"a.txt"}"#),
                call("toolu_b", "list_dir", "{}"),
            ],
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
async fn max_tokens_stop() {
    let body = message(json!([{"type": "text", "text": "Hel"}]), "max_tokens");
    assert_eq!(
        answer(Reply::json(200, body), false).await.stop,
        StopReason::MaxTokens
    );
}

fn expected_request_body(stream: bool) -> Value {
    let mut body = json!({
        "model": "test-model",
        "max_tokens": 256,
        "temperature": 0.2,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Read both files."},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "call_1", "name": "read_file", "input": {"path": "a.txt"}},
                {"type": "tool_use", "id": "call_2", "name": "read_file", "input": {}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "alpha", "is_error": false},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "no such file", "is_error": true},
                {"type": "text", "text": "Now summarise."},
            ]},
        ],
        "tools": [{
            "name": "read_file",
            "description": "Reads a file",
            "input_schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        }],
    });
    if stream {
        body["stream"] = json!(true);
    }
    body
}

#[tokio::test]
async fn request_has_the_mapped_shape_and_anthropic_headers() {
    for stream in [false, true] {
        let reply = if stream {
            Reply::events(&[message_delta("end_turn", 1), message_stop()])
        } else {
            Reply::json(200, message(json!([]), "end_turn"))
        };
        let server = FakeServer::start(vec![reply]).await;
        bounded(client(&server, Protocol::Anthropic, stream).complete(&conversation()))
            .await
            .unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.path, "/v1/messages");
        assert_eq!(
            request.body,
            expected_request_body(stream),
            "stream: {stream}"
        );
        assert_eq!(request.headers["x-api-key"], KEY);
        assert_eq!(request.headers["anthropic-version"], "2023-06-01");
        assert!(request.headers.get("authorization").is_none());
    }
}

#[tokio::test]
async fn invalid_tool_arguments_are_kept_raw() {
    let server = FakeServer::start(vec![Reply::json(200, message(json!([]), "end_turn"))]).await;
    let mut request = conversation();
    request.messages[1] = apiwright_models::Message::Assistant {
        text: None,
        tool_calls: vec![call("call_1", "read_file", "{\"path\": ")],
    };
    request.messages.truncate(3);
    bounded(client(&server, Protocol::Anthropic, false).complete(&request))
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].body["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_1", "name": "read_file", "input": {"_raw": "{\"path\": "}},
        ]})
    );
}
