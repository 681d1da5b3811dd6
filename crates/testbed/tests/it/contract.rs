//! A sweep of valid and invalid requests at every operation of the clean service; the support
//! layer holds every answer to the document (status, content type, schema), so this module only
//! has to provoke as many different answers as it can.

use apiwright_testbed::AdminAccount;
use apiwright_testbed::Config;
use apiwright_testbed::ROUTES;
use serde_json::Value;
use serde_json::json;

use crate::support::Body;
use crate::support::PASSWORD;
use crate::support::TestServer;
use crate::support::access_token;

fn concrete(path: &str, id: &str) -> String {
    path.replace("{id}", id)
}

fn bodies() -> Vec<Body> {
    vec![
        Body::Json(json!({})),
        Body::Json(json!([])),
        Body::Json(json!(null)),
        Body::Json(json!("text")),
        Body::Json(json!({ "title": 5, "email": 5, "password": 5, "refresh_token": 5 })),
        Body::Json(json!({ "unexpected": true })),
        Body::Json(json!({ "title": "ok", "pinned": null })),
        Body::Json(json!({ "title": "x".repeat(300), "body": "y".repeat(10_001) })),
        Body::Json(json!({ "email": "sweep@example.com", "password": "p" })),
        Body::Json(json!({ "refresh_token": "" })),
        Body::Json(json!({ "refresh_token": "not-a-token" })),
        Body::Raw("application/json", b"{".to_vec()),
        Body::Raw("application/json", Vec::new()),
        Body::Raw("application/json", b"{\"a\":1} trailing".to_vec()),
        Body::Raw("application/json", vec![0xff, 0xfe]),
        Body::Raw("text/plain", b"{}".to_vec()),
        Body::Raw("application/x-www-form-urlencoded", b"title=x".to_vec()),
        Body::Raw("application/json", vec![b' '; 70 * 1024]),
    ]
}

#[test]
fn every_answer_to_a_request_sweep_is_documented() {
    let server = TestServer::start(Config {
        rate_limit_per_ip: 10_000,
        rate_limit_per_user: 10_000,
        admin: Some(AdminAccount {
            email: "root@example.com".to_owned(),
            password: PASSWORD.to_owned(),
        }),
        ..Config::clean()
    });
    let member = server.sign_up("alice@example.com");
    let admin = access_token(&server.login("root@example.com"));
    let note = server.create_note(&member, "sweep");
    let note_id = note["id"].to_string();
    let tokens: [Option<&str>; 4] = [None, Some("not.a.token"), Some(&member), Some(&admin)];
    let ids = [
        note_id.as_str(),
        "0",
        "-1",
        "abc",
        "1.5",
        "99999999999999999999",
        "%20",
    ];

    for (method, path) in ROUTES {
        for token in tokens {
            // Paths without `{id}` come out the same for every id: one round is enough.
            let ids = if path.contains("{id}") {
                &ids[..]
            } else {
                &ids[..1]
            };
            for id in ids {
                let path = concrete(path, id);
                let takes_body = matches!(*method, "POST" | "PATCH") && !path.ends_with("/logout");
                if takes_body {
                    for body in bodies() {
                        server.request(method, &path, token, Some(body));
                    }
                } else {
                    server.request(method, &path, token, None);
                }
            }
        }
    }
    for query in [
        "q=",
        "q=%27",
        "q=%25",
        "q=_",
        "limit=1&offset=0",
        "limit=100",
        "limit=0",
        "limit=-5",
        "limit=1e3",
        "offset=2147483647",
        "offset=2147483648",
        "unknown=1",
        "q=%FF",
    ] {
        for token in tokens {
            server.request("GET", &format!("/api/v1/notes?{query}"), token, None);
        }
    }
    let valid: Value = json!({ "title": "fine", "body": "", "pinned": true });
    server.request(
        "POST",
        "/api/v1/notes",
        Some(&member),
        Some(Body::Json(valid)),
    );
    server.request(
        "PATCH",
        &format!("/api/v1/notes/{note_id}"),
        Some(&member),
        Some(Body::Json(json!({}))),
    );
}

#[test]
fn every_operation_answers_a_documented_429() {
    let server = TestServer::start(Config {
        rate_limit_per_ip: 0,
        rate_limit_per_user: 0,
        ..Config::clean()
    });
    for (method, path) in ROUTES {
        let body = matches!(*method, "POST" | "PATCH").then(|| Body::Json(json!({})));
        let reply = server.request(method, &concrete(path, "1"), None, body);
        assert_eq!(reply.status, 429, "{method} {path}");
    }
}
