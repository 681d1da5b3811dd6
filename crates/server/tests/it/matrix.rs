//! The auth matrix: every route × no credentials / an expired token / too low a role.

use jsonwebtoken::EncodingKey;
use jsonwebtoken::Header;
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::json;

use crate::SECRET;
use crate::TestServer;
use crate::problem;

/// Every route that needs credentials, with the least role it needs.
const PROTECTED: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/auth/logout", "viewer"),
    ("GET", "/api/v1/me", "viewer"),
    ("GET", "/api/v1/workflows", "viewer"),
    ("GET", "/metrics", "viewer"),
    ("POST", "/api/v1/api-keys", "admin"),
    ("GET", "/api/v1/api-keys", "admin"),
    ("DELETE", "/api/v1/api-keys/key_0123", "admin"),
    ("POST", "/api/v1/users", "admin"),
    ("GET", "/api/v1/users", "admin"),
    ("GET", "/api/v1/memory", "viewer"),
    ("GET", "/api/v1/memory/search?q=x", "viewer"),
    ("GET", "/api/v1/memory/entries/a/b/c", "viewer"),
    ("PUT", "/api/v1/memory/entries/a/b/c", "operator"),
    ("DELETE", "/api/v1/memory/entries/a/b/c", "operator"),
    ("GET", "/api/v1/memory/history/a/b/c", "viewer"),
    ("GET", "/api/v1/analytics/dashboard", "viewer"),
    ("POST", "/api/v1/workflows", "operator"),
    ("POST", "/api/v1/workflows/validate", "viewer"),
    ("GET", "/api/v1/workflows/api-development", "viewer"),
    (
        "PUT",
        "/api/v1/workflows/api-development/execute",
        "operator",
    ),
    ("GET", "/api/v1/runs", "viewer"),
    ("POST", "/api/v1/runs", "operator"),
    ("GET", "/api/v1/runs/r1", "viewer"),
    ("POST", "/api/v1/runs/r1/cancel", "operator"),
    ("POST", "/api/v1/runs/r1/resume", "operator"),
    ("GET", "/api/v1/runs/r1/events", "viewer"),
    ("POST", "/api/v1/runs/r1/approvals/g1", "operator"),
    ("GET", "/api/v1/approvals", "viewer"),
];

/// The routes that answer without credentials (any other status than 401 is fine here).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/assets/app.js"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("GET", "/openapi.json"),
    ("GET", "/docs/"),
];

fn request(server: &TestServer, method: &str, path: &str) -> reqwest::RequestBuilder {
    let builder = server.client.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        server.url(path),
    );
    // A valid body, so only the credentials can be the reason for a refusal.
    match method {
        "POST" => builder.json(&json!({"name": "n", "role": "viewer"})),
        "PUT" => builder.json(&json!({"value": "v"})),
        _ => builder,
    }
}

/// A correctly signed token for the admin that expired a minute ago.
fn expired_token(user_id: &str) -> String {
    let now = apiwright_store::now_ms() / 1000;
    let claims = json!({
        "sub": user_id, "role": "admin", "iat": now - 960, "exp": now - 60, "jti": "jti_expired"
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&SECRET),
    )
    .unwrap()
}

#[tokio::test]
async fn every_protected_route_refuses_missing_expired_and_underprivileged_callers() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let me: serde_json::Value = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expired = expired_token(me["id"].as_str().unwrap());
    let (_, viewer_key) = server.api_key(&tokens.access, "viewer").await;
    let (_, operator_key) = server.api_key(&tokens.access, "operator").await;

    for (method, path, role) in PROTECTED {
        let case = format!("{method} {path}");
        let missing = request(&server, method, path).send().await.unwrap();
        assert_eq!(missing.headers()["www-authenticate"], "Bearer", "{case}");
        problem(missing, StatusCode::UNAUTHORIZED).await;

        let expired = request(&server, method, path)
            .bearer_auth(&expired)
            .send()
            .await
            .unwrap();
        assert_eq!(
            expired.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{case}"
        );
        problem(expired, StatusCode::UNAUTHORIZED).await;

        let garbage = request(&server, method, path)
            .bearer_auth("aw_not_a_key")
            .send()
            .await
            .unwrap();
        problem(garbage, StatusCode::UNAUTHORIZED).await;

        for (key, key_role) in [(&viewer_key, "viewer"), (&operator_key, "operator")] {
            let response = request(&server, method, path)
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            let allowed = matches!((*role, key_role), ("viewer", _) | ("operator", "operator"));
            if allowed {
                let status = response.status();
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{case} as {key_role}: {status}"
                );
            } else {
                let body = problem(response, StatusCode::FORBIDDEN).await;
                assert_eq!(
                    body["detail"],
                    format!("this operation needs the {role} role; the caller has {key_role}"),
                    "{case}"
                );
            }
        }
    }

    for (method, path) in PUBLIC {
        let response = request(&server, method, path).send().await.unwrap();
        let status = response.status();
        assert!(
            status != StatusCode::UNAUTHORIZED || path.starts_with("/api/v1/auth/"),
            "{method} {path}: {status}"
        );
        assert_ne!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}

#[tokio::test]
async fn tokens_signed_with_another_secret_or_algorithm_are_refused() {
    let server = TestServer::start().await;
    let now = apiwright_store::now_ms() / 1000;
    let claims =
        json!({"sub": "usr_x", "role": "admin", "iat": now, "exp": now + 600, "jti": "jti_1"});
    let other_secret = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&[7; 32]),
    )
    .unwrap();
    let hs512 = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(&SECRET),
    )
    .unwrap();
    for token in [other_secret, hs512] {
        let response = server
            .client
            .get(server.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
}
