//! Unit tests for the OpenAI mapping: compatible servers' quirks and stream accumulation.

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

fn data(value: Value) -> SseEvent {
    SseEvent {
        event: None,
        data: value.to_string(),
    }
}

fn stream(events: &[Value]) -> StreamState {
    let mut state = StreamState::default();
    for event in events {
        assert_eq!(
            state.on_event(&data(event.clone())),
            Ok(StreamStep::Continue)
        );
    }
    state
}

#[test]
fn fragments_are_joined_per_index_and_missing_ids_are_filled() {
    let state = stream(&[
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 1, "function": {"name": "b", "arguments": "{\"y\""}},
            {"index": 0, "id": "call_a", "function": {"name": "a", "arguments": ""}},
        ]}}]}),
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": "{}"}},
            {"index": 1, "function": {"arguments": ":2}"}},
        ]}}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
    ]);
    let response = state.finish(false).unwrap();
    assert_eq!(
        response.tool_calls,
        vec![
            ToolCall {
                id: "call_a".to_owned(),
                name: "a".to_owned(),
                arguments: "{}".to_owned(),
            },
            ToolCall {
                id: "call_1".to_owned(),
                name: "b".to_owned(),
                arguments: "{\"y\":2}".to_owned(),
            },
        ]
    );
    assert_eq!(response.stop, StopReason::ToolUse);
}

#[test]
fn a_stream_without_done_or_finish_reason_is_incomplete() {
    let state = stream(&[json!({"choices": [{"delta": {"content": "Hel"}}]})]);
    assert!(matches!(state.finish(false), Err(WireError::Incomplete(_))));
}

#[test]
fn an_error_chunk_is_an_in_band_status() {
    let mut state = StreamState::default();
    let error = state.on_event(&data(json!({"error": {"message": "boom", "code": 503}})));
    assert!(matches!(error, Err(WireError::InBand { status: 503, .. })));
    let error = state.on_event(&data(json!({"error": {"message": "boom", "code": "x"}})));
    assert!(matches!(error, Err(WireError::InBand { status: 500, .. })));
}

#[test]
fn compatible_server_quirks_are_accepted() {
    let body = json!({
        "choices": [{
            "message": {
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                "tool_calls": [{"function": {"name": "f", "arguments": {"k": 1}}}],
            },
            "finish_reason": "stop",
        }],
    });
    let response = parse_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        response,
        ChatResponse {
            text: Some("ab".to_owned()),
            tool_calls: vec![ToolCall {
                id: "call_0".to_owned(),
                name: "f".to_owned(),
                arguments: "{\"k\":1}".to_owned(),
            }],
            stop: StopReason::ToolUse,
            usage: TokenUsage::default(),
            attempts: 0,
        }
    );
}

#[test]
fn bodies_that_are_not_completions_are_malformed() {
    for body in [
        "",
        "not json",
        "{}",
        "{\"choices\": []}",
        "{\"choices\": [{}]}",
        "[1]",
    ] {
        assert!(
            matches!(
                parse_response(body.as_bytes()),
                Err(WireError::Malformed(_))
            ),
            "{body}"
        );
    }
    let nameless = json!({"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]});
    assert!(matches!(
        parse_response(nameless.to_string().as_bytes()),
        Err(WireError::Malformed(_))
    ));
}
