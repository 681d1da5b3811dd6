//! Helpers shared by the integration tests: a [`TestApp`] over a fresh database file, JSON
//! requests sent straight to the router (no network), users with a given role, and
//! assertions on problem documents.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use {{ lib_name }}::config::DEFAULT_ROLE;
use {{ lib_name }}::{AppConfig, build_app, ensure_user};

/// Password of every test user.
pub const PASSWORD: &str = "correct horse battery staple";

/// The app over its own database, deleted when dropped.
pub struct TestApp {
    pub router: Router,
    pub config: AppConfig,
    /// Access tokens by user name (creating a user again would revoke its tokens).
    tokens: Mutex<HashMap<String, String>>,
    _database: TempDatabase,
}

struct TempDatabase(PathBuf);

impl Drop for TempDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A response with its body read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A fresh database path in the temporary directory.
pub fn temp_database_path() -> PathBuf {
    std::env::temp_dir().join(format!("{{ crate_name }}-test-{}.db", uuid::Uuid::new_v4()))
}

impl TestApp {
    /// The app with test settings: reset tokens exposed, rate limits out of the way.
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// The app with test settings adjusted by `adjust`.
    pub fn with_config(adjust: impl FnOnce(&mut AppConfig)) -> Self {
        let path = temp_database_path();
        let mut config = AppConfig::new(&path);
        config.expose_reset_tokens = true;
        config.rate_limit_per_ip = 100_000;
        config.rate_limit_per_user = 100_000;
        adjust(&mut config);
        let router = build_app(config.clone()).expect("the app builds");
        Self {
            router,
            config,
            tokens: Mutex::new(HashMap::new()),
            _database: TempDatabase(path),
        }
    }

    /// Sends a request.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the body is readable")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    /// Sends `method path` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("a valid request"))
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Signs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = json!({ "email": email, "password": password });
        let response = self.post("/api/v1/auth/login", None, body).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        response.body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// An access token of the user `name@example.com` with `role` (created on first use).
    pub async fn token_for(&self, name: &str, role: &str) -> String {
        if let Some(token) = self.tokens.lock().expect("tokens").get(name) {
            return token.clone();
        }
        let email = format!("{name}@example.com");
        ensure_user(&self.config, &email, PASSWORD, role).expect("the user is created");
        let token = self.login(&email, PASSWORD).await;
        let mut tokens = self.tokens.lock().expect("tokens");
        tokens.insert(name.to_owned(), token.clone());
        token
    }

    /// An access token of an admin.
    pub async fn admin_token(&self) -> String {
        self.token_for("admin", "admin").await
    }

    /// An access token of a user with the default role.
    pub async fn member_token(&self, name: &str) -> String {
        self.token_for(name, DEFAULT_ROLE).await
    }

    /// Creates a record with `POST path` and returns its id.
    pub async fn create(&self, path: &str, token: Option<&str>, body: Value) -> String {
        let response = self.post(path, token, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        response.body["id"].as_str().expect("an id").to_owned()
    }
}

/// Asserts a problem document with `status`.
pub fn assert_problem(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json"),
        "{}",
        response.text
    );
    assert_eq!(response.body["status"], json!(status.as_u16()));
    assert!(response.body["title"].is_string());
    assert!(response.body["type"].is_string());
}

/// Asserts a 422 naming `field` among the invalid fields.
pub fn assert_field_error(response: &TestResponse, field: &str) {
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = response.body["errors"].as_array().expect("field errors");
    assert!(
        errors.iter().any(|error| error["field"] == field),
        "expected an error on `{field}`: {}",
        response.text
    );
}

/// `body` with `field` set to `value`, or removed when `value` is `None`.
pub fn with_field(body: &Value, field: &str, value: Option<Value>) -> Value {
    let mut body = body.clone();
    let object = body.as_object_mut().expect("a JSON object");
    match value {
        Some(value) => object.insert(field.to_owned(), value),
        None => object.remove(field),
    };
    body
}

/// The `id`s of a list response, in order.
pub fn ids(response: &TestResponse) -> Vec<String> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body["data"]
        .as_array()
        .expect("a data array")
        .iter()
        .map(|record| record["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The ids at `indices`.
pub fn pick(ids: &[String], indices: &[usize]) -> Vec<String> {
    indices.iter().map(|index| ids[*index].clone()).collect()
}

/// A JSON value as a percent-encoded query parameter value.
pub fn query_value(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
