//! What the proxy adds on the way: forwarding headers, the backend timeout, and the time of the
//! first failure in the statistics.

use std::time::Duration;
use std::time::SystemTime;

use apiwright_deploy::Proxy;
use bytes::Bytes;
use http_body_util::Full;

use crate::call;
use crate::client;
use crate::config;
use crate::send;
use crate::start_backend;
use crate::start_proxy;
use crate::stats;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backend_sees_the_client_address_appended_to_x_forwarded_for() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (1, 0),
    )
    .await;
    let client = client();
    let answer = call(&client, &proxy, "GET", "/forwarded", "").await;
    let seen: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({"for": ["127.0.0.1"], "proto": ["http"]})
    );

    let request = http::Request::builder()
        .uri(format!("http://{}/forwarded", proxy.local_addr()))
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-for", "198.51.100.2")
        .header("x-forwarded-proto", "https")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let seen: serde_json::Value = serde_json::from_str(&send(&client, request).await.body).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({
            "for": ["203.0.113.7, 198.51.100.2, 127.0.0.1"],
            "proto": ["http"],
        })
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_slower_than_the_timeout_gives_504_problem_json_and_a_transport_error() {
    let mut config = config(
        start_backend("blue").await,
        start_backend("green").await,
        (0, 1),
    );
    config.backend_timeout = Duration::from_millis(200);
    let proxy = Proxy::start(config).await.unwrap();
    let client = client();
    let answer = call(&client, &proxy, "GET", "/hang", "").await;
    assert_eq!((answer.status, answer.backend.as_str()), (504, "green"));
    assert_eq!(answer.content_type, "application/problem+json");
    let problem: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(problem["status"], 504);
    // The timed-out connection is gone; the next request still gets through.
    assert_eq!(call(&client, &proxy, "GET", "/", "").await.status, 200);
    let snapshot = proxy.snapshot();
    let green = stats(&snapshot, "green");
    assert_eq!(
        (green.requests, green.server_errors, green.transport_errors),
        (2, 0, 1)
    );
    assert!(green.max_us >= 200_000, "{green:?}");
    assert!(green.first_failure_unix_ms.is_some(), "{green:?}");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_backend_timeout_is_refused() {
    let mut config = config(
        "http://127.0.0.1:1".into(),
        "http://127.0.0.1:2".into(),
        (1, 0),
    );
    config.backend_timeout = Duration::ZERO;
    let error = Proxy::start(config).await.unwrap_err().to_string();
    assert!(error.contains("expected a positive duration"), "{error}");
}

fn now_unix_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_5xx_sets_first_failure_and_later_ones_keep_it() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (0, 1),
    )
    .await;
    let client = client();
    call(&client, &proxy, "GET", "/", "").await;
    call(&client, &proxy, "GET", "/nowhere", "").await;
    let snapshot = proxy.snapshot();
    let green = stats(&snapshot, "green");
    assert_eq!(
        (green.client_errors, green.first_failure_unix_ms),
        (1, None)
    );
    assert!(green.window_secs > 0.0, "{green:?}");

    let before = now_unix_ms();
    assert_eq!(call(&client, &proxy, "GET", "/boom", "").await.status, 500);
    let after = now_unix_ms();
    let first = stats(&proxy.snapshot(), "green")
        .first_failure_unix_ms
        .unwrap();
    assert!(
        (before..=after).contains(&first),
        "{before} ≤ {first} ≤ {after}"
    );
    call(&client, &proxy, "GET", "/boom", "").await;
    let snapshot = proxy.snapshot();
    assert_eq!(stats(&snapshot, "green").first_failure_unix_ms, Some(first));
    assert_eq!(stats(&snapshot, "blue").first_failure_unix_ms, None);

    proxy.reset_window();
    let snapshot = proxy.snapshot();
    let green = stats(&snapshot, "green");
    assert_eq!((green.requests, green.first_failure_unix_ms), (0, None));
    assert!(green.window_secs < 1.0, "{green:?}");
    proxy.shutdown().await;
}
