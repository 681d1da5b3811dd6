//! The OpenAI chat-completions protocol, streaming and not.

use apiwright_fakemodel::Exchange;
use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::Protocol;
use serde_json::json;

use crate::support::Completion;
use crate::support::TOOL_RESULT;
use crate::support::openai;
use crate::support::post;
use crate::support::weather_script;

async fn answer(url: &str, messages: &[serde_json::Value], stream: bool) -> Completion {
    let reply = post(url, &openai::request(messages.to_vec(), stream), &[]).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let content_type = reply.headers["content-type"].to_str().unwrap();
    if stream {
        assert_eq!(content_type, "text/event-stream");
        openai::parse_stream(&reply.body)
    } else {
        assert_eq!(content_type, "application/json");
        openai::parse(&reply.json())
    }
}

async fn tool_call_then_text(stream: bool) {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let url = format!("{}/chat/completions", model.openai_base_url());
    let mut messages = openai::opening();

    let first = answer(&url, &messages, stream).await;
    assert_eq!(first.text, "Let me check the weather.");
    let arguments = json!({ "city": "Paris", "unit": "celsius" });
    assert_eq!(
        first.calls,
        vec![(
            "call_weather_0_0".to_owned(),
            "get_weather".to_owned(),
            arguments.clone()
        )]
    );
    assert_eq!(first.finish, "tool_calls");
    assert!(first.usage.is_some(), "usage reported");
    if stream {
        assert!(first.text_deltas >= 2, "text split: {first:?}");
        assert!(
            first.argument_fragments.iter().all(|count| *count >= 2),
            "arguments split: {first:?}"
        );
    }

    messages.push(
        json!({ "role": "assistant", "content": first.text, "tool_calls": [{
        "id": first.calls[0].0, "type": "function",
        "function": { "name": "get_weather", "arguments": arguments.to_string() },
    }] }),
    );
    messages
        .push(json!({ "role": "tool", "tool_call_id": first.calls[0].0, "content": TOOL_RESULT }));
    let second = answer(&url, &messages, stream).await;
    assert_eq!(second.text, "It is 18 degrees and sunny in Paris.");
    assert_eq!(second.calls, Vec::new());
    assert_eq!(second.finish, "stop");

    assert_eq!(model.violations(), Vec::<String>::new());
    let exchanges = model.exchanges();
    let summary: Vec<_> = exchanges
        .iter()
        .map(|exchange| {
            (
                exchange.index,
                exchange.protocol,
                exchange.conversation.as_deref(),
                exchange.turn,
                exchange.stream,
                exchange.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, Protocol::OpenAi, Some("weather"), 0, stream, 200),
            (2, Protocol::OpenAi, Some("weather"), 1, stream, 200),
        ]
    );
    assert_timeline(&exchanges);
    model.shutdown().await;
}

/// Each response ends after it was received, and the client's next request comes later.
pub fn assert_timeline(exchanges: &[Exchange]) {
    for exchange in exchanges {
        assert!(exchange.answered_us >= exchange.received_us, "{exchange:?}");
    }
    for pair in exchanges.windows(2) {
        assert!(pair[1].received_us >= pair[0].answered_us, "{pair:?}");
    }
}

#[tokio::test]
async fn tool_call_then_text_without_streaming() {
    tool_call_then_text(false).await;
}

#[tokio::test]
async fn tool_call_then_text_streaming() {
    tool_call_then_text(true).await;
}

#[tokio::test]
async fn the_same_history_gets_the_same_turn() {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let url = format!("{}/chat/completions", model.openai_base_url());
    let messages = openai::opening();
    let first = answer(&url, &messages, false).await;
    let again = answer(&url, &messages, false).await;
    assert_eq!(first, again);
    let turns: Vec<usize> = model
        .exchanges()
        .iter()
        .map(|exchange| exchange.turn)
        .collect();
    assert_eq!(turns, vec![0, 0]);
    assert_eq!(model.violations(), Vec::<String>::new());
    model.shutdown().await;
}

#[tokio::test]
async fn default_usage_counts_request_bytes() {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let url = format!("{}/chat/completions", model.openai_base_url());
    let request = openai::request(openai::opening(), false);
    let reply = post(&url, &request, &[]).await;
    let usage = &reply.json()["usage"];
    assert_eq!(
        usage["prompt_tokens"].as_u64(),
        Some((request.to_string().len() / 4) as u64)
    );
    assert!(usage["completion_tokens"].as_u64().unwrap() >= 1);
    model.shutdown().await;
}
