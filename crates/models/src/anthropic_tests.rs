//! Unit tests for the Anthropic mapping: turn merging, tool input recovery, stream events.

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

fn call(id: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        name: "read".to_owned(),
        arguments: arguments.to_owned(),
    }
}

fn tool_result(id: &str) -> Message {
    Message::ToolResult {
        call_id: id.to_owned(),
        content: format!("result {id}"),
        is_error: false,
    }
}

#[test]
fn turns_alternate_and_tool_results_come_first() {
    let turns = messages(&[
        Message::User("go".to_owned()),
        Message::Assistant {
            text: None,
            tool_calls: vec![call("a", ""), call("b", "not json"), call("c", "[1]")],
        },
        tool_result("a"),
        Message::User("and then".to_owned()),
        tool_result("b"),
        Message::Assistant {
            text: Some(String::new()),
            tool_calls: Vec::new(),
        },
        tool_result("c"),
    ]);
    assert_eq!(
        Value::Array(turns),
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "a", "name": "read", "input": {}},
                {"type": "tool_use", "id": "b", "name": "read", "input": {"_raw": "not json"}},
                {"type": "tool_use", "id": "c", "name": "read", "input": {"_raw": "[1]"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "a", "content": "result a", "is_error": false},
                {"type": "tool_result", "tool_use_id": "b", "content": "result b", "is_error": false},
                {"type": "tool_result", "tool_use_id": "c", "content": "result c", "is_error": false},
                {"type": "text", "text": "and then"},
            ]},
        ])
    );
}

fn event(value: Value) -> SseEvent {
    SseEvent {
        event: value["type"].as_str().map(str::to_owned),
        data: value.to_string(),
    }
}

#[test]
fn stream_events_accumulate_blocks_usage_and_stop_reason() {
    let mut state = StreamState::default();
    let events = [
        json!({"type": "message_start", "message": {"usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "t1", "name": "read", "input": {}}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}}),
    ];
    for value in events {
        assert_eq!(state.on_event(&event(value)), Ok(StreamStep::Continue));
    }
    assert_eq!(
        state.on_event(&event(json!({"type": "message_stop"}))),
        Ok(StreamStep::Done)
    );
    assert_eq!(
        state.finish(true),
        Ok(ChatResponse {
            text: Some("Hi".to_owned()),
            tool_calls: vec![call("t1", "{}")],
            stop: StopReason::ToolUse,
            usage: TokenUsage {
                input_tokens: 15,
                output_tokens: 7,
            },
            attempts: 0,
        })
    );
}

#[test]
fn stream_errors_map_to_statuses() {
    let mut state = StreamState::default();
    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    assert!(matches!(
        state.on_event(&event(overloaded)),
        Err(WireError::InBand { status: 529, .. })
    ));
    let orphan = json!({"type": "content_block_delta", "index": 4, "delta": {"type": "text_delta", "text": "x"}});
    assert!(matches!(
        state.on_event(&event(orphan)),
        Err(WireError::Malformed(_))
    ));
    assert!(matches!(
        StreamState::default().finish(false),
        Err(WireError::Incomplete(_))
    ));
}

#[test]
fn bodies_that_are_not_messages_are_malformed() {
    for body in ["", "{}", "{\"content\": [{\"type\": \"tool_use\"}]}"] {
        assert!(
            matches!(
                parse_response(body.as_bytes()),
                Err(WireError::Malformed(_))
            ),
            "{body}"
        );
    }
}
