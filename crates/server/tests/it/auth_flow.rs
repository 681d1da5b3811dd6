//! Login, me, refresh, logout and API keys, end to end.

use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::Value;
use serde_json::json;

use crate::ADMIN_EMAIL;
use crate::TestServer;
use crate::problem;

#[tokio::test]
async fn login_then_me_shows_the_admin() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let response = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut me: Value = response.json().await.unwrap();
    assert!(me["id"].as_str().unwrap().starts_with("usr_"));
    me["id"] = json!("<id>");
    assert_eq!(
        me,
        json!({"id": "<id>", "email": ADMIN_EMAIL, "role": "admin", "via": "jwt"})
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let server = TestServer::start().await;
    let wrong = problem(
        server.login(ADMIN_EMAIL, "not the password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unknown = problem(
        server.login("nobody@example.com", "not the password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong["detail"], "wrong email or password");
    assert_eq!(unknown["detail"], wrong["detail"]);
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let refresh = |token: String| {
        server
            .client
            .post(server.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": token}))
            .send()
    };
    let response = refresh(tokens.refresh.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let new_access = body["access_token"].as_str().unwrap();
    let new_refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_ne!(new_refresh, tokens.refresh);
    let me = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // The old refresh token was spent.
    problem(
        refresh(tokens.refresh).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(refresh(new_refresh).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_revokes_the_access_and_the_refresh_token() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let other_session = server.admin_tokens().await;
    let response = server
        .client
        .post(server.url("/api/v1/auth/logout"))
        .bearer_auth(&tokens.access)
        .json(&json!({"refresh_token": tokens.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let me = |access: String| {
        server
            .client
            .get(server.url("/api/v1/me"))
            .bearer_auth(access)
            .send()
    };
    let body = problem(
        me(tokens.access.clone()).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        body["detail"],
        "the access token is invalid, expired or revoked"
    );
    let refreshed = server
        .client
        .post(server.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": tokens.refresh}))
        .send()
        .await
        .unwrap();
    problem(refreshed, StatusCode::UNAUTHORIZED).await;
    // Another session of the same user is untouched.
    assert_eq!(
        me(other_session.access).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn api_keys_are_created_used_listed_and_revoked() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let (id, key) = server.api_key(&tokens.access, "operator").await;
    assert!(key.starts_with("aw_"), "{key}");

    // Both header forms work.
    let by_bearer = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let by_header = server
        .client
        .get(server.url("/api/v1/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    for response in [by_bearer, by_header] {
        assert_eq!(response.status(), StatusCode::OK);
        let me: Value = response.json().await.unwrap();
        assert_eq!(
            (me["role"].as_str(), me["via"].as_str()),
            (Some("operator"), Some("api_key"))
        );
    }

    let listed: Value = server
        .client
        .get(server.url("/api/v1/api-keys"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["prefix"], &key[..11]);
    assert!(
        items[0].get("key").is_none(),
        "a listed key never shows the secret"
    );
    assert!(!listed.to_string().contains(&key));

    let revoke = || {
        server
            .client
            .delete(server.url(&format!("/api/v1/api-keys/{id}")))
            .bearer_auth(&tokens.access)
            .send()
    };
    assert_eq!(revoke().await.unwrap().status(), StatusCode::NO_CONTENT);
    problem(revoke().await.unwrap(), StatusCode::NOT_FOUND).await;
    let after = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let body = problem(after, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["detail"], "the API key is unknown or revoked");
}

#[tokio::test]
async fn invalid_api_key_bodies_are_problems() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let create = |body: Value| {
        server
            .client
            .post(server.url("/api/v1/api-keys"))
            .bearer_auth(&tokens.access)
            .json(&body)
            .send()
    };
    problem(
        create(json!({"name": "x", "role": "root"})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let blank = problem(
        create(json!({"name": "  ", "role": "viewer"}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        blank["detail"],
        "name: expected a character other than whitespace, found only whitespace"
    );
    let not_json = server
        .client
        .post(server.url("/api/v1/api-keys"))
        .bearer_auth(&tokens.access)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::BAD_REQUEST).await;
    let no_type = server
        .client
        .post(server.url("/api/v1/api-keys"))
        .bearer_auth(&tokens.access)
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(no_type, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn workflows_lists_the_builtins_for_a_viewer() {
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    let (_, viewer_key) = server.api_key(&tokens.access, "viewer").await;
    let body: Value = server
        .client
        .get(server.url("/api/v1/workflows"))
        .bearer_auth(&viewer_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, apiwright_workflow::builtin::NAMES.to_vec());
    for item in items {
        let name = item["name"].as_str().unwrap();
        let workflow = apiwright_workflow::builtin::load(name).unwrap().unwrap();
        assert_eq!(item["phases"], workflow.phases.len(), "{name}");
        assert_eq!(item["description"], workflow.description.as_str(), "{name}");
    }
}

#[tokio::test]
async fn an_admin_creates_users_whose_roles_hold() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;
    let create = |email: &str, password: &str, role: &str| {
        server
            .client
            .post(server.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({"email": email, "password": password, "role": role}))
            .send()
    };
    let created = create("ops@example.com", "operator password 1", "operator")
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["role"], "operator");
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());
    let taken = create("ops@example.com", "operator password 1", "viewer")
        .await
        .unwrap();
    problem(taken, StatusCode::CONFLICT).await;
    let short = create("v@example.com", "short", "viewer").await.unwrap();
    let body = problem(short, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["detail"].as_str().unwrap().starts_with("password:"),
        "{body}"
    );
    let bad_email = create("not-an-email", "viewer password 12", "viewer")
        .await
        .unwrap();
    let body = problem(bad_email, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["detail"].as_str().unwrap().starts_with("email:"),
        "{body}"
    );
    assert_eq!(
        create("viewer@example.com", "viewer password 12", "viewer")
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let listed: Value = server
        .client
        .get(server.url("/api/v1/users"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["admin@example.com", "ops@example.com", "viewer@example.com"]
    );

    // The operator logs in and may steer runs but not manage users; the viewer only reads.
    let mut tokens = Vec::new();
    for (email, password) in [
        ("ops@example.com", "operator password 1"),
        ("viewer@example.com", "viewer password 12"),
    ] {
        let body: Value = server.login(email, password).await.json().await.unwrap();
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    let (operator, viewer) = (tokens[0].clone(), tokens[1].clone());
    let start = |token: String| {
        server
            .client
            .post(server.url("/api/v1/runs"))
            .bearer_auth(token)
            .json(&json!({"workflow": "no-such-workflow"}))
            .send()
    };
    // Past the role check: the operator gets the workflow's 404, the viewer a 403.
    problem(
        start(operator.clone()).await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(start(viewer.clone()).await.unwrap(), StatusCode::FORBIDDEN).await;
    let users = server
        .client
        .get(server.url("/api/v1/users"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    problem(users, StatusCode::FORBIDDEN).await;
    let runs = server
        .client
        .get(server.url("/api/v1/runs"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(runs.status(), StatusCode::OK);
}
