//! Tests of `/api/v1/auth`, written before its implementation: registration, login, refresh
//! rotation, logout, password reset, the current user, token checks, rate limits, and the
//! request-body error model.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::{PASSWORD, TestApp, assert_field_error, assert_problem};
use serde_json::{Value, json};

use {{ lib_name }}::config::{AdminAccount, DEFAULT_ROLE};

async fn register(app: &TestApp, email: &str) -> Value {
    let body = json!({ "email": email, "password": PASSWORD });
    let response = app.post("/api/v1/auth/register", None, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body
}

fn token(body: &Value, name: &str) -> String {
    body[name].as_str().expect("a token").to_owned()
}

#[tokio::test]
async fn register_creates_a_user_with_the_default_role() {
    let app = TestApp::new();
    let body = register(&app, "Alice@Example.com").await;
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["role"], DEFAULT_ROLE);
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body["expires_in"]
            .as_u64()
            .is_some_and(|seconds| seconds > 0)
    );
    assert!(body["user"].get("password_hash").is_none());
    let me = app
        .get("/api/v1/auth/me", Some(&token(&body, "access_token")))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["id"], body["user"]["id"]);
}

#[tokio::test]
async fn register_refuses_a_taken_email() {
    let app = TestApp::new();
    register(&app, "alice@example.com").await;
    let body = json!({ "email": "ALICE@example.com", "password": PASSWORD });
    let response = app.post("/api/v1/auth/register", None, body).await;
    assert_problem(&response, StatusCode::CONFLICT);
    assert_eq!(response.body["errors"][0]["field"], "email");
}

#[tokio::test]
async fn register_validates_the_fields() {
    let app = TestApp::new();
    let cases = [
        (
            json!({ "email": "bob@example.com", "password": "short" }),
            "password",
        ),
        (
            json!({ "email": "not-an-email", "password": PASSWORD }),
            "email",
        ),
        (
            json!({ "email": "bob@example", "password": PASSWORD }),
            "email",
        ),
        (json!({ "password": PASSWORD }), "email"),
        (
            json!({ "email": "bob@example.com", "password": 12345678 }),
            "password",
        ),
        (
            json!({ "email": "bob@example.com", "password": "x".repeat(1025) }),
            "password",
        ),
        (
            json!({ "email": "bob@example.com", "password": PASSWORD, "role": "admin" }),
            "role",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/api/v1/auth/register", None, body).await;
        assert_field_error(&response, field);
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_refused() {
    let app = TestApp::new();
    let request = |content_type: &str, body: Body| {
        Request::post("/api/v1/auth/register")
            .header("content-type", content_type)
            .body(body)
            .expect("a valid request")
    };
    let malformed = app
        .send(request("application/json", Body::from("{\"email\":")))
        .await;
    assert_problem(&malformed, StatusCode::BAD_REQUEST);
    let array = app
        .send(request("application/json", Body::from("[]")))
        .await;
    assert_problem(&array, StatusCode::BAD_REQUEST);
    let text = app.send(request("text/plain", Body::from("hello"))).await;
    assert_problem(&text, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = json!({ "email": "a".repeat(2 * 1024 * 1024) }).to_string();
    let too_large = app
        .send(request("application/json", Body::from(huge)))
        .await;
    assert_problem(&too_large, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn login_checks_the_password() {
    let app = TestApp::new();
    register(&app, "alice@example.com").await;
    let ok = json!({ "email": "alice@example.com", "password": PASSWORD });
    let response = app.post("/api/v1/auth/login", None, ok).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert!(response.body["access_token"].is_string());
    assert!(response.body["refresh_token"].is_string());
    let wrong = json!({ "email": "alice@example.com", "password": "wrong password" });
    let response = app.post("/api/v1/auth/login", None, wrong).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    let unknown = json!({ "email": "nobody@example.com", "password": PASSWORD });
    let response = app.post("/api/v1/auth/login", None, unknown).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let app = TestApp::new();
    let session = register(&app, "alice@example.com").await;
    let first = json!({ "refresh_token": token(&session, "refresh_token") });
    let response = app.post("/api/v1/auth/refresh", None, first.clone()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let second = token(&response.body, "refresh_token");
    assert_ne!(second, token(&session, "refresh_token"));
    let access = token(&response.body, "access_token");
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&access)).await.status,
        StatusCode::OK
    );

    // The old token is refused, and presenting it again ends every session.
    let reused = app.post("/api/v1/auth/refresh", None, first).await;
    assert_problem(&reused, StatusCode::UNAUTHORIZED);
    let body = json!({ "refresh_token": second });
    let response = app.post("/api/v1/auth/refresh", None, body).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
    let response = app.get("/api/v1/auth/me", Some(&access)).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);

    let body = json!({ "refresh_token": "not-a-token" });
    let response = app.post("/api/v1/auth/refresh", None, body).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let app = TestApp::with_config(|config| config.refresh_token_ttl = Duration::ZERO);
    let session = register(&app, "alice@example.com").await;
    let body = json!({ "refresh_token": token(&session, "refresh_token") });
    let response = app.post("/api/v1/auth/refresh", None, body).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_revokes_refresh_and_access_tokens() {
    let app = TestApp::new();
    let session = register(&app, "alice@example.com").await;
    let access = token(&session, "access_token");
    let response = app
        .call(
            axum::http::Method::POST,
            "/api/v1/auth/logout",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    let body = json!({ "refresh_token": token(&session, "refresh_token") });
    let response = app.post("/api/v1/auth/refresh", None, body).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
    let response = app.get("/api/v1/auth/me", Some(&access)).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
    let response = app
        .call(axum::http::Method::POST, "/api/v1/auth/logout", None, None)
        .await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_reset_replaces_the_password() {
    let app = TestApp::new();
    let session = register(&app, "alice@example.com").await;
    let unknown = json!({ "email": "nobody@example.com" });
    let response = app
        .post("/api/v1/auth/password-reset/request", None, unknown)
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    assert!(response.body.get("reset_token").is_none());
    let malformed = json!({ "email": "not an address" });
    assert_field_error(
        &app.post("/api/v1/auth/password-reset/request", None, malformed)
            .await,
        "email",
    );

    let known = json!({ "email": "alice@example.com" });
    let response = app
        .post("/api/v1/auth/password-reset/request", None, known)
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    let reset = token(&response.body, "reset_token");

    let confirm = "/api/v1/auth/password-reset/confirm";
    let weak = json!({ "token": reset, "new_password": "short" });
    assert_field_error(&app.post(confirm, None, weak).await, "new_password");
    let wrong = json!({ "token": "wrong", "new_password": "a brand new password" });
    assert_problem(
        &app.post(confirm, None, wrong).await,
        StatusCode::BAD_REQUEST,
    );
    let body = json!({ "token": reset, "new_password": "a brand new password" });
    let response = app.post(confirm, None, body.clone()).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    assert_problem(
        &app.post(confirm, None, body).await,
        StatusCode::BAD_REQUEST,
    );

    let old = json!({ "email": "alice@example.com", "password": PASSWORD });
    let response = app.post("/api/v1/auth/login", None, old).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
    app.login("alice@example.com", "a brand new password").await;
    let response = app
        .get("/api/v1/auth/me", Some(&token(&session, "access_token")))
        .await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reset_tokens_are_not_exposed_by_default() {
    let app = TestApp::with_config(|config| config.expose_reset_tokens = false);
    register(&app, "alice@example.com").await;
    let body = json!({ "email": "alice@example.com" });
    let response = app
        .post("/api/v1/auth/password-reset/request", None, body)
        .await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    assert!(response.body.get("reset_token").is_none());
}

#[tokio::test]
async fn me_requires_a_valid_token() {
    let app = TestApp::new();
    let response = app.get("/api/v1/auth/me", None).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
    let response = app.get("/api/v1/auth/me", Some("not.a.token")).await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
    let basic = Request::get("/api/v1/auth/me")
        .header("authorization", "Basic YWxpY2U6c2VjcmV0")
        .body(Body::empty())
        .expect("a valid request");
    assert_problem(&app.send(basic).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let app = TestApp::with_config(|config| config.access_token_ttl = Duration::ZERO);
    let session = register(&app, "alice@example.com").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = app
        .get("/api/v1/auth/me", Some(&token(&session, "access_token")))
        .await;
    assert_problem(&response, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_configured_admin_is_bootstrapped() {
    let app = TestApp::with_config(|config| {
        config.admin = Some(AdminAccount {
            email: "root@example.com".to_owned(),
            password: PASSWORD.to_owned(),
        });
    });
    let access = app.login("root@example.com", PASSWORD).await;
    let response = app.get("/api/v1/auth/me", Some(&access)).await;
    assert_eq!(response.body["role"], "admin");
}

#[tokio::test]
async fn credential_endpoints_are_rate_limited_per_ip() {
    let app = TestApp::with_config(|config| config.rate_limit_per_ip = 2);
    let login = |ip: [u8; 4]| {
        let mut request = Request::post("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({ "email": "a@example.com", "password": "x" }).to_string(),
            ))
            .expect("a valid request");
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 4000))));
        request
    };
    for _ in 0..2 {
        let response = app.send(login([10, 0, 0, 1])).await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            response.text
        );
    }
    let limited = app.send(login([10, 0, 0, 1])).await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after));
    let other = app.send(login([10, 0, 0, 2])).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{}", other.text);
}

#[tokio::test]
async fn requests_are_rate_limited_per_user() {
    let app = TestApp::with_config(|config| config.rate_limit_per_user = 2);
    let alice = token(&register(&app, "alice@example.com").await, "access_token");
    let bob = token(&register(&app, "bob@example.com").await, "access_token");
    for _ in 0..2 {
        assert_eq!(
            app.get("/api/v1/auth/me", Some(&alice)).await.status,
            StatusCode::OK
        );
    }
    let limited = app.get("/api/v1/auth/me", Some(&alice)).await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&bob)).await.status,
        StatusCode::OK
    );
}
