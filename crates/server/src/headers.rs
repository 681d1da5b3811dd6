//! Request ids (`x-request-id`: echoed when sane, generated otherwise; the span of every
//! request carries it) and the security headers every response gets.

use std::time::Instant;

use axum::extract::MatchedPath;
use axum::extract::Request;
use axum::http::HeaderName;
use axum::http::HeaderValue;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::auth::secrets;

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(pub(crate) String);

/// Whether a client's request id can be echoed and logged as is.
fn is_sane_request_id(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
}

/// Answers slower than this are logged at info whatever their status.
const SLOW_MS: f64 = 1000.0;

/// Assigns the request id, runs the request in a span carrying it and the route template,
/// logs the outcome, and echoes the id.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|text| is_sane_request_id(text))
        .map_or_else(|| secrets::new_id("req"), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = %route,
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Failures and slow answers at info (5xx at error); the success path at debug, so a busy
    // server does not spend its time writing a line per request (`-v` shows them all).
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), elapsed_ms, "request served");
        } else if status.is_client_error() || elapsed_ms > SLOW_MS {
            tracing::info!(status = status.as_u16(), elapsed_ms, "request served");
        } else {
            tracing::debug!(status = status.as_u16(), elapsed_ms, "request served");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

/// The CSP of every response but the Swagger UI's.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'";

/// The CSP of the Swagger UI under `/docs`: still nothing from another origin, but its
/// stylesheet's `data:` icons and the inline styles it sets are allowed.
const DOCS_CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

/// `nosniff`, no framing, no referrer, `default-src 'self'` (relaxed for the Swagger UI), and
/// `no-store` unless a handler chose a cache policy.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_docs = path
        .strip_prefix(crate::routes::openapi::DOCS_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let content_security_policy = if is_docs {
        DOCS_CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(content_security_policy),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_request_ids_are_echoed() {
        assert!(is_sane_request_id("abc-123_x.y:z"));
        for bad in ["", "a b", "a\nb", "ä", &"x".repeat(129)] {
            assert!(!is_sane_request_id(bad), "{bad:?}");
        }
    }
}
