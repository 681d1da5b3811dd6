//! The Anthropic messages protocol, streaming and not.

use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::Protocol;
use serde_json::json;

use crate::openai::assert_timeline;
use crate::support::Completion;
use crate::support::TOOL_RESULT;
use crate::support::anthropic;
use crate::support::post;
use crate::support::weather_script;

async fn answer(url: &str, messages: &[serde_json::Value], stream: bool) -> Completion {
    let reply = post(
        url,
        &anthropic::request(messages.to_vec(), stream),
        anthropic::HEADERS,
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.headers.contains_key("request-id"));
    if stream {
        anthropic::parse_stream(&reply.body)
    } else {
        anthropic::parse(&reply.json())
    }
}

async fn tool_call_then_text(stream: bool) {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let url = format!("{}/v1/messages", model.anthropic_base_url());
    let mut messages = anthropic::opening();

    let first = answer(&url, &messages, stream).await;
    assert_eq!(first.text, "Let me check the weather.");
    let arguments = json!({ "city": "Paris", "unit": "celsius" });
    assert_eq!(
        first.calls,
        vec![(
            "toolu_weather_0_0".to_owned(),
            "get_weather".to_owned(),
            arguments.clone()
        )]
    );
    assert_eq!(first.finish, "tool_use");
    if stream {
        assert!(first.text_deltas >= 2, "text split: {first:?}");
        assert!(
            first.argument_fragments.iter().all(|count| *count >= 2),
            "input split: {first:?}"
        );
    }

    messages.push(json!({ "role": "assistant", "content": [
        { "type": "text", "text": first.text },
        { "type": "tool_use", "id": first.calls[0].0, "name": "get_weather", "input": arguments },
    ] }));
    messages.push(json!({ "role": "user", "content": [
        { "type": "tool_result", "tool_use_id": first.calls[0].0,
          "content": [{ "type": "text", "text": TOOL_RESULT }] },
    ] }));
    let second = answer(&url, &messages, stream).await;
    assert_eq!(second.text, "It is 18 degrees and sunny in Paris.");
    assert_eq!(second.calls, Vec::new());
    assert_eq!(second.finish, "end_turn");
    assert!(
        second
            .usage
            .is_some_and(|(input, output)| input > 0 && output > 0)
    );

    assert_eq!(model.violations(), Vec::<String>::new());
    let exchanges = model.exchanges();
    let summary: Vec<_> = exchanges
        .iter()
        .map(|exchange| {
            (
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
            (Protocol::Anthropic, Some("weather"), 0, stream, 200),
            (Protocol::Anthropic, Some("weather"), 1, stream, 200),
        ]
    );
    assert_timeline(&exchanges);
    model.shutdown().await;
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
    let url = format!("{}/v1/messages", model.anthropic_base_url());
    let messages = vec![
        json!({ "role": "user", "content": "What is the weather in Paris?" }),
        json!({ "role": "assistant", "content": [
            { "type": "tool_use", "id": "toolu_weather_0_0", "name": "get_weather", "input": {} },
        ] }),
        json!({ "role": "user", "content": [
            { "type": "tool_result", "tool_use_id": "toolu_weather_0_0", "content": TOOL_RESULT },
        ] }),
    ];
    let first = answer(&url, &messages, true).await;
    let again = answer(&url, &messages, true).await;
    assert_eq!(first, again);
    assert_eq!(first.text, "It is 18 degrees and sunny in Paris.");
    let turns: Vec<usize> = model
        .exchanges()
        .iter()
        .map(|exchange| exchange.turn)
        .collect();
    assert_eq!(turns, vec![1, 1]);
    assert_eq!(model.violations(), Vec::<String>::new());
    model.shutdown().await;
}

#[tokio::test]
async fn scripted_delay_is_recorded_and_waited() {
    let mut script = weather_script();
    script.conversations[0].turns[0].delay_ms = 30;
    let model = FakeModel::start(script).await.unwrap();
    let url = format!("{}/v1/messages", model.anthropic_base_url());
    answer(&url, &anthropic::opening(), false).await;
    let exchange = &model.exchanges()[0];
    assert_eq!(exchange.model_delay_ms, 30);
    assert!(
        exchange.answered_us - exchange.received_us >= 30_000,
        "{exchange:?}"
    );
    model.shutdown().await;
}
