//! One HTTP attempt: send the request, classify the status, and read the answer as a JSON body
//! or an event stream, all within the request timeout. The outcome is a [`Failure`] that the
//! retry loop in `client.rs` turns into a retry or a `ModelError`.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::CONTENT_TYPE;
use reqwest::header::HeaderMap;

use crate::ChatResponse;
use crate::Protocol;
use crate::anthropic;
use crate::openai;
use crate::retry;
use crate::sse::SseDecoder;
use crate::sse::SseEvent;
use crate::wire;
use crate::wire::StreamStep;
use crate::wire::WireError;

/// How much of an error body is read: enough for any excerpt, bounded against huge pages.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Why one attempt failed. Texts may still contain the key if a server echoed it; the client
/// redacts them before they become a `ModelError`.
#[derive(Debug)]
pub(crate) enum Failure {
    /// An HTTP error status, or an error the server reported inside a 2xx answer.
    Status {
        status: u16,
        body: String,
        retry_hint: Option<Duration>,
    },
    /// Connection, timeout, or a stream cut before its end.
    Transport(String),
    /// The answer is not the protocol.
    Protocol(String),
}

impl From<WireError> for Failure {
    fn from(error: WireError) -> Failure {
        match error {
            WireError::Malformed(message) => Failure::Protocol(message),
            WireError::InBand { status, body } => Failure::Status {
                status,
                body,
                retry_hint: None,
            },
            WireError::Incomplete(message) => Failure::Transport(message),
        }
    }
}

/// What one attempt needs; borrowed from the client for the duration of the call.
pub(crate) struct Exchange<'a> {
    pub http: &'a reqwest::Client,
    pub protocol: Protocol,
    pub endpoint: &'a str,
    pub headers: &'a HeaderMap,
    pub stream: bool,
    pub timeout: Duration,
}

impl Exchange<'_> {
    pub async fn run(&self, body: Bytes) -> Result<ChatResponse, Failure> {
        match tokio::time::timeout(self.timeout, self.send_and_read(body)).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Err(Failure::Transport(format!(
                "no complete answer within the request timeout of {:?}",
                self.timeout
            ))),
        }
    }

    async fn send_and_read(&self, body: Bytes) -> Result<ChatResponse, Failure> {
        let response = self
            .http
            .post(self.endpoint)
            .headers(self.headers.clone())
            .body(body)
            .send()
            .await
            .map_err(|error| Failure::Transport(describe(&error)))?;
        let status = response.status();
        if !status.is_success() {
            let retry_hint = retry::server_hint(response.headers());
            let body = read_error_body(response).await;
            return Err(Failure::Status {
                status: status.as_u16(),
                body,
                retry_hint,
            });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        // The content type decides when it is clear: a server may ignore `stream`, or answer a
        // streaming request with a JSON error.
        let is_stream = if content_type.starts_with("text/event-stream") {
            true
        } else if content_type.starts_with("application/json") {
            false
        } else {
            self.stream
        };
        if is_stream {
            return self.read_stream(response).await;
        }
        let bytes = response.bytes().await.map_err(|error| {
            Failure::Transport(format!("the response body was cut: {}", describe(&error)))
        })?;
        let parsed = match self.protocol {
            Protocol::OpenAi => openai::parse_response(&bytes),
            Protocol::Anthropic => anthropic::parse_response(&bytes),
        };
        Ok(parsed?)
    }

    async fn read_stream(&self, response: reqwest::Response) -> Result<ChatResponse, Failure> {
        let mut state = StreamState::new(self.protocol);
        let mut decoder = SseDecoder::default();
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|error| {
                Failure::Transport(format!("the event stream was cut: {}", describe(&error)))
            })?;
            for event in decoder.push(&chunk) {
                if state.on_event(&event)? == StreamStep::Done {
                    return Ok(state.finish(/*saw_end*/ true)?);
                }
            }
        }
        if let Some(event) = decoder.finish() {
            match state.on_event(&event) {
                Ok(StreamStep::Done) => return Ok(state.finish(/*saw_end*/ true)?),
                Ok(StreamStep::Continue) => {}
                // An unterminated last event that does not parse is a cut, not a bad server.
                Err(WireError::Malformed(message)) => {
                    return Err(Failure::Transport(format!(
                        "the event stream ended inside an event: {message}"
                    )));
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(state.finish(/*saw_end*/ false)?)
    }
}

enum StreamState {
    OpenAi(openai::StreamState),
    Anthropic(anthropic::StreamState),
}

impl StreamState {
    fn new(protocol: Protocol) -> StreamState {
        match protocol {
            Protocol::OpenAi => StreamState::OpenAi(openai::StreamState::default()),
            Protocol::Anthropic => StreamState::Anthropic(anthropic::StreamState::default()),
        }
    }

    fn on_event(&mut self, event: &SseEvent) -> Result<StreamStep, WireError> {
        match self {
            StreamState::OpenAi(state) => state.on_event(event),
            StreamState::Anthropic(state) => state.on_event(event),
        }
    }

    fn finish(self, saw_end: bool) -> Result<ChatResponse, WireError> {
        match self {
            StreamState::OpenAi(state) => state.finish(saw_end),
            StreamState::Anthropic(state) => state.finish(saw_end),
        }
    }
}

/// Up to [`ERROR_BODY_LIMIT`] bytes of an error response as an excerpt; a body that cannot be
/// read only loses detail, the status still counts.
async fn read_error_body(response: reqwest::Response) -> String {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(Ok(chunk)) = chunks.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    wire::body_excerpt(&body)
}

/// A reqwest error with its causes (reqwest's own message is only "error sending request"),
/// without the URL, which the `ModelError` names itself.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        String::new()
    };
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut first = true;
    while let Some(cause) = source {
        let part = if first {
            error_without_url(error)
        } else {
            cause.to_string()
        };
        first = false;
        if !part.is_empty() && !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

fn error_without_url(error: &reqwest::Error) -> String {
    // `reqwest::Error::without_url` consumes the error; cut the " for url (...)" suffix instead.
    let full = error.to_string();
    match full.split_once(" for url (") {
        Some((head, _url)) => head.to_owned(),
        None => full,
    }
}
