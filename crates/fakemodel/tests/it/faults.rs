//! Injected faults: error statuses with `Retry-After`, and streams cut mid-way.

use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::Fault;
use apiwright_fakemodel::Script;
use serde_json::json;

use crate::support::anthropic;
use crate::support::openai;
use crate::support::post;
use crate::support::weather_script;

#[tokio::test]
async fn a_429_fault_carries_retry_after_and_the_retry_gets_the_same_turn() {
    let fault = Fault {
        request: 2,
        status: 429,
        retry_after_secs: Some(7),
        cut_stream: false,
    };
    let model = FakeModel::start(Script {
        faults: vec![fault],
        ..weather_script()
    })
    .await
    .unwrap();
    let url = format!("{}/chat/completions", model.openai_base_url());
    let request = openai::request(openai::opening(), false);
    let first = post(&url, &request, &[]).await;
    let limited = post(&url, &request, &[]).await;
    let retried = post(&url, &request, &[]).await;
    assert_eq!(
        (first.status, limited.status, retried.status),
        (200, 429, 200)
    );
    assert_eq!(limited.headers["retry-after"], "7");
    assert_eq!(limited.json()["error"]["code"], "rate_limit_exceeded");
    assert_eq!(
        first.json()["choices"][0]["message"],
        retried.json()["choices"][0]["message"]
    );
    let statuses: Vec<(u16, usize)> = model
        .exchanges()
        .iter()
        .map(|exchange| (exchange.status, exchange.turn))
        .collect();
    assert_eq!(statuses, vec![(200, 0), (429, 0), (200, 0)]);
    assert_eq!(model.violations(), Vec::<String>::new());
    model.shutdown().await;
}

#[tokio::test]
async fn a_529_fault_is_an_anthropic_overloaded_error() {
    let fault = Fault {
        request: 1,
        status: 529,
        retry_after_secs: None,
        cut_stream: false,
    };
    let model = FakeModel::start(Script {
        faults: vec![fault],
        ..weather_script()
    })
    .await
    .unwrap();
    let url = format!("{}/v1/messages", model.anthropic_base_url());
    let reply = post(
        &url,
        &anthropic::request(anthropic::opening(), true),
        anthropic::HEADERS,
    )
    .await;
    assert_eq!(reply.status, 529);
    assert!(!reply.headers.contains_key("retry-after"));
    assert_eq!(
        reply.json(),
        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "scripted fault" } })
    );
    model.shutdown().await;
}

/// Reads a streamed response chunk by chunk until it ends or fails.
async fn read_stream(
    url: &str,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> (u16, String, bool) {
    let mut request = reqwest::Client::new().post(url).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let mut received = Vec::new();
    let failed = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    (status, String::from_utf8(received).unwrap(), failed)
}

#[tokio::test]
async fn a_cut_stream_sends_200_and_some_frames_then_closes() {
    let faults = vec![
        Fault {
            request: 1,
            status: 200,
            retry_after_secs: None,
            cut_stream: true,
        },
        Fault {
            request: 2,
            status: 200,
            retry_after_secs: None,
            cut_stream: true,
        },
    ];
    let model = FakeModel::start(Script {
        faults,
        ..weather_script()
    })
    .await
    .unwrap();

    let openai_url = format!("{}/chat/completions", model.openai_base_url());
    let (status, received, failed) =
        read_stream(&openai_url, &openai::request(openai::opening(), true), &[]).await;
    assert_eq!(status, 200);
    assert!(failed, "the connection is cut: {received}");
    assert!(received.starts_with("data: {"), "{received}");
    assert!(!received.contains("[DONE]"), "{received}");

    let anthropic_url = format!("{}/v1/messages", model.anthropic_base_url());
    let request = anthropic::request(anthropic::opening(), true);
    let (status, received, failed) =
        read_stream(&anthropic_url, &request, anthropic::HEADERS).await;
    assert_eq!(status, 200);
    assert!(failed, "the connection is cut: {received}");
    assert!(received.starts_with("event: message_start"), "{received}");
    assert!(!received.contains("message_stop"), "{received}");

    // Request 3 has no fault: the same request is now answered in full.
    let (status, received, failed) =
        read_stream(&anthropic_url, &request, anthropic::HEADERS).await;
    assert_eq!((status, failed), (200, false));
    assert_eq!(
        anthropic::parse_stream(received.as_bytes()).finish,
        "tool_use"
    );

    let statuses: Vec<u16> = model
        .exchanges()
        .iter()
        .map(|exchange| exchange.status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 200]);
    assert_eq!(model.violations(), Vec::<String>::new());
    model.shutdown().await;
}
