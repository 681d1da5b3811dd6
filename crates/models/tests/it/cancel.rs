//! Dropping the future of `complete` aborts the request: the server sees its client go away.

use std::sync::Arc;

use apiwright_models::Protocol;
use serde_json::json;

use crate::support::FakeServer;
use crate::support::Reply;
use crate::support::StallSignals;
use crate::support::bounded;
use crate::support::client;
use crate::support::question;
use crate::support::sse_frame;

async fn dropping_the_call_closes_the_connection(
    protocol: Protocol,
    stream: bool,
    first_frame: String,
) {
    let signals = Arc::new(StallSignals::default());
    let server =
        FakeServer::start(vec![Reply::Stall(vec![first_frame], Arc::clone(&signals))]).await;
    let client = client(&server, protocol, stream);
    let request = question();
    let mut call = Box::pin(client.complete(&request));
    tokio::select! {
        outcome = &mut call => panic!("the stalled call finished: {outcome:?}"),
        () = signals.frames_sent.notified() => {}
    }
    drop(call);
    bounded(signals.client_gone.notified()).await;
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn dropping_a_streaming_openai_call_closes_the_connection() {
    let frame = sse_frame(&json!({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}));
    dropping_the_call_closes_the_connection(Protocol::OpenAi, true, frame).await;
}

#[tokio::test]
async fn dropping_a_whole_anthropic_call_closes_the_connection() {
    // The headers arrive, the JSON body never completes.
    dropping_the_call_closes_the_connection(
        Protocol::Anthropic,
        false,
        "{\"content\": [".to_owned(),
    )
    .await;
}
