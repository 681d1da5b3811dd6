//! The HTTP side: the routes, turning a [`Reply`] into a response whose body records when its
//! last byte went out, and cutting connections for `cut_stream` faults.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;

use crate::exchange::Exchange;
use crate::exchange::Record;
use crate::request::Protocol;
use crate::respond;
use crate::respond::Ending;
use crate::respond::Reply;
use crate::script::Script;

/// Requests carry whole conversations; real providers accept tens of megabytes.
const BODY_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// How long a cut response waits after its last frame, so the frames reach the client before
/// the connection is closed.
const CUT_GRACE: Duration = Duration::from_millis(20);

pub(crate) struct Shared {
    pub script: Script,
    pub record: Record,
    requests: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(script: Script, record: Record) -> Shared {
        Shared {
            script,
            record,
            requests: AtomicUsize::new(0),
        }
    }

    fn next_index(&self) -> usize {
        self.requests.fetch_add(1, Ordering::SeqCst) + 1
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/messages", post(messages))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .with_state(shared)
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    exchange(shared, Protocol::OpenAi, headers, body).await
}

async fn messages(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    exchange(shared, Protocol::Anthropic, headers, body).await
}

/// Counted as a request (faults number all requests) and recorded as a violation, but not as
/// an exchange: it speaks neither protocol.
async fn unknown_route(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let index = shared.next_index();
    shared
        .record
        .violation(index, &format!("request to unknown route {}", uri.path()));
    let body = serde_json::json!({
        "error": { "message": format!("unknown route {}", uri.path()), "type": "invalid_request_error" }
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn exchange(
    shared: Arc<Shared>,
    protocol: Protocol,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = shared.next_index();
    let received_us = shared.record.now_us();
    let reply = respond::decide(&shared.script, protocol, index, &headers, &body);
    let Reply {
        status,
        content_type,
        retry_after_secs,
        frames,
        ending,
        delay_ms,
        conversation,
        turn,
        stream,
        violations,
    } = reply;
    shared.record.begin(
        Exchange {
            index,
            protocol,
            conversation,
            turn,
            stream,
            status,
            received_us,
            answered_us: 0,
            model_delay_ms: delay_ms,
        },
        &violations,
    );
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    let finisher = Finisher {
        shared,
        index,
        violations,
    };
    let mut response = Response::new(body_stream(frames, ending, finisher));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(seconds) = retry_after_secs {
        response_headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    let request_id_header = match protocol {
        Protocol::OpenAi => "x-request-id",
        Protocol::Anthropic => "request-id",
    };
    if let Ok(request_id) = HeaderValue::from_str(&format!("req_fake_{index}")) {
        response_headers.insert(request_id_header, request_id);
    }
    response
}

/// Stamps the exchange as answered when dropped: after the last frame was taken (before the
/// chunked terminator is written, so before the client can see the end) or when the client
/// goes away.
struct Finisher {
    shared: Arc<Shared>,
    index: usize,
    violations: Vec<String>,
}

impl Drop for Finisher {
    fn drop(&mut self) {
        self.shared.record.finish(self.index, &self.violations);
    }
}

enum BodyState {
    Sending {
        frames: VecDeque<Bytes>,
        ending: Ending,
        finisher: Finisher,
    },
    Done,
}

fn body_stream(frames: Vec<Bytes>, ending: Ending, finisher: Finisher) -> Body {
    let state = BodyState::Sending {
        frames: frames.into(),
        ending,
        finisher,
    };
    Body::from_stream(futures_util::stream::unfold(state, |state| async move {
        let BodyState::Sending {
            mut frames,
            ending,
            finisher,
        } = state
        else {
            return None;
        };
        if let Some(frame) = frames.pop_front() {
            return Some((
                Ok(frame),
                BodyState::Sending {
                    frames,
                    ending,
                    finisher,
                },
            ));
        }
        match ending {
            Ending::Complete => {
                drop(finisher);
                None
            }
            Ending::Cut => {
                tokio::time::sleep(CUT_GRACE).await;
                drop(finisher);
                let error = std::io::Error::other("scripted cut_stream fault");
                Some((Err(error), BodyState::Done))
            }
        }
    }))
}
