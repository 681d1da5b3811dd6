//! What goes over the wire is what gets recorded, and transport trouble is evidence, not `Err`.

use std::time::Duration;

use apiwright_probe::exchange::Client;
use apiwright_probe::exchange::Request;
use axum::Router;
use axum::routing::post;
use http::Method;
use serde_json::json;

async fn start(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// A server that answers 413 after reading only the request head, then closes the connection,
/// as body-limit middleware may; the answer must be recorded, not a broken pipe.
#[tokio::test]
async fn an_oversized_body_answered_before_it_is_read_is_recorded() {
    use tokio::io::AsyncReadExt;
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if socket.read(&mut byte).await.unwrap() == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            let body = r#"{"title":"too large","status":413}"#;
            let answer = format!(
                "HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            drop(socket);
        }
    });
    let client = Client::new(&format!("http://{address}"), Duration::from_secs(10)).unwrap();
    for _ in 0..5 {
        let exchange = client
            .send(Request::raw(
                Method::POST,
                "/upload?x=1",
                vec![b'a'; 3 * 1024 * 1024],
                "application/json",
            ))
            .await;
        assert_eq!(exchange.status(), Some(413), "{:?}", exchange.error);
        assert_eq!(
            exchange.json(),
            Some(&json!({"title": "too large", "status": 413}))
        );
    }
}

#[tokio::test]
async fn requests_and_responses_are_recorded() {
    let router = Router::new().route(
        "/echo",
        post(|body: String| async move { ([("content-type", "application/json")], body) }),
    );
    let base_url = start(router).await;
    let client = Client::new(&base_url, Duration::from_secs(10)).unwrap();
    let exchange = client
        .send(
            Request::json(Method::POST, "/echo?x=1", &json!({"a": 1})).bearer("secret-token-value"),
        )
        .await;
    assert_eq!(exchange.request.url, format!("{base_url}/echo?x=1"));
    assert_eq!(exchange.request.body.as_deref(), Some(r#"{"a":1}"#));
    assert!(
        exchange.request.headers.contains(&(
            "authorization".to_string(),
            "Bearer secret…[redacted]".to_string()
        )),
        "{:?}",
        exchange.request.headers
    );
    let response = exchange.response.as_ref().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json, Some(json!({"a": 1})));
    assert_eq!(response.header("Content-Type"), Some("application/json"));
}

#[tokio::test]
async fn a_refused_connection_is_a_recorded_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(&format!("http://{address}"), Duration::from_secs(5)).unwrap();
    let exchange = client.send(Request::new(Method::GET, "/")).await;
    assert!(exchange.response.is_none());
    assert!(
        exchange.summary().starts_with("no response: "),
        "{}",
        exchange.summary()
    );
}
