//! A small notes service, served in-process on 127.0.0.1:0, with its OpenAPI document and
//! switchable faults, so that each contract check can be shown to catch one real defect.
//!
//! axum is built without its `json` and `query` features here, so bodies and queries are
//! parsed by hand; that also keeps every rejection under the service's control (Problem JSON).
// Handlers return early with a ready `Response`; boxing it would only add noise to a fake.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use apiwright_probe::exchange::Client;
use apiwright_probe::openapi::Api;
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use axum::routing::post;
use serde_json::Value;
use serde_json::json;

/// One defect the service can be told to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Behaves as documented.
    None,
    /// `GET /health` answers 203, which the document does not list.
    UndocumentedStatus,
    /// `GET /api/notes/{id}` returns `priority` as a string.
    SchemaViolation,
    /// `POST /api/notes` answers 500 to a body of the wrong shape.
    ServerErrorOnInvalid,
    /// `GET /api/notes` answers 200 without a token.
    MissingAuth,
    /// `POST /api/tags` (admin only) accepts any well-formed JSON body.
    AdminCreateAcceptsInvalid,
}

/// The admin account every service starts with.
pub const ADMIN_EMAIL: &str = "admin@example.test";
/// Its password.
pub const ADMIN_PASSWORD: &str = "admin-password-1";

#[derive(Default)]
struct Data {
    users: HashMap<String, String>,
    tokens: HashMap<String, String>,
    notes: Vec<(u64, String, Value)>,
    tags: Vec<Value>,
    next_id: u64,
}

#[derive(Clone)]
struct AppState {
    fault: Fault,
    data: Arc<Mutex<Data>>,
}

/// A running notes service.
pub struct Service {
    pub base_url: String,
}

impl Service {
    pub async fn start(fault: Fault) -> Service {
        let mut data = Data::default();
        data.users
            .insert(ADMIN_EMAIL.to_string(), ADMIN_PASSWORD.to_string());
        let state = AppState {
            fault,
            data: Arc::new(Mutex::new(data)),
        };
        let router = Router::new()
            .route("/health", get(health))
            .route("/api/auth/register", post(register))
            .route("/api/auth/login", post(login))
            .route("/api/notes", get(list_notes).post(create_note))
            .route("/api/notes/{id}", get(get_note).delete(delete_note))
            .route("/api/tags", post(create_tag))
            .route("/api/tags/{id}", get(get_tag))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Service {
            base_url: format!("http://{address}"),
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base_url, std::time::Duration::from_secs(10)).unwrap()
    }
}

pub fn api() -> Api {
    Api::from_document(document()).unwrap()
}

/// The document the service implements.
pub fn document() -> Value {
    let problem = |description: &str| json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "notes", "version": "1"},
        "paths": {
            "/health": {"get": {
                "operationId": "health", "security": [],
                "responses": {"200": {"description": "up", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}}}}}
            }},
            "/api/auth/register": {"post": {
                "operationId": "register", "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credentials"}}}},
                "responses": {
                    "201": {"description": "registered", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["email"], "properties": {"email": {"type": "string", "format": "email"}}}}}},
                    "400": problem("malformed"), "409": problem("taken"), "413": problem("too large"), "422": problem("invalid")
                }
            }},
            "/api/auth/login": {"post": {
                "operationId": "login", "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credentials"}}}},
                "responses": {
                    "200": {"description": "tokens", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["access_token"], "properties": {"access_token": {"type": "string"}}}}}},
                    "4XX": problem("rejected")
                }
            }},
            "/api/notes": {
                "get": {
                    "operationId": "list_notes",
                    "parameters": [{"$ref": "#/components/parameters/Limit"}],
                    "responses": {
                        "200": {"description": "notes", "content": {"application/json": {"schema": {
                            "type": "object", "required": ["items"],
                            "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}}}}}}},
                        "401": problem("no token"), "422": problem("bad query")
                    }
                },
                "post": {
                    "operationId": "create_note",
                    "requestBody": {"$ref": "#/components/requestBodies/NoteCreate"},
                    "responses": {
                        "201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}},
                        "400": problem("malformed"), "401": problem("no token"), "413": problem("too large"), "422": problem("invalid")
                    }
                }
            },
            "/api/tags": {"post": {
                "operationId": "create_tag",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false, "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 20}}}}}},
                "responses": {
                    "201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tag"}}}},
                    "400": problem("malformed"), "401": problem("no token"), "403": problem("admins only"),
                    "413": problem("too large"), "422": problem("invalid")
                }
            }},
            "/api/tags/{id}": {"get": {
                "operationId": "get_tag",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": {
                    "200": {"description": "tag", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tag"}}}},
                    "401": problem("no token"), "404": problem("missing")
                }
            }},
            "/api/notes/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {
                    "operationId": "get_note",
                    "responses": {
                        "200": {"description": "note", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}},
                        "401": problem("no token"), "404": problem("missing")
                    }
                },
                "delete": {
                    "operationId": "delete_note",
                    "responses": {"204": {"description": "deleted"}, "401": problem("no token"), "default": problem("error")}
                }
            }
        },
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}}},
            "requestBodies": {"NoteCreate": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NoteCreate"}}}}},
            "schemas": {
                "Credentials": {"type": "object", "required": ["email", "password"], "properties": {
                    "email": {"type": "string", "format": "email"}, "password": {"type": "string", "minLength": 8}}},
                "NoteCreate": {"type": "object", "additionalProperties": false, "required": ["title", "priority"], "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 50},
                    "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                    "tag": {"enum": ["home", "work"]}}},
                "Note": {"type": "object", "required": ["id", "title", "priority"], "properties": {
                    "id": {"type": "integer", "readOnly": true},
                    "title": {"type": "string", "minLength": 1, "maxLength": 50},
                    "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                    "tag": {"allOf": [{"$ref": "#/components/schemas/TagName"}]}}},
                "TagName": {"enum": ["home", "work"]},
                "Tag": {"type": "object", "required": ["id", "name"], "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}}},
                "Problem": {"type": "object", "required": ["title", "status"], "properties": {
                    "title": {"type": "string"}, "status": {"type": "integer"}}}
            }
        }
    })
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn problem(status: StatusCode, title: &str) -> Response {
    (
        status,
        [("content-type", "application/problem+json")],
        json!({"title": title, "status": status.as_u16()}).to_string(),
    )
        .into_response()
}

/// Reads a JSON object body the way the document promises: 413, 400, then the caller's 422s.
async fn read_json(body: Body) -> Result<Value, Response> {
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| problem(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))?;
    serde_json::from_slice(&bytes).map_err(|_| problem(StatusCode::BAD_REQUEST, "malformed JSON"))
}

fn caller(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    state.data.lock().unwrap().tokens.get(token).cloned()
}

async fn health(State(state): State<AppState>) -> Response {
    let status = match state.fault {
        Fault::UndocumentedStatus => StatusCode::NON_AUTHORITATIVE_INFORMATION,
        _ => StatusCode::OK,
    };
    json_response(status, json!({"status": "ok"}))
}

fn credentials(body: &Value) -> Result<(String, String), Response> {
    let email = body.get("email").and_then(Value::as_str).unwrap_or("");
    let password = body.get("password").and_then(Value::as_str).unwrap_or("");
    if !email.contains('@') || password.len() < 8 {
        return Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid credentials",
        ));
    }
    Ok((email.to_string(), password.to_string()))
}

async fn register(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_json(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (email, password) = match credentials(&body) {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    let mut data = state.data.lock().unwrap();
    if data.users.contains_key(&email) {
        return problem(StatusCode::CONFLICT, "email taken");
    }
    data.users.insert(email.clone(), password);
    json_response(StatusCode::CREATED, json!({"email": email}))
}

async fn login(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_json(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (email, password) = match credentials(&body) {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    let mut data = state.data.lock().unwrap();
    if data.users.get(&email) != Some(&password) {
        return problem(StatusCode::UNAUTHORIZED, "wrong email or password");
    }
    let token = format!("token-{}-{}", data.tokens.len(), email);
    data.tokens.insert(token.clone(), email);
    json_response(StatusCode::OK, json!({"access_token": token}))
}

async fn list_notes(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let owner = caller(&state, &headers);
    if owner.is_none() && state.fault != Fault::MissingAuth {
        return problem(StatusCode::UNAUTHORIZED, "no token");
    }
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        if let Some(value) = pair.strip_prefix("limit=") {
            match value.parse::<u32>() {
                Ok(limit) if (1..=50).contains(&limit) => {}
                _ => return problem(StatusCode::UNPROCESSABLE_ENTITY, "limit must be 1..=50"),
            }
        }
    }
    let data = state.data.lock().unwrap();
    let items: Vec<Value> = data
        .notes
        .iter()
        .filter(|(_, note_owner, _)| Some(note_owner) == owner.as_ref())
        .map(|(_, _, note)| note.clone())
        .collect();
    json_response(StatusCode::OK, json!({"items": items}))
}

async fn create_note(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Some(owner) = caller(&state, &headers) else {
        return problem(StatusCode::UNAUTHORIZED, "no token");
    };
    let body = match read_json(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(object) = body.as_object() else {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "expected an object");
    };
    let title_ok = object
        .get("title")
        .and_then(Value::as_str)
        .is_some_and(|t| (1..=50).contains(&t.chars().count()));
    let priority = object.get("priority");
    if state.fault == Fault::ServerErrorOnInvalid && priority.is_some_and(|p| !p.is_i64()) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "panicked").into_response();
    }
    let priority_ok = priority
        .and_then(Value::as_i64)
        .is_some_and(|p| (1..=5).contains(&p));
    let tag_ok = object.get("tag").is_none_or(|t| t == "home" || t == "work");
    let known = object
        .keys()
        .all(|k| ["title", "priority", "tag"].contains(&k.as_str()));
    if !(title_ok && priority_ok && tag_ok && known) {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "validation failed");
    }
    let mut data = state.data.lock().unwrap();
    data.next_id += 1;
    let id = data.next_id;
    let mut note = body.clone();
    note["id"] = json!(id);
    data.notes.push((id, owner, note.clone()));
    json_response(StatusCode::CREATED, note)
}

fn find(state: &AppState, headers: &HeaderMap, id: &str) -> Result<(u64, Value), Response> {
    let Some(owner) = caller(state, headers) else {
        return Err(problem(StatusCode::UNAUTHORIZED, "no token"));
    };
    let data = state.data.lock().unwrap();
    id.parse::<u64>()
        .ok()
        .and_then(|id| {
            data.notes
                .iter()
                .find(|(note_id, note_owner, _)| *note_id == id && *note_owner == owner)
        })
        .map(|(id, _, note)| (*id, note.clone()))
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "no such note"))
}

async fn get_note(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match find(&state, &headers, &id) {
        Ok((_, mut note)) => {
            if state.fault == Fault::SchemaViolation {
                note["priority"] = json!("high");
            }
            json_response(StatusCode::OK, note)
        }
        Err(response) => response,
    }
}

async fn delete_note(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match find(&state, &headers, &id) {
        Ok((id, _)) => {
            state
                .data
                .lock()
                .unwrap()
                .notes
                .retain(|(note_id, _, _)| *note_id != id);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(response) => response,
    }
}

async fn create_tag(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Some(caller) = caller(&state, &headers) else {
        return problem(StatusCode::UNAUTHORIZED, "no token");
    };
    if caller != ADMIN_EMAIL {
        return problem(StatusCode::FORBIDDEN, "admins only");
    }
    let body = match read_json(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let name_ok = body.as_object().is_some_and(|o| o.len() == 1)
        && body
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| (1..=20).contains(&n.chars().count()));
    if !name_ok && state.fault != Fault::AdminCreateAcceptsInvalid {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "validation failed");
    }
    let mut data = state.data.lock().unwrap();
    data.next_id += 1;
    let tag = json!({"id": data.next_id, "name": body.get("name").and_then(Value::as_str).unwrap_or("?")});
    data.tags.push(tag.clone());
    json_response(StatusCode::CREATED, tag)
}

async fn get_tag(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if caller(&state, &headers).is_none() {
        return problem(StatusCode::UNAUTHORIZED, "no token");
    }
    let data = state.data.lock().unwrap();
    match data.tags.iter().find(|t| {
        t["id"]
            .as_u64()
            .is_some_and(|tag_id| tag_id.to_string() == id)
    }) {
        Some(tag) => json_response(StatusCode::OK, tag.clone()),
        None => problem(StatusCode::NOT_FOUND, "no such tag"),
    }
}
