//! Each flaw is really there: the negative controls the gates must catch.

use std::time::Duration;
use std::time::Instant;

use apiwright_testbed::Config;
use apiwright_testbed::Flaw;
use serde_json::Value;
use serde_json::json;

use crate::support::Body;
use crate::support::PASSWORD;
use crate::support::TestServer;
use crate::support::access_token;
use crate::support::schema_violations;

/// A server with `flaw`, Alice's note on it, and tokens for Alice and Bob.
struct TwoUsers {
    server: TestServer,
    alice: String,
    bob: String,
    alice_note: Value,
}

impl TwoUsers {
    fn start(config: Config) -> TwoUsers {
        let server = TestServer::start(config);
        let alice = server.sign_up("alice@example.com");
        let bob = server.sign_up("bob@example.com");
        let alice_note = server.create_note(&alice, "alice's diary");
        TwoUsers {
            server,
            alice,
            bob,
            alice_note,
        }
    }

    fn note_path(&self) -> String {
        format!("/api/v1/notes/{}", self.alice_note["id"])
    }
}

#[test]
fn idor_lets_anyone_signed_in_read_change_and_delete_any_note() {
    let world = TwoUsers::start(Config::flawed(Flaw::Idor));
    let path = world.note_path();
    let read = world.server.get(&path, Some(&world.bob));
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["title"], "alice's diary");
    let changed = world
        .server
        .patch(&path, Some(&world.bob), json!({ "title": "bob was here" }));
    assert_eq!(changed.status, 200);
    assert_eq!(world.server.delete(&path, Some(&world.bob)).status, 204);
    assert_eq!(world.server.get(&path, Some(&world.alice)).status, 404);
    assert_eq!(world.server.get(&path, None).status, 401);
}

#[test]
fn missing_auth_serves_and_deletes_notes_without_a_token() {
    let world = TwoUsers::start(Config::flawed(Flaw::MissingAuth));
    let document: Value = serde_json::from_str(apiwright_testbed::OPENAPI_DOCUMENT).unwrap();
    let item = &document["paths"]["/api/v1/notes/{id}"];
    assert_eq!(item["get"]["security"], json!([{ "bearerAuth": [] }]));
    assert_eq!(item["delete"]["security"], json!([{ "bearerAuth": [] }]));
    let path = world.note_path();
    let read = world.server.get(&path, None);
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["title"], "alice's diary");
    assert_eq!(world.server.delete(&path, None).status, 204);
    assert_eq!(world.server.get(&path, Some(&world.alice)).status, 404);
    assert_eq!(world.server.get("/api/v1/notes", None).status, 401);
    assert_eq!(
        world
            .server
            .patch(&path, None, json!({ "title": "x" }))
            .status,
        401
    );
}

#[test]
fn mass_assignment_makes_admins_and_moves_notes() {
    let world = TwoUsers::start(Config::flawed(Flaw::MassAssignment));
    let server = &world.server;
    let registered = server.post(
        "/api/v1/auth/register",
        None,
        json!({ "email": "mallory@example.com", "password": PASSWORD, "role": "admin" }),
    );
    assert_eq!(registered.status, 201);
    assert_eq!(registered.json()["role"], "admin");
    let mallory = access_token(&server.login("mallory@example.com"));
    assert_eq!(
        server.get("/api/v1/admin/users", Some(&mallory)).status,
        200
    );

    let bob_id = server.get("/api/v1/auth/me", Some(&world.bob)).json()["id"].clone();
    let planted = server.post(
        "/api/v1/notes",
        Some(&world.alice),
        json!({ "title": "planted", "owner_id": bob_id }),
    );
    assert_eq!(planted.status, 201);
    assert_eq!(planted.json()["owner_id"], bob_id);
    let moved = server.patch(
        &world.note_path(),
        Some(&world.alice),
        json!({ "owner_id": bob_id }),
    );
    assert_eq!(moved.status, 200);
    assert_eq!(
        server.get("/api/v1/notes", Some(&world.bob)).json()["total"],
        2
    );
}

#[test]
fn no_rate_limit_never_answers_429() {
    let server = TestServer::start(Config {
        rate_limit_per_ip: 3,
        rate_limit_per_user: 3,
        ..Config::flawed(Flaw::NoRateLimit)
    });
    for _ in 0..20 {
        assert_eq!(server.get("/health", None).status, 200);
    }
    let token = server.sign_up("alice@example.com");
    for _ in 0..20 {
        assert_eq!(server.get("/api/v1/notes", Some(&token)).status, 200);
    }
}

#[test]
fn injectable_search_breaks_on_a_quote_and_leaks_on_a_tautology() {
    let world = TwoUsers::start(Config::flawed(Flaw::InjectableSearch));
    world.server.create_note(&world.bob, "bob's secret");
    let search = |q: &str| {
        world
            .server
            .get(&format!("/api/v1/notes?q={q}"), Some(&world.alice))
    };

    let plain = search("diary");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.json()["total"], 1);

    let quote = search("%27");
    assert_eq!(quote.status, 500);
    assert!(
        quote.json().get("debug").is_none(),
        "internals stay hidden: {}",
        quote.text
    );

    let everything = search("%27%20OR%20%271%27%3D%271").json();
    let titles: Vec<_> = everything["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["title"].clone())
        .collect();
    assert_eq!(titles, ["alice's diary", "bob's secret"]);
}

#[test]
fn verbose_errors_show_internals() {
    let world = TwoUsers::start(Config::flawed(Flaw::VerboseError));
    let server = &world.server;
    let malformed = server.request(
        "POST",
        "/api/v1/notes",
        Some(&world.alice),
        Some(Body::Raw("application/json", b"{\"title\": ".to_vec())),
    );
    assert_eq!(malformed.status, 400);
    let debug = malformed.json()["debug"].clone();
    assert!(
        debug["error"]
            .as_str()
            .unwrap()
            .contains("EOF while parsing"),
        "{debug}"
    );
    let location = debug["backtrace"][0].as_str().unwrap();
    assert!(
        location.starts_with("at ") && location.contains("src/") && location.contains(".rs:"),
        "{location}"
    );

    let not_integer = server.get("/api/v1/notes/abc", Some(&world.alice));
    assert_eq!(not_integer.status, 400);
    assert!(
        not_integer.text.contains("ParseIntError"),
        "{}",
        not_integer.text
    );

    let duplicate = server.post(
        "/api/v1/auth/register",
        None,
        json!({ "email": "alice@example.com", "password": PASSWORD }),
    );
    assert_eq!(duplicate.status, 409);
    let debug = duplicate.json()["debug"].clone();
    assert!(
        debug["sql"]
            .as_str()
            .unwrap()
            .starts_with("INSERT INTO users"),
        "{debug}"
    );
    assert!(
        debug["error"]
            .as_str()
            .unwrap()
            .contains("UNIQUE constraint failed"),
        "{debug}"
    );
}

#[test]
fn undocumented_route_dumps_config_and_users() {
    let server = TestServer::start(Config {
        jwt_secret: Some("hunter2-signing-key".to_owned()),
        ..Config::flawed(Flaw::UndocumentedRoute)
    });
    server.register("alice@example.com");
    let dump = server.get(apiwright_testbed::DEBUG_PATH, None);
    assert_eq!(dump.status, 200);
    let dump = dump.json();
    assert_eq!(dump["config"]["jwt_secret"], "hunter2-signing-key");
    assert_eq!(dump["users"][0]["email"], "alice@example.com");
    assert!(dump["users"][0]["password_hash"].is_string());

    let document: Value = serde_json::from_str(apiwright_testbed::OPENAPI_DOCUMENT).unwrap();
    assert!(
        document["paths"]
            .get(apiwright_testbed::DEBUG_PATH)
            .is_none()
    );
    let served: Value = server.get("/openapi.json", None).json();
    assert_eq!(served, document);
}

#[test]
fn slow_endpoint_takes_300_ms_to_list() {
    let server = TestServer::start(Config::flawed(Flaw::SlowEndpoint));
    let token = server.sign_up("alice@example.com");
    let started = Instant::now();
    assert_eq!(server.get("/api/v1/notes", Some(&token)).status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn schema_violation_serves_notes_that_break_the_document() {
    let world = TwoUsers::start(Config::flawed(Flaw::SchemaViolation));
    assert_eq!(
        world.alice_note["pinned"], false,
        "creation still answers well-formed"
    );
    let note = world
        .server
        .get(&world.note_path(), Some(&world.alice))
        .json();
    assert_eq!(note["pinned"], "no");
    assert!(note.get("updated_at").is_none());
    let document: Value = serde_json::from_str(apiwright_testbed::OPENAPI_DOCUMENT).unwrap();
    let violations = schema_violations(
        &document,
        &json!({ "$ref": "#/components/schemas/Note" }),
        &note,
    );
    assert_eq!(violations.len(), 2, "{violations:?}");
    let list = world.server.get("/api/v1/notes", Some(&world.alice)).json();
    assert_eq!(list["items"][0]["pinned"], "no");
    assert!(list["items"][0].get("updated_at").is_none());
}

#[test]
fn unhealthy_answers_503_on_health_and_serves_the_rest() {
    let server = TestServer::start(Config::flawed(Flaw::Unhealthy));
    for _ in 0..3 {
        let health = server.get("/health", None);
        assert_eq!(health.status, 503, "{}", health.text);
        assert_eq!(
            health.header("content-type"),
            Some("application/problem+json")
        );
        let problem = health.json();
        assert_eq!(problem["status"], 503);
        assert_eq!(problem["title"], "Service Unavailable");
    }
    // Everything else works.
    let token = server.sign_up("alice@example.com");
    let note = server.create_note(&token, "still here");
    let read = server.get(&format!("/api/v1/notes/{}", note["id"]), Some(&token));
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["title"], "still here");
    assert_eq!(server.get("/api/v1/notes", Some(&token)).status, 200);
    assert_eq!(server.get("/openapi.json", None).status, 200);
    // The clean service is healthy.
    let clean = TestServer::start(Config::clean());
    let health = clean.get("/health", None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({ "status": "ok" }));
}

#[test]
fn server_error_answers_500_on_reading_a_note_and_serves_the_rest() {
    let world = TwoUsers::start(Config::flawed(Flaw::ServerError));
    let path = world.note_path();
    // The first reads pass (a smoke test does not see the fault), then every read fails.
    for _ in 0..10 {
        let read = world.server.get(&path, Some(&world.alice));
        assert_eq!(read.status, 200, "{}", read.text);
    }
    for _ in 0..3 {
        let read = world.server.get(&path, Some(&world.alice));
        assert_eq!(read.status, 500, "{}", read.text);
        assert_eq!(
            read.header("content-type"),
            Some("application/problem+json")
        );
        let problem = read.json();
        assert_eq!(problem["status"], 500);
        assert_eq!(
            problem["detail"], "the server could not complete the request",
            "no internals in the body"
        );
        assert!(problem.get("debug").is_none(), "{}", read.text);
        assert!(!read.text.contains("flaw"), "{}", read.text);
    }
    // Whether or not the note exists; auth and the id check still come first.
    assert_eq!(
        world
            .server
            .get("/api/v1/notes/999999", Some(&world.alice))
            .status,
        500
    );
    assert_eq!(world.server.get(&path, None).status, 401);
    assert_eq!(
        world
            .server
            .get("/api/v1/notes/abc", Some(&world.alice))
            .status,
        400
    );
    // Everything else works.
    assert_eq!(world.server.get("/health", None).status, 200);
    let list = world.server.get("/api/v1/notes", Some(&world.alice));
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["items"][0]["title"], "alice's diary");
    let changed = world
        .server
        .patch(&path, Some(&world.alice), json!({ "title": "renamed" }));
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["title"], "renamed");
    assert_eq!(world.server.delete(&path, Some(&world.bob)).status, 404);
    assert_eq!(world.server.delete(&path, Some(&world.alice)).status, 204);
    // The clean service reads the note.
    let clean = TwoUsers::start(Config::clean());
    let read = clean.server.get(&clean.note_path(), Some(&clean.alice));
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["title"], "alice's diary");
}
