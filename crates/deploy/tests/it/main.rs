//! The proxy between real in-process axum backends over real TCP. Helpers live here; each module
//! covers one concern.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod basics;
mod forwarding;
mod kubernetes;
mod replace;
mod routes;

use std::net::SocketAddr;

use apiwright_deploy::Backend;
use apiwright_deploy::BackendStats;
use apiwright_deploy::Proxy;
use apiwright_deploy::ProxyConfig;
use apiwright_deploy::ProxyHandle;
use axum::Router;
use axum::http::HeaderMap;
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

/// A backend answering `{"version":NAME}` on `/`, 500 on `/boom`, echoing POST `/echo`,
/// echoing its `x-forwarded-*` headers on `/forwarded`, never answering `/hang`, and serving a
/// small books API under `/api/v1/books`.
async fn start_backend(name: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, backend_router(name)).await.unwrap() });
    format!("http://{address}")
}

fn backend_router(name: &'static str) -> Router {
    let body = format!(r#"{{"version":"{name}"}}"#);
    Router::new()
        .route("/", get(move || async move { body }))
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/forwarded",
            get(|headers: HeaderMap| async move {
                let header = |name: &str| {
                    headers
                        .get_all(name)
                        .iter()
                        .map(|value| value.to_str().unwrap().to_owned())
                        .collect::<Vec<_>>()
                };
                serde_json::json!({
                    "for": header("x-forwarded-for"),
                    "proto": header("x-forwarded-proto"),
                })
                .to_string()
            }),
        )
        .route("/hang", get(std::future::pending::<()>))
        .route(
            "/api/v1/books",
            get(|| async { "[]" }).post(|| async { (StatusCode::CREATED, "{}") }),
        )
        .route("/api/v1/books/{id}", get(|| async { "{}" }))
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

fn config(blue_url: String, green_url: String, weights: (u32, u32)) -> ProxyConfig {
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
    ProxyConfig::new(listen, backends, weights)
}

async fn start_proxy(blue_url: String, green_url: String, weights: (u32, u32)) -> ProxyHandle {
    Proxy::start(config(blue_url, green_url, weights))
        .await
        .unwrap()
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
    send(client, request).await
}

async fn send(client: &HttpClient, request: http::Request<Full<Bytes>>) -> Answer {
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
