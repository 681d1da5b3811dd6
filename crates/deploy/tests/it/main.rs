//! The proxy between two real in-process axum backends over real TCP: weighted routing, weight
//! changes, server and transport errors in the statistics, body forwarding and window resets.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kubernetes;

use std::net::SocketAddr;

use apiwright_deploy::Backend;
use apiwright_deploy::BackendStats;
use apiwright_deploy::DeployError;
use apiwright_deploy::Proxy;
use apiwright_deploy::ProxyHandle;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum::routing::post;
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A backend answering `{"version":NAME}` on `/`, 500 on `/boom` and echoing POST `/echo`.
async fn start_backend(name: &'static str) -> String {
    let body = format!(r#"{{"version":"{name}"}}"#);
    let router = Router::new()
        .route("/", get(move || async move { body }))
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/echo", post(|body: Bytes| async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// A green backend that can be stopped: the sender ends it, the task ends once it has stopped.
async fn start_stoppable_backend() -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let router = Router::new().route("/", get(|| async { r#"{"version":"green"}"# }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (format!("http://{address}"), stop, task)
}

/// An address nothing listens on.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

async fn start_proxy(blue_url: String, green_url: String, weights: (u32, u32)) -> ProxyHandle {
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let backends = [
        Backend {
            name: "blue".into(),
            url: blue_url,
        },
        Backend {
            name: "green".into(),
            url: green_url,
        },
    ];
    Proxy::start(listen, backends, weights).await.unwrap()
}

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

struct Answer {
    status: u16,
    backend: String,
    content_type: String,
    body: String,
}

async fn call(
    client: &HttpClient,
    proxy: &ProxyHandle,
    method: &str,
    path: &str,
    body: &str,
) -> Answer {
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", proxy.local_addr()))
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let backend = header("x-apiwright-backend");
    let content_type = header("content-type");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        backend,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn stats<'a>(snapshot: &'a [BackendStats], name: &str) -> &'a BackendStats {
    snapshot.iter().find(|stats| stats.name == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_traffic_goes_to_blue_at_hundred_zero() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (100, 0),
    )
    .await;
    let client = client();
    for _ in 0..20 {
        let answer = call(&client, &proxy, "GET", "/", "").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.backend, "blue");
        assert_eq!(answer.body, r#"{"version":"blue"}"#);
    }
    let snapshot = proxy.snapshot();
    assert_eq!(stats(&snapshot, "blue").requests, 20);
    assert_eq!(stats(&snapshot, "green").requests, 0);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_ninety_sends_exactly_one_in_ten_to_blue_and_the_header_names_the_backend() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (10, 90),
    )
    .await;
    let client = client();
    let mut backends = Vec::new();
    for _ in 0..100 {
        let answer = call(&client, &proxy, "GET", "/", "").await;
        assert_eq!(
            answer.body,
            format!(r#"{{"version":"{}"}}"#, answer.backend)
        );
        backends.push(answer.backend);
    }
    for window in backends.windows(10) {
        assert_eq!(
            window.iter().filter(|name| *name == "blue").count(),
            1,
            "{window:?}"
        );
    }
    let snapshot = proxy.snapshot();
    let (blue, green) = (stats(&snapshot, "blue"), stats(&snapshot, "green"));
    assert_eq!((blue.requests, green.requests), (10, 90));
    assert!(
        green.p50_us > 0 && green.p50_us <= green.p95_us,
        "{green:?}"
    );
    assert!(
        green.p95_us <= green.p99_us && green.p99_us <= green.max_us,
        "{green:?}"
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_weights_apply_to_the_very_next_request_and_zero_zero_is_refused() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (100, 0),
    )
    .await;
    let client = client();
    assert_eq!(call(&client, &proxy, "GET", "/", "").await.backend, "blue");
    proxy.set_weights(0, 100).unwrap();
    assert_eq!(proxy.weights(), (0, 100));
    assert_eq!(call(&client, &proxy, "GET", "/", "").await.backend, "green");
    assert!(matches!(
        proxy.set_weights(0, 0),
        Err(DeployError::ZeroWeights)
    ));
    assert_eq!(proxy.weights(), (0, 100));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_zero_weights_are_refused_at_start() {
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let backends = [
        Backend {
            name: "blue".into(),
            url: "http://127.0.0.1:1".into(),
        },
        Backend {
            name: "green".into(),
            url: "http://127.0.0.1:2".into(),
        },
    ];
    assert!(matches!(
        Proxy::start(listen, backends, (0, 0)).await,
        Err(DeployError::ZeroWeights)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_500_counts_as_a_server_error_of_that_backend() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (0, 1),
    )
    .await;
    let client = client();
    let answer = call(&client, &proxy, "GET", "/boom", "").await;
    assert_eq!((answer.status, answer.backend.as_str()), (500, "green"));
    call(&client, &proxy, "GET", "/", "").await;
    let snapshot = proxy.snapshot();
    let green = stats(&snapshot, "green");
    assert_eq!(
        (green.requests, green.server_errors, green.transport_errors),
        (2, 1, 0)
    );
    assert_eq!(stats(&snapshot, "blue").server_errors, 0);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_backend_gives_502_problem_json_and_a_transport_error() {
    let proxy = start_proxy(start_backend("blue").await, dead_url().await, (0, 1)).await;
    let client = client();
    let answer = call(&client, &proxy, "GET", "/", "").await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.backend, "green");
    assert_eq!(answer.content_type, "application/problem+json");
    let problem: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(problem["status"], 502);
    let snapshot = proxy.snapshot();
    let green = stats(&snapshot, "green");
    assert_eq!(
        (green.requests, green.server_errors, green.transport_errors),
        (1, 0, 1)
    );
    // Blue still serves once the weights move back.
    proxy.set_weights(1, 0).unwrap();
    assert_eq!(call(&client, &proxy, "GET", "/", "").await.status, 200);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_green_backend_shut_down_after_serving_gives_502_and_a_transport_error() {
    let (green_url, stop_green, green_task) = start_stoppable_backend().await;
    let proxy = start_proxy(start_backend("blue").await, green_url, (0, 1)).await;
    let client = client();
    assert_eq!(call(&client, &proxy, "GET", "/", "").await.status, 200);
    stop_green.send(()).unwrap();
    green_task.await.unwrap();
    let answer = call(&client, &proxy, "GET", "/", "").await;
    assert_eq!((answer.status, answer.backend.as_str()), (502, "green"));
    let snapshot = proxy.snapshot();
    let green = stats(&snapshot, "green");
    assert_eq!((green.requests, green.transport_errors), (2, 1));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_body_reaches_the_backend_intact() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (1, 1),
    )
    .await;
    let client = client();
    let body = format!(r#"{{"title":"Dune","blob":"{}"}}"#, "x".repeat(100_000));
    for _ in 0..2 {
        let answer = call(&client, &proxy, "POST", "/echo?twice=no", &body).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, body);
    }
    let snapshot = proxy.snapshot();
    assert_eq!(
        (
            stats(&snapshot, "blue").requests,
            stats(&snapshot, "green").requests
        ),
        (1, 1)
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_window_starts_counting_again() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (1, 1),
    )
    .await;
    let client = client();
    for _ in 0..4 {
        call(&client, &proxy, "GET", "/", "").await;
    }
    assert_eq!(stats(&proxy.snapshot(), "blue").requests, 2);
    proxy.reset_window();
    let snapshot = proxy.snapshot();
    for name in ["blue", "green"] {
        let backend = stats(&snapshot, name);
        assert_eq!(
            (
                backend.requests,
                backend.server_errors,
                backend.transport_errors,
                backend.max_us
            ),
            (0, 0, 0, 0)
        );
    }
    call(&client, &proxy, "GET", "/", "").await;
    let snapshot = proxy.snapshot();
    assert_eq!(
        stats(&snapshot, "blue").requests + stats(&snapshot, "green").requests,
        1
    );
    let json = serde_json::to_value(&snapshot).unwrap();
    assert!(json[0]["p99_us"].is_u64());
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_listener() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (1, 0),
    )
    .await;
    let address = proxy.local_addr();
    proxy.shutdown().await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}
