//! A scripted model server on 127.0.0.1 (axum, port 0) that records every request it receives
//! and answers with the next scripted `Reply`, plus client configs and canned conversations.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use apiwright_models::ChatRequest;
use apiwright_models::ClientConfig;
use apiwright_models::Message;
use apiwright_models::ModelClient;
use apiwright_models::Protocol;
use apiwright_models::RetryPolicy;
use apiwright_models::Secret;
use apiwright_models::ToolCall;
use apiwright_models::ToolSpec;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;
use serde_json::json;
use tokio::sync::Notify;

pub const KEY: &str = "sk-test-Zq8vN3xKp2";

/// How a scripted answer ends.
#[derive(Clone)]
pub enum Reply {
    /// A whole response.
    Whole {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        content_type: &'static str,
        body: String,
    },
    /// An event stream whose frames are sent one by one, then closed normally.
    Stream(Vec<String>),
    /// Frames, then the connection is aborted mid-body.
    Abort(Vec<String>),
    /// Frames, then nothing more until the client goes away; `signals` reports both.
    Stall(Vec<String>, Arc<StallSignals>),
}

#[derive(Default)]
pub struct StallSignals {
    pub frames_sent: Notify,
    pub client_gone: Notify,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Whole {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    pub fn status(status: u16, headers: Vec<(&'static str, &'static str)>) -> Reply {
        Reply::Whole {
            status,
            headers,
            content_type: "application/json",
            body: json!({"error": {"message": format!("scripted {status}")}}).to_string(),
        }
    }

    pub fn events(events: &[Value]) -> Reply {
        Reply::Stream(events.iter().map(sse_frame).collect())
    }
}

/// One SSE frame; Anthropic-style events (with a `type`) also get their `event:` line.
pub fn sse_frame(value: &Value) -> String {
    match value {
        Value::String(raw) => format!("data: {raw}\n\n"),
        _ => match value.get("type").and_then(Value::as_str) {
            Some(kind) => format!("event: {kind}\ndata: {value}\n\n"),
            None => format!("data: {value}\n\n"),
        },
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

struct ServerState {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeServer {
    /// `http://127.0.0.1:<port>`
    pub origin: String,
    state: Arc<ServerState>,
}

impl FakeServer {
    /// Serves `replies` in order; the last one repeats forever.
    pub async fn start(replies: Vec<Reply>) -> FakeServer {
        let state = Arc::new(ServerState {
            replies: Mutex::new(replies.into()),
            requests: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FakeServer { origin, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// The base URL a client of `protocol` is configured with (with a trailing `/`, which the
    /// client must ignore).
    pub fn base_url(&self, protocol: Protocol) -> String {
        match protocol {
            Protocol::OpenAi => format!("{}/v1/", self.origin),
            Protocol::Anthropic => format!("{}/", self.origin),
        }
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.requests.lock().unwrap().push(Recorded {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let reply = {
        let mut replies = state.replies.lock().unwrap();
        if replies.len() > 1 {
            replies.pop_front()
        } else {
            replies.front().cloned()
        }
    };
    let Some(reply) = reply else {
        return response(500, "text/plain", Body::from("no scripted reply"));
    };
    match reply {
        Reply::Whole {
            status,
            headers,
            content_type,
            body,
        } => {
            let mut response = response(status, content_type, Body::from(body));
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Reply::Stream(frames) => {
            let chunks = frames.into_iter().map(Ok::<_, std::io::Error>);
            response(
                200,
                "text/event-stream",
                Body::from_stream(futures_util::stream::iter(chunks)),
            )
        }
        Reply::Abort(frames) => {
            let chunks = frames
                .into_iter()
                .map(Ok)
                .chain([Err(std::io::Error::other("scripted abort"))]);
            response(
                200,
                "text/event-stream",
                Body::from_stream(futures_util::stream::iter(chunks)),
            )
        }
        Reply::Stall(frames, signals) => {
            let (sender, receiver) =
                tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
            tokio::spawn(async move {
                for frame in frames {
                    if sender.send(Ok(frame)).await.is_err() {
                        break;
                    }
                }
                signals.frames_sent.notify_one();
                sender.closed().await;
                signals.client_gone.notify_one();
            });
            let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|item| (item, receiver))
            });
            response(200, "text/event-stream", Body::from_stream(body))
        }
    }
}

fn response(status: u16, content_type: &str, body: Body) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type)
        .body(body)
        .unwrap()
}

pub fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    }
}

pub fn config(protocol: Protocol, base_url: String, stream: bool) -> ClientConfig {
    ClientConfig {
        protocol,
        base_url,
        api_key: Some(Secret::new(KEY.to_owned())),
        model: "test-model".to_owned(),
        stream,
        max_output_tokens: 256,
        temperature: Some(0.2),
        request_timeout: Duration::from_secs(20),
        retry: fast_retries(3),
    }
}

pub fn client(server: &FakeServer, protocol: Protocol, stream: bool) -> ModelClient {
    ModelClient::new(config(protocol, server.base_url(protocol), stream)).unwrap()
}

pub fn read_file_tool() -> ToolSpec {
    ToolSpec {
        name: "read_file".to_owned(),
        description: "Reads a file".to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        }),
    }
}

pub fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

pub fn question() -> ChatRequest {
    ChatRequest {
        system: "You are terse.".to_owned(),
        messages: vec![Message::User("Say hello.".to_owned())],
        tools: Vec::new(),
    }
}

/// A conversation with every kind of message: two tool calls answered (one with an error),
/// then a user follow-up.
pub fn conversation() -> ChatRequest {
    ChatRequest {
        system: "You are terse.".to_owned(),
        messages: vec![
            Message::User("Read both files.".to_owned()),
            Message::Assistant {
                text: Some("Reading.".to_owned()),
                tool_calls: vec![
                    call("call_1", "read_file", r#"{"path":"a.txt"}"#),
                    call("call_2", "read_file", ""),
                ],
            },
            Message::ToolResult {
                call_id: "call_1".to_owned(),
                content: "alpha".to_owned(),
                is_error: false,
            },
            Message::ToolResult {
                call_id: "call_2".to_owned(),
                content: "no such file".to_owned(),
                is_error: true,
            },
            Message::User("Now summarise.".to_owned()),
        ],
        tools: vec![read_file_tool()],
    }
}

/// Runs `future` with a generous bound, so a hang fails the test instead of stalling it.
pub async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the call did not finish within 30 s")
}
