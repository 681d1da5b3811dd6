//! The memory API: writes with versions and writers, history, deletes, patterns, prefixes,
//! search, and the 404/415/422 answers.

use pretty_assertions::assert_eq;
use reqwest::Method;
use reqwest::Response;
use reqwest::StatusCode;
use serde_json::Value;
use serde_json::json;

use crate::ADMIN_EMAIL;
use crate::TestServer;
use crate::problem;

const KEY: &str = "phase-1/product-manager/requirements";

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let builder = server
        .client
        .request(method, server.url(path))
        .bearer_auth(token);
    let builder = match body {
        Some(body) => builder.json(&body),
        None => builder,
    };
    builder.send().await.unwrap()
}

/// The JSON body of a response with `status`, `written_at` checked and replaced by 0.
async fn body(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let mut body: Value = response.json().await.unwrap();
    redact_written_at(&mut body);
    body
}

fn redact_written_at(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(at) = object.get_mut("written_at") {
                assert!(at.as_i64().unwrap() > 1_600_000_000_000, "{at}");
                *at = json!(0);
            }
            object.values_mut().for_each(redact_written_at);
        }
        Value::Array(items) => items.iter_mut().for_each(redact_written_at),
        _ => {}
    }
}

/// The keys of a listing, and its `truncated` flag.
async fn keys(response: Response) -> (Vec<String>, bool) {
    let body = body(response, StatusCode::OK).await;
    let keys = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["key"].as_str().unwrap().to_owned())
        .collect();
    (keys, body["truncated"].as_bool().unwrap())
}

#[tokio::test]
async fn put_get_history_and_delete_keep_versions_and_writers() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;
    let (operator_id, operator) = server.api_key(&admin, "operator").await;
    let (_, viewer) = server.api_key(&admin, "viewer").await;
    let entry_path = format!("/api/v1/memory/entries/{KEY}");
    let admin_writer = format!("user:{ADMIN_EMAIL}");
    let operator_writer = format!("api-key:{operator_id}");

    let requirements = json!({"endpoints": ["GET /books"], "count": 1});
    let created = send(
        &server,
        Method::PUT,
        &entry_path,
        &admin,
        Some(json!({"value": requirements})),
    )
    .await;
    let first = json!({
        "key": KEY, "value": requirements, "value_type": "json", "version": 1, "written_at": 0,
        "writer": admin_writer,
        "tags": {"who": admin_writer, "why": "api memory put"},
    });
    assert_eq!(body(created, StatusCode::CREATED).await, first);

    let replaced = send(
        &server,
        Method::PUT,
        &entry_path,
        &operator,
        Some(json!({"value": "plain text\nsecond line", "tags": {"why": "revision", "run": "r1"}})),
    )
    .await;
    let second = json!({
        "key": KEY, "value": "plain text\nsecond line", "value_type": "text", "version": 2,
        "written_at": 0, "writer": operator_writer,
        "tags": {"who": operator_writer, "why": "revision", "run": "r1"},
    });
    assert_eq!(body(replaced, StatusCode::OK).await, second);

    let read = send(&server, Method::GET, &entry_path, &viewer, None).await;
    assert_eq!(body(read, StatusCode::OK).await, second);

    let deleted = send(&server, Method::DELETE, &entry_path, &operator, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = problem(
        send(&server, Method::GET, &entry_path, &viewer, None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(gone["detail"], format!("no memory key `{KEY}`"));
    problem(
        send(&server, Method::DELETE, &entry_path, &operator, None).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Written again after a delete: created, and the version keeps counting.
    let again = send(
        &server,
        Method::PUT,
        &entry_path,
        &operator,
        Some(json!({"value": null})),
    )
    .await;
    let again = body(again, StatusCode::CREATED).await;
    assert_eq!(
        (again["version"].clone(), again["value"].clone()),
        (json!(3), Value::Null)
    );

    let history = send(
        &server,
        Method::GET,
        &format!("/api/v1/memory/history/{KEY}"),
        &viewer,
        None,
    )
    .await;
    assert_eq!(
        body(history, StatusCode::OK).await,
        json!({"key": KEY, "items": [
            {"version": 1, "op": "put", "value": requirements, "value_type": "json",
             "written_at": 0, "writer": admin_writer,
             "tags": {"who": admin_writer, "why": "api memory put"}},
            {"version": 2, "op": "put", "value": "plain text\nsecond line", "value_type": "text",
             "written_at": 0, "writer": operator_writer,
             "tags": {"who": operator_writer, "why": "revision", "run": "r1"}},
            {"version": 2, "op": "delete", "value": null, "value_type": null,
             "written_at": 0, "writer": operator_writer,
             "tags": {"who": operator_writer, "why": "api memory delete"}},
            {"version": 3, "op": "put", "value": null, "value_type": "json",
             "written_at": 0, "writer": operator_writer,
             "tags": {"who": operator_writer, "why": "api memory put"}},
        ]})
    );
    server.stop().await;
}

#[tokio::test]
async fn patterns_prefixes_and_search_select_entries_by_key() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;
    let entries = [
        (
            "books/phase-1/pm/requirements",
            json!({"title": "Books API"}),
        ),
        ("books/phase-1/dev/code", json!("fn main() {}")),
        ("books/phase-2/dev/code", json!("fn served() {}")),
        ("books/notes", json!("Hello World")),
        ("books-archive/notes", json!("old")),
        ("a key/with spaces", json!("percent-encoded in the path")),
    ];
    for (key, value) in &entries {
        let path = format!("/api/v1/memory/entries/{}", key.replace(' ', "%20"));
        let response = send(
            &server,
            Method::PUT,
            &path,
            &admin,
            Some(json!({"value": value})),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{key}");
    }
    let list = |query: &str| {
        let path = format!("/api/v1/memory{query}");
        let admin = admin.clone();
        let server = &server;
        async move { keys(send(server, Method::GET, &path, &admin, None).await).await }
    };

    assert_eq!(
        list("?pattern=books/*/dev/code").await,
        (
            vec![
                "books/phase-1/dev/code".into(),
                "books/phase-2/dev/code".into()
            ],
            false
        )
    );
    assert_eq!(
        list("?pattern=books/**").await.0,
        vec![
            "books/notes",
            "books/phase-1/dev/code",
            "books/phase-1/pm/requirements",
            "books/phase-2/dev/code",
        ]
    );
    // A literal pattern names one key.
    assert_eq!(list("?pattern=books/notes").await.0, vec!["books/notes"]);
    // A prefix ends at a segment boundary: `books` is not `books-archive`.
    assert_eq!(
        list("?prefix=books/phase-1/").await.0,
        vec!["books/phase-1/dev/code", "books/phase-1/pm/requirements"]
    );
    assert_eq!(list("?prefix=books").await.0.len(), 4);
    assert_eq!(list("").await.0.len(), 6);
    assert_eq!(
        list("?limit=2").await,
        (
            vec!["a key/with spaces".into(), "books-archive/notes".into()],
            true
        )
    );
    assert_eq!(list("?pattern=nothing/*").await, (vec![], false));

    let read = send(
        &server,
        Method::GET,
        "/api/v1/memory/entries/a%20key/with%20spaces",
        &admin,
        None,
    )
    .await;
    assert_eq!(
        body(read, StatusCode::OK).await["value"],
        "percent-encoded in the path"
    );

    let search = |query: &str| {
        let path = format!("/api/v1/memory/search{query}");
        let admin = admin.clone();
        let server = &server;
        async move { keys(send(server, Method::GET, &path, &admin, None).await).await }
    };
    // Values and keys, ASCII case-insensitively.
    assert_eq!(
        search("?q=hello").await,
        (vec!["books/notes".into()], false)
    );
    assert_eq!(
        search("?q=DEV").await.0,
        vec!["books/phase-1/dev/code", "books/phase-2/dev/code"]
    );
    assert_eq!(
        search("?q=fn&limit=1").await,
        (vec!["books/phase-1/dev/code".into()], true)
    );
    assert_eq!(
        search("?q=books%20api").await.0,
        vec!["books/phase-1/pm/requirements"]
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_keys_patterns_limits_and_bodies_are_refused_naming_the_field() {
    let server = TestServer::start().await;
    let admin = server.admin_tokens().await.access;

    let cases: &[(&str, &str)] = &[
        (
            "/api/v1/memory/entries/a//b",
            "key: invalid memory key `a//b`: expected",
        ),
        (
            "/api/v1/memory/entries/a/b/",
            "key: invalid memory key `a/b/`",
        ),
        (
            "/api/v1/memory/entries/a/*/b",
            "key: invalid memory key `a/*/b`",
        ),
        (
            "/api/v1/memory/history/a/**",
            "key: invalid memory key `a/**`",
        ),
        (
            "/api/v1/memory?pattern=a/b*",
            "pattern: invalid key pattern `a/b*`: expected",
        ),
        (
            "/api/v1/memory?prefix=a//b",
            "prefix: invalid memory key `a//b`",
        ),
        (
            "/api/v1/memory?pattern=a/*&prefix=a",
            "pattern, prefix: expected at most one of them, found both",
        ),
        (
            "/api/v1/memory?limit=0",
            "limit: expected 1 to 1000, found 0",
        ),
        (
            "/api/v1/memory?limit=1001",
            "limit: expected 1 to 1000, found 1001",
        ),
        (
            "/api/v1/memory/search?q=x&limit=5000",
            "limit: expected 1 to 1000, found 5000",
        ),
        ("/api/v1/memory?limit=ten", "limit: invalid digit"),
        ("/api/v1/memory?colour=red", "unknown field `colour`"),
        (
            "/api/v1/memory/search",
            "q: expected the text to search for, found none",
        ),
        (
            "/api/v1/memory/search?q=%20",
            "q: expected the text to search for, found none",
        ),
    ];
    for (path, detail) in cases {
        let body = problem(
            send(&server, Method::GET, path, &admin, None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let found = body["detail"].as_str().unwrap();
        assert!(found.contains(detail), "{path}: {found}");
    }

    let never = problem(
        send(
            &server,
            Method::GET,
            "/api/v1/memory/history/never/written",
            &admin,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        never["detail"],
        "memory key `never/written` was never written"
    );

    let put = |body: Value| {
        send(
            &server,
            Method::PUT,
            "/api/v1/memory/entries/a/b",
            &admin,
            Some(body),
        )
    };
    let missing = problem(
        put(json!({"val": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `val`"),
        "{missing}"
    );
    let spoofed = problem(
        put(json!({"value": 1, "tags": {"who": "someone else"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        spoofed["detail"],
        "tags.who: expected no `who` tag (the server records the caller), found one"
    );
    let bad_key = problem(
        send(
            &server,
            Method::PUT,
            "/api/v1/memory/entries/a/*",
            &admin,
            Some(json!({"value": 1})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        bad_key["detail"].as_str().unwrap().starts_with("key: "),
        "{bad_key}"
    );
    let text_body = server
        .client
        .put(server.url("/api/v1/memory/entries/a/b"))
        .bearer_auth(&admin)
        .body("{\"value\": 1}")
        .send()
        .await
        .unwrap();
    problem(text_body, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    // Nothing above was written.
    let (keys, _) = keys(send(&server, Method::GET, "/api/v1/memory", &admin, None).await).await;
    assert_eq!(keys, Vec::<String>::new());
    server.stop().await;
}
