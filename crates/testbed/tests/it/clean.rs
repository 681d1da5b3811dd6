//! The clean service: the positive control every gate must pass.

use apiwright_testbed::AdminAccount;
use apiwright_testbed::Config;
use serde_json::json;

use crate::support::Body;
use crate::support::PASSWORD;
use crate::support::TestServer;
use crate::support::access_token;

const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("content-security-policy", "default-src 'none'"),
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
];

fn admin_config() -> Config {
    Config {
        admin: Some(AdminAccount {
            email: "root@example.com".to_owned(),
            password: PASSWORD.to_owned(),
        }),
        ..Config::clean()
    }
}

#[test]
fn health_answers_ok() {
    let server = TestServer::start(Config::clean());
    let reply = server.get("/health", None);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({ "status": "ok" }));
}

#[test]
fn every_response_carries_the_security_headers_and_no_cors() {
    let server = TestServer::start(Config::clean());
    let replies = [
        server.get("/health", None),
        server.get("/openapi.json", None),
        server.get("/api/v1/notes", None),
        server.get("/nowhere", None),
        server.request("PUT", "/health", None, None),
        server.post("/api/v1/auth/login", None, json!({ "email": "x" })),
    ];
    for reply in replies {
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(reply.header(name), Some(value), "{name} on {reply:?}");
        }
        assert_eq!(reply.header("access-control-allow-origin"), None);
    }
}

#[test]
fn unknown_paths_and_methods_are_problems() {
    let server = TestServer::start(Config::clean());
    let reply = server.get("/nowhere", None);
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    let reply = server.request("PUT", "/api/v1/notes", None, None);
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json()["status"], 405);
    assert_eq!(server.get("/api/v1/debug", None).status, 404);
}

#[test]
fn register_login_refresh_logout() {
    let server = TestServer::start(Config::clean());
    let user = server.register("alice@example.com");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["role"], "member");
    assert_eq!(user["id"].as_str().unwrap().len(), 36);
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    let user_fields = user
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(user_fields, ["created_at", "email", "id", "role"]);

    let duplicate = server.post(
        "/api/v1/auth/register",
        None,
        json!({ "email": "ALICE@example.com", "password": PASSWORD }),
    );
    assert_eq!(duplicate.status, 409);

    let wrong = server.post(
        "/api/v1/auth/login",
        None,
        json!({ "email": "alice@example.com", "password": "not the password" }),
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    let unknown = server.post(
        "/api/v1/auth/login",
        None,
        json!({ "email": "bob@example.com", "password": PASSWORD }),
    );
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json()["detail"], wrong.json()["detail"]);

    let tokens = server.login("alice@example.com");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let me = server.get("/api/v1/auth/me", Some(&access_token(&tokens)));
    assert_eq!(me.status, 200);
    assert_eq!(me.json(), user);

    let refreshed = server.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": tokens["refresh_token"] }),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let refreshed = refreshed.json();
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    let reused = server.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": tokens["refresh_token"] }),
    );
    assert_eq!(
        reused.status, 401,
        "a spent refresh token must not work twice"
    );

    let access = access_token(&refreshed);
    assert_eq!(
        server
            .post("/api/v1/auth/logout", Some(&access), json!({}))
            .status,
        204
    );
    assert_eq!(server.get("/api/v1/auth/me", Some(&access)).status, 401);
    assert_eq!(
        server
            .get("/api/v1/auth/me", Some(&access_token(&tokens)))
            .status,
        401,
        "tokens issued before the logout are revoked too"
    );
    let after_logout = server.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": refreshed["refresh_token"] }),
    );
    assert_eq!(after_logout.status, 401);

    let again = server.login("alice@example.com");
    assert_eq!(
        server
            .get("/api/v1/auth/me", Some(&access_token(&again)))
            .status,
        200
    );
}

#[test]
fn bad_tokens_are_refused() {
    let server = TestServer::start(Config::clean());
    let token = server.sign_up("alice@example.com");
    assert_eq!(server.get("/api/v1/auth/me", None).status, 401);
    assert_eq!(server.get("/api/v1/auth/me", Some("garbage")).status, 401);
    let payload = token.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert_eq!(server.get("/api/v1/auth/me", Some(&unsigned)).status, 401);
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(server.get("/api/v1/auth/me", Some(&tampered)).status, 401);
}

#[test]
fn registration_is_validated() {
    let server = TestServer::start(Config::clean());
    let cases = [
        json!({ "email": "not-an-email", "password": PASSWORD }),
        json!({ "email": "a@example.com", "password": "short" }),
        json!({ "email": "a@example.com", "password": "x".repeat(129) }),
        json!({ "email": "a@example.com" }),
        json!({ "email": "a@example.com", "password": PASSWORD, "role": "admin" }),
        json!({ "email": "a@example.com", "password": PASSWORD, "id": "x" }),
        json!({ "email": 7, "password": PASSWORD }),
        json!(["a@example.com", PASSWORD]),
    ];
    for body in cases {
        let reply = server.post("/api/v1/auth/register", None, body.clone());
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        assert!(!reply.json()["errors"].as_array().unwrap().is_empty());
    }
    let reply = server.post(
        "/api/v1/auth/register",
        None,
        json!({ "email": "a@example.com", "password": PASSWORD, "role": "admin" }),
    );
    assert_eq!(
        reply.json()["errors"],
        json!([{ "field": "role", "message": "unknown field" }])
    );
}

#[test]
fn malformed_oversized_and_mistyped_bodies() {
    let server = TestServer::start(Config::clean());
    let token = server.sign_up("alice@example.com");
    let malformed = server.request(
        "POST",
        "/api/v1/notes",
        Some(&token),
        Some(Body::Raw("application/json", b"{\"title\": ".to_vec())),
    );
    assert_eq!(malformed.status, 400);
    assert!(malformed.json().get("debug").is_none());
    assert!(!malformed.text.contains("line"), "{}", malformed.text);

    let plain = server.request(
        "POST",
        "/api/v1/notes",
        Some(&token),
        Some(Body::Raw("text/plain", b"{\"title\":\"x\"}".to_vec())),
    );
    assert_eq!(plain.status, 415);

    let huge = format!("{{\"title\":\"x\",\"body\":\"{}\"}}", "y".repeat(70 * 1024));
    let too_large = server.request(
        "POST",
        "/api/v1/notes",
        Some(&token),
        Some(Body::Raw("application/json", huge.into_bytes())),
    );
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.json()["status"], 413);
}

#[test]
fn notes_belong_to_their_owner() {
    let server = TestServer::start(Config::clean());
    let alice = server.sign_up("alice@example.com");
    let bob = server.sign_up("bob@example.com");
    let note = server.create_note(&alice, "groceries");
    assert_eq!(note["pinned"], false);
    assert_eq!(note["title"], "groceries");
    let alice_id = server.get("/api/v1/auth/me", Some(&alice)).json()["id"].clone();
    assert_eq!(note["owner_id"], alice_id);
    let path = format!("/api/v1/notes/{}", note["id"]);

    assert_eq!(server.get(&path, Some(&alice)).json(), note);
    assert_eq!(server.get(&path, Some(&bob)).status, 404);
    assert_eq!(
        server
            .patch(&path, Some(&bob), json!({ "title": "mine" }))
            .status,
        404
    );
    assert_eq!(server.delete(&path, Some(&bob)).status, 404);
    assert_eq!(server.get("/api/v1/notes", Some(&bob)).json()["total"], 0);
    assert_eq!(server.get(&path, None).status, 401);
    assert_eq!(server.delete(&path, None).status, 401);

    let changed = server.patch(&path, Some(&alice), json!({ "pinned": true }));
    assert_eq!(changed.status, 200);
    let changed = changed.json();
    assert_eq!(changed["pinned"], true);
    assert_eq!(changed["title"], "groceries");
    assert_eq!(server.delete(&path, Some(&alice)).status, 204);
    assert_eq!(server.get(&path, Some(&alice)).status, 404);
    assert_eq!(server.get("/api/v1/notes/abc", Some(&alice)).status, 400);
    assert_eq!(
        server
            .get("/api/v1/notes/99999999999999999999", Some(&alice))
            .status,
        400
    );
}

#[test]
fn note_bodies_cannot_set_protected_fields() {
    let server = TestServer::start(Config::clean());
    let alice = server.sign_up("alice@example.com");
    let note = server.create_note(&alice, "groceries");
    let path = format!("/api/v1/notes/{}", note["id"]);
    for body in [
        json!({ "title": "x", "owner_id": "someone" }),
        json!({ "title": "x", "id": 5 }),
        json!({ "title": "" }),
        json!({ "title": "x".repeat(201) }),
        json!({ "body": "x" }),
        json!({ "title": "x", "pinned": "yes" }),
        json!(["x", "y", true]),
    ] {
        let reply = server.post("/api/v1/notes", Some(&alice), body.clone());
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
    }
    for body in [
        json!([]),
        json!(["retitled"]),
        json!({ "owner_id": "someone" }),
        json!({ "title": null }),
        json!({ "created_at": "2020-01-01T00:00:00Z" }),
    ] {
        let reply = server.patch(&path, Some(&alice), body.clone());
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
    }
    assert_eq!(server.get(&path, Some(&alice)).json(), note);
}

#[test]
fn listing_searches_and_pages() {
    let server = TestServer::start(Config::clean());
    let alice = server.sign_up("alice@example.com");
    let bob = server.sign_up("bob@example.com");
    for title in ["milk", "eggs", "100% butter", "o'clock"] {
        server.create_note(&alice, title);
    }
    server.create_note(&bob, "milk for bob");

    let page = server
        .get("/api/v1/notes?limit=2&offset=1", Some(&alice))
        .json();
    assert_eq!(page["total"], 4);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 1);
    let titles: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["title"].clone())
        .collect();
    assert_eq!(titles, ["eggs", "100% butter"]);

    let search = |q: &str| {
        server
            .get(&format!("/api/v1/notes?q={q}"), Some(&alice))
            .json()["total"]
            .clone()
    };
    assert_eq!(search("MILK"), 1);
    assert_eq!(search("100%25"), 1);
    assert_eq!(search("%25"), 1);
    assert_eq!(search("o%27clock"), 1);
    assert_eq!(search("%27"), 1);
    assert_eq!(search("%27%20OR%20%271%27%3D%271"), 0);
    assert_eq!(
        server.get("/api/v1/notes", Some(&alice)).json()["limit"],
        20
    );

    for query in ["limit=0", "limit=101", "limit=abc", "offset=-1", "offset=x"] {
        let reply = server.get(&format!("/api/v1/notes?{query}"), Some(&alice));
        assert_eq!(reply.status, 422, "{query}");
    }
    let long = "x".repeat(201);
    assert_eq!(
        server
            .get(&format!("/api/v1/notes?q={long}"), Some(&alice))
            .status,
        422
    );
}

#[test]
fn admins_see_everything_members_get_403() {
    let server = TestServer::start(admin_config());
    let member = server.sign_up("alice@example.com");
    let note = server.create_note(&member, "private");
    assert_eq!(server.get("/api/v1/admin/users", Some(&member)).status, 403);
    assert_eq!(server.get("/api/v1/admin/users", None).status, 401);

    let admin = access_token(&server.login("root@example.com"));
    let users = server.get("/api/v1/admin/users", Some(&admin));
    assert_eq!(users.status, 200);
    let roles: Vec<_> = users.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| (user["email"].clone(), user["role"].clone()))
        .collect();
    assert_eq!(
        roles,
        [
            (json!("root@example.com"), json!("admin")),
            (json!("alice@example.com"), json!("member"))
        ]
    );
    assert_eq!(server.get("/api/v1/notes", Some(&admin)).json()["total"], 1);
    let path = format!("/api/v1/notes/{}", note["id"]);
    assert_eq!(server.get(&path, Some(&admin)).status, 200);
}

#[test]
fn anonymous_requests_are_limited_per_ip() {
    let server = TestServer::start(Config {
        rate_limit_per_ip: 3,
        ..Config::clean()
    });
    for _ in 0..3 {
        assert_eq!(server.get("/health", None).status, 200);
    }
    let limited = server.get("/health", None);
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.header("content-type"),
        Some("application/problem+json")
    );
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        server.post("/api/v1/auth/login", None, json!({})).status,
        429
    );
}

#[test]
fn signed_in_requests_are_limited_per_user() {
    let server = TestServer::start(Config {
        rate_limit_per_user: 3,
        ..Config::clean()
    });
    let alice = server.sign_up("alice@example.com");
    let bob = server.sign_up("bob@example.com");
    for _ in 0..3 {
        assert_eq!(server.get("/api/v1/notes", Some(&alice)).status, 200);
    }
    let limited = server.get("/api/v1/notes", Some(&alice));
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(server.get("/api/v1/notes", Some(&bob)).status, 200);
}

#[test]
fn a_database_file_keeps_data_across_restarts() {
    let directory = tempfile::tempdir().unwrap();
    let config = Config {
        database_path: Some(directory.path().join("testbed.db")),
        jwt_secret: Some("a fixed secret".to_owned()),
        ..Config::clean()
    };
    let token = {
        let server = TestServer::start(config.clone());
        let token = server.sign_up("alice@example.com");
        server.create_note(&token, "kept");
        token
    };
    let server = TestServer::start(config);
    assert_eq!(server.get("/api/v1/notes", Some(&token)).json()["total"], 1);
}

#[test]
fn a_connection_survives_answers_that_ignore_the_body() {
    use std::io::Read;
    use std::io::Write;

    let server = TestServer::start(Config::clean());
    let address = server.base_url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    // The body arrives after the headers, as many clients send it, and the 401 ignores it.
    for _ in 0..3 {
        stream
            .write_all(
                b"POST /api/v1/auth/logout HTTP/1.1\r\nhost: x\r\n\
                  content-type: application/json\r\ncontent-length: 2\r\n\r\n",
            )
            .unwrap();
        stream.flush().unwrap();
        std::thread::yield_now();
        stream.write_all(b"{}").unwrap();
        let mut answer = Vec::new();
        let mut buffer = [0_u8; 4096];
        while !answer.ends_with(b"}") {
            let read = stream.read(&mut buffer).unwrap();
            assert_ne!(read, 0, "the server closed the connection");
            answer.extend_from_slice(&buffer[..read]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 401"));
    }
}

#[test]
fn an_oversized_body_is_answered_413_without_a_broken_pipe() {
    let server = TestServer::start(Config::clean());
    let token = server.sign_up("alice@example.com");
    let huge = format!(
        "{{\"title\":\"x\",\"body\":\"{}\"}}",
        "y".repeat(512 * 1024)
    );
    for _ in 0..3 {
        let reply = server.request(
            "POST",
            "/api/v1/notes",
            Some(&token),
            Some(Body::Raw("application/json", huge.clone().into_bytes())),
        );
        assert_eq!(reply.status, 413);
    }
    assert_eq!(server.get("/api/v1/notes", Some(&token)).status, 200);
}

#[test]
fn serving_stops_when_asked() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(apiwright_testbed::serve_with_shutdown(
            Config::clean(),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        stop.send(()).unwrap();
        let result = tokio::time::timeout(std::time::Duration::from_secs(5), serving)
            .await
            .unwrap()
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
    });
}
