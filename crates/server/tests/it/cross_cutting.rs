//! What every response gets: problem+json errors, request ids, security headers, the body
//! limit, rate limits, readiness and metrics.

use pretty_assertions::assert_eq;
use reqwest::StatusCode;

use crate::TestServer;
use crate::problem;

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let server = TestServer::start().await;
    let body = problem(
        server
            .client
            .get(server.url("/nope?token=secret"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["detail"], "no route matches GET /nope");
    assert_eq!(body["instance"], "/nope");
    let response = server
        .client
        .put(server.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    let body = problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["detail"], "PUT is not allowed on /api/v1/me");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated_and_security_headers_are_set() {
    let server = TestServer::start().await;
    let given = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-123");
    let generated = server
        .client
        .get(server.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("req_"), "{id}");
    let headers = generated.headers().clone();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", "default-src 'self'"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    assert!(headers.get("access-control-allow-origin").is_none());
    let body = problem(generated, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["request_id"], id.as_str());
    let weird = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "a b")
        .send()
        .await
        .unwrap();
    assert_ne!(weird.headers()["x-request-id"], "a b");
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let server = TestServer::start_with(|config| {
        config.cors_origins = vec!["https://app.example.com".to_owned()];
    })
    .await;
    let preflight = |origin: &str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, server.url("/api/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let server = TestServer::start().await;
    let big = vec![b' '; 2 * 1024 * 1024];
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(
        body["detail"],
        "the request body is larger than the limit of 1048576 bytes"
    );
}

#[tokio::test]
async fn rate_limits_per_ip_and_per_principal_answer_429_with_retry_after() {
    let server = TestServer::start_with(|config| {
        config.per_ip_per_minute = 5;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = server
            .client
            .get(server.url("/api/v1/me"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry_after), "{retry_after}");
            let body = problem(response, StatusCode::TOO_MANY_REQUESTS).await;
            assert!(
                body["detail"].as_str().unwrap().contains("per client IP"),
                "{body}"
            );
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    // Health checks are exempt.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let server = TestServer::start_with(|config| {
        config.per_principal_per_minute = 3;
    })
    .await;
    let tokens = server.admin_tokens().await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = server
            .client
            .get(server.url("/api/v1/me"))
            .bearer_auth(&tokens.access)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers().get("retry-after").is_some(),
            response.status() == StatusCode::TOO_MANY_REQUESTS
        );
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}

#[tokio::test]
async fn readyz_is_503_once_the_database_is_gone() {
    let server = TestServer::start().await;
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    std::fs::remove_file(&server.db_path).unwrap();
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    let body = problem(ready, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["detail"], "the state database does not answer");
    assert!(
        !body.to_string().contains(".apiwright"),
        "no paths in problems: {body}"
    );
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_labelled_by_route_template() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let (id, _) = server.api_key(&tokens.access, "viewer").await;
    let revoked = server
        .client
        .delete(server.url(&format!("/api/v1/api-keys/{id}")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    server
        .client
        .get(server.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    let response = server
        .client
        .get(server.url("/metrics"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let line = r#"apiwright_http_requests_total{method="DELETE",route="/api/v1/api-keys/{id}",status="204"} 1"#;
    assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    assert!(text.contains(r#"apiwright_http_request_duration_seconds_bucket{method="POST",route="/api/v1/auth/login",status="200",le="+Inf"} 1"#), "{text}");
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(!text.contains(&id), "no concrete ids in labels");
    assert!(!text.contains("/no/such/route"));
}

#[tokio::test]
async fn graceful_shutdown_returns() {
    let server = TestServer::start().await;
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let url = server.url("/healthz");
    server.stop().await;
    assert!(
        reqwest::get(url).await.is_err(),
        "nothing listens after shutdown"
    );
}
