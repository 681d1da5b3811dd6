//! An in-process axum service on 127.0.0.1:0 with endpoints whose behaviour the tests know.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::routing::get;

/// The request (1-based, counted by the server) on `/stall` that takes `STALL` to answer.
pub const STALL_AT: u64 = 100;
pub const STALL: Duration = Duration::from_millis(300);

/// Starts the service on the current runtime; returns its base URL.
pub async fn start() -> String {
    let stall_count = Arc::new(AtomicU64::new(0));
    let flaky_count = Arc::new(AtomicU64::new(0));
    let router = Router::new()
        .route("/fast", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                "late"
            }),
        )
        .route(
            "/stall",
            get(move || async move {
                if stall_count.fetch_add(1, Ordering::SeqCst) + 1 == STALL_AT {
                    tokio::time::sleep(STALL).await;
                }
                "ok"
            }),
        )
        .route(
            "/flaky",
            get(move || async move {
                // Every 4th request fails.
                if (flaky_count.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(4) {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/auth",
            get(|headers: HeaderMap| async move {
                if headers
                    .get("authorization")
                    .is_some_and(|value| value == "Bearer secret")
                {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// A base URL nothing listens on: bind a port, then release it.
pub async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}
