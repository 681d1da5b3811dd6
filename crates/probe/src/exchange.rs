//! Sending one request to the service under test and recording what went over the wire.
//!
//! An [`Exchange`] is the evidence gate reports carry, so it records the request as sent and the
//! response as received, with bodies truncated for the report (JSON is parsed before truncation)
//! and `Authorization` values redacted. Transport failures are recorded, not returned as errors:
//! a refused connection is a finding about the service, not a reason to stop probing.

use std::time::Duration;
use std::time::Instant;

use http::Method;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

use crate::ProbeError;
use crate::Result;

mod unpooled;

/// Recorded bodies keep this many bytes; the rest is replaced by a marker.
pub const RECORDED_BODY_LIMIT: usize = 4096;

/// Bodies above this size are sent on a connection of their own (see `unpooled`).
const LARGE_BODY_BYTES: usize = 64 * 1024;

/// An HTTP client bound to one service's base URL.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl Client {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8080`), giving up on a request after
    /// `timeout`.
    ///
    /// Only `http` is accepted: the probes talk to a locally started service and the crate is
    /// built without TLS, so an `https` URL would fail on every request instead of once here.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Client> {
        let url = reqwest::Url::parse(base_url).map_err(|e| ProbeError::BaseUrl {
            url: base_url.to_string(),
            reason: format!("expected an absolute http URL, found a parse error: {e}"),
        })?;
        if url.scheme() != "http" {
            return Err(ProbeError::BaseUrl {
                url: base_url.to_string(),
                reason: format!(
                    "expected scheme http (probes are built without TLS), found {}",
                    url.scheme()
                ),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ProbeError::Client(e.to_string()))?;
        Ok(Client {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            timeout,
        })
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The same client (sharing connections) with another per-request timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout,
            ..self.clone()
        }
    }

    /// Sends `request` and records the exchange; never fails (transport errors are recorded).
    #[tracing::instrument(skip_all, fields(method = %request.method))]
    pub async fn send(&self, request: Request) -> Exchange {
        let url = format!("{}{}", self.base_url, request.path);
        let mut builder = self
            .http
            .request(request.method.clone(), &url)
            .timeout(self.timeout);
        let mut recorded_headers = Vec::new();
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
            recorded_headers.push((name.clone(), redact_header(name, value)));
        }
        if let Some(content_type) = &request.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, content_type.as_str());
            recorded_headers.push(("content-type".to_string(), content_type.clone()));
        }
        let recorded_body = request.body.as_deref().map(truncate_body);
        let started = Instant::now();
        // A server may answer a large body before reading it and close the connection; see
        // `unpooled` for why such a request cannot go through the pooled client.
        if let Some(body) = request.body.as_ref().filter(|b| b.len() > LARGE_BODY_BYTES) {
            let mut headers = request.headers.clone();
            if let Some(content_type) = &request.content_type {
                headers.push(("content-type".to_string(), content_type.clone()));
            }
            let outcome =
                unpooled::send(&url, request.method.as_str(), &headers, body, self.timeout)
                    .await
                    .map(|(status, headers, bytes)| RecordedResponse {
                        status,
                        headers,
                        json: serde_json::from_slice(&bytes).ok(),
                        body: truncate_body(&bytes),
                    });
            return finish(
                RecordedRequest {
                    method: request.method.to_string(),
                    url,
                    headers: recorded_headers,
                    body: recorded_body,
                },
                outcome,
                started,
            );
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let recorded_request = RecordedRequest {
            method: request.method.to_string(),
            url,
            headers: recorded_headers,
            body: recorded_body,
        };
        let outcome = match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                match response.bytes().await {
                    Ok(bytes) => Ok(RecordedResponse {
                        status,
                        headers,
                        json: serde_json::from_slice(&bytes).ok(),
                        body: truncate_body(&bytes),
                    }),
                    Err(error) => Err(describe_error(&error)),
                }
            }
            Err(error) => Err(describe_error(&error)),
        };
        finish(recorded_request, outcome, started)
    }
}

fn finish(
    request: RecordedRequest,
    outcome: Result<RecordedResponse, String>,
    started: Instant,
) -> Exchange {
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (response, error) = match outcome {
        Ok(response) => (Some(response), None),
        Err(error) => (None, Some(error)),
    };
    Exchange {
        request,
        response,
        error,
        duration_ms,
    }
}

/// A request to send, relative to the client's base URL.
#[derive(Debug, Clone)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The path with its query string, e.g. `/api/v1/books?page=1`.
    pub path: String,
    /// Extra headers, sent in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes, if any.
    pub body: Option<Vec<u8>>,
    /// The `Content-Type` of the body.
    pub content_type: Option<String>,
}

impl Request {
    /// A request without body or headers.
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            content_type: None,
        }
    }

    /// A request with `body` serialized as `application/json`.
    pub fn json(method: Method, path: impl Into<String>, body: &Value) -> Request {
        let mut request = Request::new(method, path);
        request.body = Some(body.to_string().into_bytes());
        request.content_type = Some("application/json".to_string());
        request
    }

    /// A request with a raw body and its content type.
    pub fn raw(
        method: Method,
        path: impl Into<String>,
        body: Vec<u8>,
        content_type: impl Into<String>,
    ) -> Request {
        let mut request = Request::new(method, path);
        request.body = Some(body);
        request.content_type = Some(content_type.into());
        request
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Request {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One request and its response (or transport error): the evidence in reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request as sent.
    pub request: RecordedRequest,
    /// The response, unless the transport failed.
    pub response: Option<RecordedResponse>,
    /// The transport error (connection refused, timeout, ...), if any.
    pub error: Option<String>,
    /// Time from sending to the full response body.
    pub duration_ms: u64,
}

impl Exchange {
    /// The response status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status)
    }

    /// The parsed JSON body, if a response arrived and its body was JSON.
    pub fn json(&self) -> Option<&Value> {
        self.response.as_ref().and_then(|r| r.json.as_ref())
    }

    /// `"401: {body excerpt}"` or the transport error, for error messages and report lines.
    pub fn summary(&self) -> String {
        match (&self.response, &self.error) {
            (Some(response), _) => {
                let excerpt: String = response.body.chars().take(300).collect();
                format!("{} {}", response.status, excerpt)
            }
            (None, Some(error)) => format!("no response: {error}"),
            (None, None) => "no response".to_string(),
        }
    }
}

impl Exchange {
    /// Replaces every occurrence of `secret` in the recorded bodies (text and parsed JSON) by
    /// `[redacted]`, for exchanges that carry credentials into reports.
    pub fn redact(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        if let Some(body) = self.request.body.as_mut() {
            *body = body.replace(secret, REDACTED);
        }
        if let Some(response) = self.response.as_mut() {
            response.body = response.body.replace(secret, REDACTED);
            if let Some(json) = response.json.as_mut() {
                redact_json(json, secret);
            }
        }
    }
}

const REDACTED: &str = "[redacted]";

fn redact_json(value: &mut Value, secret: &str) {
    match value {
        Value::String(text) => {
            if text.contains(secret) {
                *text = text.replace(secret, REDACTED);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact_json(item, secret)),
        Value::Object(map) => map.values_mut().for_each(|item| redact_json(item, secret)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The request as sent (`Authorization` redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Headers set by the probe.
    pub headers: Vec<(String, String)>,
    /// The body as text, truncated to [`RECORDED_BODY_LIMIT`] with a marker.
    pub body: Option<String>,
}

/// The response as received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The status code.
    pub status: u16,
    /// Response headers (names lowercase).
    pub headers: Vec<(String, String)>,
    /// The body as text, truncated to [`RECORDED_BODY_LIMIT`] with a marker.
    pub body: String,
    /// The whole body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl RecordedResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Tokens must not end up in reports verbatim; the scheme and a short prefix stay to show what
/// kind of credential was sent.
fn redact_header(name: &str, value: &str) -> String {
    if !name.eq_ignore_ascii_case("authorization") {
        return value.to_string();
    }
    match value.split_once(' ') {
        Some((scheme, credential)) => {
            let prefix: String = credential.chars().take(6).collect();
            format!("{scheme} {prefix}…[redacted]")
        }
        None => "[redacted]".to_string(),
    }
}

fn truncate_body(bytes: &[u8]) -> String {
    if bytes.len() <= RECORDED_BODY_LIMIT {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..RECORDED_BODY_LIMIT]).into_owned();
    text.push_str(&format!("…[truncated, {} bytes in total]", bytes.len()));
    text
}

/// The error with its sources: reqwest's top-level message alone hides the cause.
fn describe_error(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if error.is_timeout() {
        message.push_str(" (timed out)");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_refused_with_a_reason() {
        let error = Client::new("https://example.test", Duration::from_secs(1)).unwrap_err();
        assert!(
            error.to_string().contains("expected scheme http"),
            "{error}"
        );
    }

    #[test]
    fn long_bodies_are_truncated_with_a_marker() {
        let text = truncate_body(&vec![b'a'; RECORDED_BODY_LIMIT + 10]);
        assert!(text.ends_with(&format!(
            "[truncated, {} bytes in total]",
            RECORDED_BODY_LIMIT + 10
        )));
    }

    #[test]
    fn authorization_is_redacted() {
        assert_eq!(
            redact_header("Authorization", "Bearer abcdefghijkl"),
            "Bearer abcdef…[redacted]"
        );
    }
}
