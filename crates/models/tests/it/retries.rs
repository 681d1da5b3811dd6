//! Retries and failures: which statuses are retried and how often, `Retry-After`, cut streams,
//! refused connections and timeouts, and that errors say where they happened.

use std::time::Duration;

use apiwright_models::ModelClient;
use apiwright_models::ModelError;
use apiwright_models::Protocol;
use apiwright_models::RetryPolicy;
use serde_json::Value;
use serde_json::json;

use crate::anthropic::block_stop;
use crate::anthropic::message_delta;
use crate::anthropic::message_start;
use crate::anthropic::message_stop;
use crate::anthropic::text_delta;
use crate::anthropic::text_start;
use crate::support::FakeServer;
use crate::support::Reply;
use crate::support::bounded;
use crate::support::client;
use crate::support::config;
use crate::support::fast_retries;
use crate::support::question;
use crate::support::sse_frame;

fn openai_ok() -> Reply {
    Reply::json(
        200,
        json!({"choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}]}),
    )
}

fn openai_chunk(content: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
}

fn openai_stream_ok() -> Reply {
    Reply::events(&[
        openai_chunk("o"),
        openai_chunk("k"),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        json!("[DONE]"),
    ])
}

fn anthropic_stream_ok() -> Reply {
    Reply::events(&[
        message_start(3),
        text_start(0),
        text_delta(0, "ok"),
        block_stop(0),
        message_delta("end_turn", 1),
        message_stop(),
    ])
}

fn client_with(
    server: &FakeServer,
    protocol: Protocol,
    stream: bool,
    retry: RetryPolicy,
) -> ModelClient {
    let mut config = config(protocol, server.base_url(protocol), stream);
    config.retry = retry;
    ModelClient::new(config).unwrap()
}

#[tokio::test]
async fn rate_limit_with_retry_after_zero_then_success() {
    let server = FakeServer::start(vec![
        Reply::status(429, vec![("retry-after", "0")]),
        openai_ok(),
    ])
    .await;
    // A minute of backoff: only honouring `Retry-After: 0` finishes in time.
    let patient = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(60),
    };
    let response =
        bounded(client_with(&server, Protocol::OpenAi, false, patient).complete(&question()))
            .await
            .unwrap();
    assert_eq!(response.attempts, 2);
    assert_eq!(response.text.as_deref(), Some("ok"));
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn retry_after_ms_is_honoured() {
    let server = FakeServer::start(vec![
        Reply::status(529, vec![("retry-after-ms", "1"), ("retry-after", "60")]),
        anthropic_stream_ok(),
    ])
    .await;
    let patient = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(60),
    };
    let response =
        bounded(client_with(&server, Protocol::Anthropic, true, patient).complete(&question()))
            .await
            .unwrap();
    assert_eq!(response.attempts, 2);
}

#[tokio::test]
async fn server_errors_twice_then_success() {
    let server = FakeServer::start(vec![
        Reply::status(500, Vec::new()),
        Reply::status(500, Vec::new()),
        openai_stream_ok(),
    ])
    .await;
    let response = bounded(client(&server, Protocol::OpenAi, true).complete(&question()))
        .await
        .unwrap();
    assert_eq!(response.attempts, 3);
    assert_eq!(response.text.as_deref(), Some("ok"));
}

#[tokio::test]
async fn rate_limited_forever_gives_up_after_max_retries() {
    for protocol in [Protocol::OpenAi, Protocol::Anthropic] {
        let server = FakeServer::start(vec![Reply::status(429, Vec::new())]).await;
        let error =
            bounded(client_with(&server, protocol, false, fast_retries(4)).complete(&question()))
                .await
                .unwrap_err();
        assert!(
            matches!(
                error,
                ModelError::Status {
                    status: 429,
                    attempts: 5,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.is_retryable());
        assert_eq!(server.request_count(), 5);
        let message = error.to_string();
        assert!(
            message.contains("HTTP 429") && message.contains(&server.origin),
            "{message}"
        );
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = FakeServer::start(vec![Reply::status(400, Vec::new()), openai_ok()]).await;
    let error = bounded(client(&server, Protocol::OpenAi, false).complete(&question()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::Status { status: 400, attempts: 1, body, .. } if body.contains("scripted 400")),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn stream_aborted_midway_is_retried() {
    let cut = Reply::Abort(vec![sse_frame(&openai_chunk("o"))]);
    let server = FakeServer::start(vec![cut, openai_stream_ok()]).await;
    let response = bounded(client(&server, Protocol::OpenAi, true).complete(&question()))
        .await
        .unwrap();
    assert_eq!(response.attempts, 2);
    assert_eq!(response.text.as_deref(), Some("ok"));
}

#[tokio::test]
async fn stream_closed_before_its_end_is_retried() {
    for (protocol, cut, good) in [
        (
            Protocol::Anthropic,
            Reply::events(&[message_start(3), text_start(0), text_delta(0, "o")]),
            anthropic_stream_ok(),
        ),
        (
            Protocol::OpenAi,
            // Cut inside an event: the last frame has no blank line and is not valid JSON.
            Reply::Stream(vec![
                sse_frame(&openai_chunk("o")),
                "data: {\"choi".to_owned(),
            ]),
            openai_stream_ok(),
        ),
    ] {
        let server = FakeServer::start(vec![cut, good]).await;
        let response = bounded(client(&server, protocol, true).complete(&question()))
            .await
            .unwrap();
        assert_eq!(response.attempts, 2, "{protocol:?}");
        assert_eq!(response.text.as_deref(), Some("ok"));
    }
}

#[tokio::test]
async fn stream_cut_on_every_attempt_is_a_transport_error() {
    let server = FakeServer::start(vec![Reply::Abort(vec![sse_frame(&openai_chunk("o"))])]).await;
    let error = bounded(
        client_with(&server, Protocol::OpenAi, true, fast_retries(1)).complete(&question()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, ModelError::Transport { attempts: 2, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn overloaded_error_event_is_retried() {
    let overloaded = Reply::events(&[
        message_start(3),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]);
    let server = FakeServer::start(vec![overloaded, anthropic_stream_ok()]).await;
    let response = bounded(client(&server, Protocol::Anthropic, true).complete(&question()))
        .await
        .unwrap();
    assert_eq!(response.attempts, 2);
}

#[tokio::test]
async fn unparseable_answer_is_a_protocol_error_and_not_retried() {
    let garbage = Reply::Whole {
        status: 200,
        headers: Vec::new(),
        content_type: "application/json",
        body: "<html>proxy error</html>".to_owned(),
    };
    let server = FakeServer::start(vec![garbage, openai_ok()]).await;
    let error = bounded(client(&server, Protocol::OpenAi, false).complete(&question()))
        .await
        .unwrap_err();
    let ModelError::Protocol { url, message } = &error else {
        panic!("expected a protocol error, found {error:?}");
    };
    assert!(url.ends_with("/v1/chat/completions"), "{url}");
    assert!(message.contains("<html>proxy error</html>"), "{message}");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn refused_connection_is_retried_then_a_transport_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let mut config = config(Protocol::OpenAi, format!("http://{address}/v1"), false);
    config.retry = fast_retries(2);
    let error = bounded(ModelClient::new(config).unwrap().complete(&question()))
        .await
        .unwrap_err();
    let ModelError::Transport {
        url,
        attempts,
        message,
    } = &error
    else {
        panic!("expected a transport error, found {error:?}");
    };
    assert_eq!(*attempts, 3);
    // The cause is named, not just reqwest's "error sending request".
    assert!(message.contains("refused"), "{message}");
    assert!(!message.contains("for url"), "{message}");
    assert_eq!(url, &format!("http://{address}/v1/chat/completions"));
}

#[tokio::test]
async fn request_timeout_covers_a_stalled_stream() {
    let signals = std::sync::Arc::default();
    let stall = Reply::Stall(vec![sse_frame(&openai_chunk("o"))], signals);
    let server = FakeServer::start(vec![stall]).await;
    let mut config = config(Protocol::OpenAi, server.base_url(Protocol::OpenAi), true);
    config.request_timeout = Duration::from_millis(300);
    config.retry = fast_retries(0);
    let error = bounded(ModelClient::new(config).unwrap().complete(&question()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::Transport { attempts: 1, message, .. } if message.contains("timeout")),
        "{error:?}"
    );
}

#[tokio::test]
async fn bad_configs_are_refused() {
    for base_url in ["", "not a url", "ftp://example.com/v1", "/v1"] {
        let result = ModelClient::new(config(Protocol::OpenAi, base_url.to_owned(), false));
        assert!(matches!(result, Err(ModelError::Config(_))), "{base_url}");
    }
    let mut empty_model = config(Protocol::OpenAi, "http://127.0.0.1:1/v1".to_owned(), false);
    empty_model.model = String::new();
    assert!(matches!(
        ModelClient::new(empty_model),
        Err(ModelError::Config(_))
    ));
}
