//! Integration tests of apiwright-server: the real server on 127.0.0.1 (port 0), a fresh
//! database per test, requests with reqwest.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analytics;
mod auth_flow;
mod browser;
mod browser_contract;
mod browser_runs;
mod cdp;
mod contract;
mod cross_cutting;
mod dashboard;
mod host;
mod matrix;
mod memory;
mod runs;
mod schemathesis;

use std::path::PathBuf;

use apiwright_server::JwtSecret;
use apiwright_server::Server;
use apiwright_server::ServerConfig;
use reqwest::Response;
use reqwest::StatusCode;
use serde_json::Value;
use serde_json::json;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const SECRET: [u8; 32] = [42; 32];

/// A running server with an admin, stopped when dropped.
pub struct TestServer {
    pub base: String,
    pub db_path: PathBuf,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start_in(dir, adjust).await;
        apiwright_server::create_admin(&server.db_path, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .unwrap();
        server
    }

    /// A server on the database in `dir` (made by an earlier server: no admin is created).
    pub async fn restart_in(dir: tempfile::TempDir) -> TestServer {
        TestServer::start_in(dir, |_| {}).await
    }

    /// Stops the server gracefully and hands back its directory (database and workspaces).
    pub async fn stop_keeping_files(mut self) -> tempfile::TempDir {
        if let Some(shutdown) = self.shutdown.take() {
            shutdown.send(()).unwrap();
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self._dir, placeholder)
    }

    async fn start_in(
        dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let db_path = dir.path().join(".apiwright/state.db");
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            db_path: db_path.clone(),
            jwt_secret: JwtSecret::new(SECRET.to_vec()).unwrap(),
            cors_origins: Vec::new(),
            body_limit: ServerConfig::DEFAULT_BODY_LIMIT,
            per_ip_per_minute: 10_000,
            per_principal_per_minute: 10_000,
            workers: 2,
            max_queued: 8,
            shutdown_grace: std::time::Duration::from_secs(10),
        };
        adjust(&mut config);
        if let Some(parent) = db_path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let host = std::sync::Arc::new(host::TestHost::new(&db_path));
        let server = Server::bind(config, host).await.unwrap();
        let address = server.local_addr().unwrap();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stop.await;
                })
                .await
                .unwrap();
        });
        TestServer {
            base: format!("http://{address}"),
            db_path,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            task: Some(task),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// The admin's token pair.
    pub async fn admin_tokens(&self) -> Tokens {
        let response = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        Tokens {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates an API key with `role` as the admin; returns (id, key).
    pub async fn api_key(&self, admin_access: &str, role: &str) -> (String, String) {
        let response = self
            .client
            .post(self.url("/api/v1/api-keys"))
            .bearer_auth(admin_access)
            .json(&json!({"name": format!("{role} key"), "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        (
            body["id"].as_str().unwrap().to_owned(),
            body["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            shutdown.send(()).unwrap();
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// Asserts `response` is a problem+json with `status`, and returns its body.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["type"], "about:blank");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    assert!(body["request_id"].is_string(), "{body}");
    body
}
