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
