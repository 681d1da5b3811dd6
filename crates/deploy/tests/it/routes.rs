//! Attributing requests to route templates in `endpoints()`.

use apiwright_deploy::EndpointStats;
use apiwright_deploy::Proxy;
use apiwright_deploy::Route;
use apiwright_deploy::UNMATCHED_ROUTE;
use pretty_assertions::assert_eq;

use crate::call;
use crate::client;
use crate::config;
use crate::start_backend;

fn route(method: &str, template: &str) -> Route {
    Route {
        method: method.into(),
        template: template.into(),
    }
}

/// The counts of an endpoint, without its latencies (which vary run to run).
fn counts(endpoint: &EndpointStats) -> (&str, &str, &str, u64, u64, u64, u64) {
    (
        endpoint.backend.as_str(),
        endpoint.route.as_str(),
        endpoint.method.as_str(),
        endpoint.requests,
        endpoint.client_errors,
        endpoint.server_errors,
        endpoint.transport_errors,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_attributed_to_the_first_matching_template_or_to_unmatched() {
    let mut config = config(
        start_backend("blue").await,
        start_backend("green").await,
        (1, 1),
    );
    config.routes = vec![
        route("get", "/api/v1/books/{id}"),
        route("GET", "/api/v1/books"),
        route("POST", "/api/v1/books"),
        route("GET", "/boom"),
    ];
    let proxy = Proxy::start(config).await.unwrap();
    let client = client();
    // Alternating 1:1, so every even-numbered request goes to blue and the next to green.
    let requests = [
        ("GET", "/api/v1/books/1"),
        ("GET", "/api/v1/books/2?fields=title"),
        ("GET", "/api/v1/books"),
        ("POST", "/api/v1/books"),
        ("DELETE", "/api/v1/books/1"),
        ("GET", "/api/v1/books/1/reviews"),
        ("GET", "/boom"),
        ("GET", "/nowhere"),
    ];
    for (method, path) in requests {
        call(&client, &proxy, method, path, "").await;
    }
    let endpoints = proxy.endpoints();
    let found: Vec<_> = endpoints.iter().map(counts).collect();
    assert_eq!(
        found,
        vec![
            ("blue", UNMATCHED_ROUTE, "DELETE", 1, 1, 0, 0),
            ("blue", "/api/v1/books", "GET", 1, 0, 0, 0),
            ("blue", "/api/v1/books/{id}", "GET", 1, 0, 0, 0),
            ("blue", "/boom", "GET", 1, 0, 1, 0),
            ("green", UNMATCHED_ROUTE, "GET", 2, 2, 0, 0),
            ("green", "/api/v1/books", "POST", 1, 0, 0, 0),
            ("green", "/api/v1/books/{id}", "GET", 1, 0, 0, 0),
        ]
    );
    for endpoint in &endpoints {
        assert!(
            0 < endpoint.p50_us
                && endpoint.p50_us <= endpoint.p99_us
                && endpoint.p99_us <= endpoint.max_us,
            "{endpoint:?}"
        );
    }
    let snapshot = proxy.snapshot();
    assert_eq!(
        (snapshot[0].client_errors, snapshot[1].client_errors),
        (1, 2)
    );

    proxy.reset_window();
    assert_eq!(proxy.endpoints(), Vec::new());
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_route_is_refused_at_start() {
    let mut config = config(
        "http://127.0.0.1:1".into(),
        "http://127.0.0.1:2".into(),
        (1, 0),
    );
    config.routes = vec![route("GET", "books/{id}")];
    let error = Proxy::start(config).await.unwrap_err().to_string();
    assert!(
        error.contains("expected a path starting with '/'"),
        "{error}"
    );
}
