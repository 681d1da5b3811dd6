//! Middleware: request ids, W3C trace context, structured request logs and metrics
//! ([`observe`]), security
//! headers ([`security_headers`]), and rate limiting per user and per IP ([`rate_limit`]).

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// Header carrying the request id (taken from the client when well-formed, else generated).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// W3C Trace Context header: the request joins the caller's trace, or starts one.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// This request's place in a distributed trace (W3C Trace Context, version 00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits shared by every service the trace passes through.
    pub trace_id: String,
    /// 16 hex digits naming this service's span.
    pub span_id: String,
    /// The caller's span, when the request carried a valid `traceparent`.
    pub parent_id: Option<String>,
    /// Trace flags (`01`: sampled).
    pub flags: String,
}

impl TraceContext {
    /// Continues the caller's trace from a valid `traceparent`, or starts a new one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let parent = headers
            .get(&TRACEPARENT)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_traceparent);
        let span_id = Uuid::new_v4().simple().to_string()[..16].to_owned();
        match parent {
            Some((trace_id, parent_id, flags)) => Self {
                trace_id,
                span_id,
                parent_id: Some(parent_id),
                flags,
            },
            None => Self {
                trace_id: Uuid::new_v4().simple().to_string(),
                span_id,
                parent_id: None,
                flags: "01".to_owned(),
            },
        }
    }

    /// The `traceparent` value naming this service's span, for responses and outgoing calls.
    pub fn header(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

/// `(trace id, parent span id, flags)` of a well-formed version-00 `traceparent`; ids of all
/// zeros are invalid by the specification.
fn parse_traceparent(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |text: &str, len: usize| {
        text.len() == len
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = parts.next().is_none()
        && version == "00"
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    valid.then(|| (trace.to_owned(), parent.to_owned(), flags.to_owned()))
}

/// Gives the request an id and a trace context, logs it as JSON with its latency, and records
/// its metrics.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let trace = TraceContext::from_headers(request.headers());
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_valid_request_id(value))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        trace_id = %trace.trace_id,
        span_id = %trace.span_id,
        parent_span_id = trace.parent_id.as_deref().unwrap_or(""),
        %method,
        %route
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let elapsed = started.elapsed();
    state
        .metrics
        .record(method.as_str(), &route, status.as_u16(), elapsed);
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request completed"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&trace.header()) {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    response
}

fn is_valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Sets the security headers on every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Limits requests per user (valid bearer token) or else per client IP; the credential
/// endpoints (register, login, refresh, password reset) always count per IP.
pub async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = request.uri().path();
    let credentials = path.starts_with("/api/v1/auth/")
        && !matches!(path, "/api/v1/auth/me" | "/api/v1/auth/logout");
    let user = bearer_token(request.headers())
        .filter(|_| !credentials)
        .and_then(|token| state.tokens.verify(token).ok());
    let (key, limit) = match user {
        Some(claims) => (
            format!("user:{}", claims.sub),
            state.config.rate_limit_per_user,
        ),
        None => {
            let ip = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
            (format!("ip:{ip}"), state.config.rate_limit_per_ip)
        }
    };
    state
        .limiter
        .check(&key, limit)
        .map_err(ApiError::RateLimited)?;
    Ok(next.run(request).await)
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}
