//! A small notes service on 127.0.0.1:0 with switchable security flaws, for the security probe
//! tests. Clean, it checks signed tokens and owners, limits requests per caller, bounds pages
//! and bodies, sends security headers and answers errors tersely.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// One deliberate weakness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// Notes are found by id without checking the owner.
    Idor,
    /// `GET /api/v1/notes` and `GET /api/v1/notes/{id}` answer without a token.
    MissingAuth,
    /// `POST /api/v1/notes` creates notes (owned by nobody) without a token.
    AnonymousCreate,
    /// Tokens are decoded, not verified (signature, algorithm, expiry).
    UnverifiedToken,
    /// Logout does not revoke refresh tokens.
    RefreshAfterLogout,
    /// `owner_id`, `created_at` and `role` in request bodies are honoured.
    MassAssignment,
    /// `created_at` in a create body is honoured but the create answer leaves it out.
    QuietMassAssignment,
    /// No limit on requests.
    NoRateLimit,
    /// `q` is pasted into a (simulated) SQL `LIKE` clause, and note ids into a `WHERE`.
    InjectableSearch,
    /// Malformed JSON is answered with a panic message and a source location.
    VerboseError,
    /// `GET /api/v1/debug` answers anyone and `GET /api/v1/internal` signed-in users,
    /// undocumented.
    UndocumentedRoute,
    /// `limit` is not clamped.
    UnboundedPage,
    /// No body size limit.
    NoBodyLimit,
    /// No security headers; CORS reflects any origin with credentials.
    LaxHeaders,
    /// Not a flaw: `q` searches every user's notes as a union of words (split on `OR`,
    /// punctuation dropped, an empty word matching all) — SQL-looking text finds things
    /// without any injection.
    WordSearch,
    /// CORS allows any origin (`*`), without credentials.
    CorsWildcard,
    /// CORS reflects the request's origin, without credentials.
    CorsReflect,
    /// Any bearer value that is not a token signs in the first member.
    AnyBearer,
    /// A note id that is not a number fails with a bare 500.
    CrashOnBadId,
    /// `GET /api/v1/admin/users` answers any signed-in user.
    OpenAdmin,
}

struct User {
    id: String,
    email: String,
    password: String,
    role: String,
    version: u64,
}

struct Note {
    id: u64,
    owner_id: String,
    title: String,
    body: String,
    created_at: String,
}

#[derive(Default)]
struct Data {
    users: Vec<User>,
    notes: Vec<Note>,
    next_note: u64,
    refresh_tokens: BTreeMap<String, String>,
    requests: BTreeMap<String, u32>,
}

struct App {
    flaws: HashSet<Flaw>,
    rate_limit: u32,
    data: Mutex<Data>,
}

type Shared = Arc<App>;

/// A running service: its base URL and the admin's credentials.
pub struct NotesService {
    pub base_url: String,
    pub admin_email: String,
    pub admin_password: String,
}

impl NotesService {
    /// Starts the service with `flaws`, allowing `rate_limit` requests per caller (user, or
    /// anonymous) over its lifetime.
    pub async fn start(flaws: &[Flaw], rate_limit: u32) -> NotesService {
        let admin_password = ["admin", "pass", "0123"].join("-");
        let mut data = Data {
            next_note: 1,
            ..Data::default()
        };
        data.users.push(User {
            id: "u0".into(),
            email: "admin@example.test".into(),
            password: admin_password.clone(),
            role: "admin".into(),
            version: 0,
        });
        let app = Arc::new(App {
            flaws: flaws.iter().copied().collect(),
            rate_limit,
            data: Mutex::new(data),
        });
        let body_limit = if app.flaws.contains(&Flaw::NoBodyLimit) {
            DefaultBodyLimit::disable()
        } else {
            DefaultBodyLimit::max(64 * 1024)
        };
        let mut router = Router::new()
            .route("/api/v1/auth/register", post(register))
            .route("/api/v1/auth/login", post(login))
            .route("/api/v1/auth/refresh", post(refresh))
            .route("/api/v1/auth/logout", post(logout))
            .route("/api/v1/auth/me", get(me))
            .route("/api/v1/notes", get(list_notes).post(create_note))
            .route(
                "/api/v1/notes/{id}",
                get(note_item).patch(note_item).delete(note_item),
            )
            .route("/api/v1/admin/users", get(admin_users))
            .route("/api/v1/tags", get(tags))
            .route("/health", get(|| async { "ok" }));
        if app.flaws.contains(&Flaw::UndocumentedRoute) {
            router = router
                .route(
                    "/api/v1/debug",
                    get(|| async {
                        reply(StatusCode::OK, json!({"env": {"DATABASE": "notes.db"}}))
                    }),
                )
                .route("/api/v1/internal", get(internal));
        }
        let router = router
            .fallback(|| async { reply(StatusCode::NOT_FOUND, json!({"error": "not found"})) })
            .layer(axum::middleware::from_fn_with_state(app.clone(), decorate))
            .layer(body_limit)
            .with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        NotesService {
            base_url: format!("http://{address}"),
            admin_email: "admin@example.test".into(),
            admin_password,
        }
    }
}

/// Rate limiting (before) and security headers and CORS (after) for every request.
async fn decorate(
    State(app): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let origin = request.headers().get("origin").cloned();
    let caller =
        caller(&app, request.headers()).map_or_else(|| "anonymous".to_string(), |user| user.0);
    if !app.flaws.contains(&Flaw::NoRateLimit) {
        let mut data = app.data.lock().unwrap();
        let count = data.requests.entry(caller).or_default();
        *count += 1;
        if *count > app.rate_limit {
            return reply(StatusCode::TOO_MANY_REQUESTS, json!({"error": "slow down"}));
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if app.flaws.contains(&Flaw::CorsWildcard) {
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    }
    if let (true, Some(origin)) = (app.flaws.contains(&Flaw::CorsReflect), &origin) {
        headers.insert("access-control-allow-origin", origin.clone());
    }
    if app.flaws.contains(&Flaw::LaxHeaders) {
        if let Some(origin) = origin {
            headers.insert("access-control-allow-origin", origin);
            headers.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
    } else {
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        headers.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    response
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn signature(input: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    ("notes-secret", input).hash(&mut hasher);
    URL_SAFE_NO_PAD.encode(hasher.finish().to_be_bytes())
}

fn issue(user: &User) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        json!({"sub": user.id, "role": user.role, "ver": user.version, "exp": now() + 3600});
    let unsigned = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    format!("{unsigned}.{}", signature(&unsigned))
}

/// The caller's `(id, role)` from a valid bearer token.
fn caller(app: &App, headers: &HeaderMap) -> Option<(String, String)> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    if app.flaws.contains(&Flaw::AnyBearer) && token.split('.').count() != 3 {
        let data = app.data.lock().unwrap();
        let member = data.users.iter().find(|user| user.role == "member")?;
        return Some((member.id.clone(), member.role.clone()));
    }
    let mut parts = token.split('.');
    let (header, claims, signature_part) = (parts.next()?, parts.next()?, parts.next()?);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    let subject = claims["sub"].as_str()?.to_string();
    let data = app.data.lock().unwrap();
    let user = data.users.iter().find(|user| user.id == subject)?;
    if app.flaws.contains(&Flaw::UnverifiedToken) {
        return Some((
            user.id.clone(),
            claims["role"].as_str().unwrap_or("member").to_string(),
        ));
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let valid = header["alg"] == "HS256"
        && signature(&format!(
            "{}.{}",
            token.split('.').next()?,
            token.split('.').nth(1)?
        )) == signature_part
        && claims["exp"].as_i64()? > now()
        && claims["ver"].as_u64()? == user.version;
    valid.then(|| (user.id.clone(), user.role.clone()))
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn unauthorized() -> Response {
    reply(StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"}))
}

#[allow(clippy::result_large_err)]
fn parse(app: &App, body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|error| {
        if app.flaws.contains(&Flaw::VerboseError) {
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": format!("thread 'tokio-runtime-worker' panicked at src/notes.rs:42:9: {error}")}),
            )
        } else {
            reply(StatusCode::BAD_REQUEST, json!({"error": "malformed JSON"}))
        }
    })
}

/// A 422 when `input` has properties outside `known` and `honoured` (the service is strict,
/// like one deserializing with `deny_unknown_fields`).
fn unknown_fields(input: &Value, known: &[&str], honoured: &[&str]) -> Option<Response> {
    let unknown: Vec<&String> = input
        .as_object()?
        .keys()
        .filter(|key| !known.contains(&key.as_str()) && !honoured.contains(&key.as_str()))
        .collect();
    (!unknown.is_empty()).then(|| {
        reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": format!("unknown fields {unknown:?}")}),
        )
    })
}

fn user_json(user: &User) -> Value {
    json!({"id": user.id, "email": user.email, "role": user.role})
}

fn note_json(note: &Note) -> Value {
    json!({"id": note.id, "owner_id": note.owner_id, "title": note.title, "body": note.body, "created_at": note.created_at})
}

async fn register(State(app): State<Shared>, body: Bytes) -> Response {
    let input = match parse(&app, &body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let mass = app.flaws.contains(&Flaw::MassAssignment);
    if let Some(response) = unknown_fields(
        &input,
        &["email", "password"],
        if mass { &["role"] } else { &[] },
    ) {
        return response;
    }
    let (Some(email), Some(password)) = (input["email"].as_str(), input["password"].as_str())
    else {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "email and password are required"}),
        );
    };
    let mut data = app.data.lock().unwrap();
    if data.users.iter().any(|user| user.email == email) {
        return reply(StatusCode::CONFLICT, json!({"error": "taken"}));
    }
    let role = match input["role"].as_str() {
        Some(role) if app.flaws.contains(&Flaw::MassAssignment) => role.to_string(),
        _ => "member".to_string(),
    };
    let user = User {
        id: format!("u{}", data.users.len()),
        email: email.into(),
        password: password.into(),
        role,
        version: 0,
    };
    let body = user_json(&user);
    data.users.push(user);
    reply(StatusCode::CREATED, body)
}

fn token_pair(data: &mut Data, index: usize) -> Value {
    let access_token = issue(&data.users[index]);
    let refresh_token = format!("r-{}-{}", data.users[index].id, data.refresh_tokens.len());
    data.refresh_tokens
        .insert(refresh_token.clone(), data.users[index].id.clone());
    json!({"access_token": access_token, "refresh_token": refresh_token})
}

async fn login(State(app): State<Shared>, body: Bytes) -> Response {
    let input = match parse(&app, &body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let mut data = app.data.lock().unwrap();
    let Some(index) = data.users.iter().position(|user| {
        Some(user.email.as_str()) == input["email"].as_str()
            && Some(user.password.as_str()) == input["password"].as_str()
    }) else {
        return unauthorized();
    };
    let pair = token_pair(&mut data, index);
    reply(StatusCode::OK, pair)
}

async fn refresh(State(app): State<Shared>, body: Bytes) -> Response {
    let input = match parse(&app, &body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let mut data = app.data.lock().unwrap();
    let Some(owner) = input["refresh_token"]
        .as_str()
        .and_then(|token| data.refresh_tokens.remove(token))
    else {
        return unauthorized();
    };
    let index = data.users.iter().position(|user| user.id == owner).unwrap();
    let pair = token_pair(&mut data, index);
    reply(StatusCode::OK, pair)
}

async fn logout(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let Some((id, _)) = caller(&app, &headers) else {
        return unauthorized();
    };
    let mut data = app.data.lock().unwrap();
    if !app.flaws.contains(&Flaw::RefreshAfterLogout) {
        data.refresh_tokens.retain(|_, owner| *owner != id);
        if let Some(user) = data.users.iter_mut().find(|user| user.id == id) {
            user.version += 1;
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn me(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let Some((id, _)) = caller(&app, &headers) else {
        return unauthorized();
    };
    let data = app.data.lock().unwrap();
    let user = data.users.iter().find(|user| user.id == id).unwrap();
    reply(StatusCode::OK, user_json(user))
}

async fn tags() -> Response {
    reply(StatusCode::OK, json!(["work", "home"]))
}

/// The query string's pairs, percent-decoded (`+` is a space).
fn query_pairs(uri: &Uri) -> BTreeMap<String, String> {
    let decode = |text: &str| {
        let bytes = text.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'%' && index + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                if let Ok(byte) = u8::from_str_radix(hex, 16) {
                    out.push(byte);
                    index += 3;
                    continue;
                }
            }
            out.push(bytes[index]);
            index += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (decode(key), decode(value)))
        .collect()
}

async fn list_notes(State(app): State<Shared>, headers: HeaderMap, uri: Uri) -> Response {
    let query = query_pairs(&uri);
    let caller = caller(&app, &headers);
    if caller.is_none() && !app.flaws.contains(&Flaw::MissingAuth) {
        return unauthorized();
    }
    let limit: u64 = match query.get("limit").map(|limit| limit.parse::<u64>()) {
        None => 20,
        Some(Ok(limit))
            if limit >= 1 && (limit <= 50 || app.flaws.contains(&Flaw::UnboundedPage)) =>
        {
            limit
        }
        Some(_) => {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "limit must be 1..=50"}),
            );
        }
    };
    let search = query.get("q").cloned().unwrap_or_default();
    let mut everyone = caller.is_none();
    if app.flaws.contains(&Flaw::InjectableSearch) {
        // What `... WHERE owner_id = ? AND title LIKE '%{q}%'` does with quotes (a doubled
        // quote stays inside the string).
        let unescaped = search.replace("''", "");
        if unescaped.to_ascii_uppercase().contains("' OR ") {
            everyone = true;
        } else if unescaped.contains('\'') || unescaped.contains('"') {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "near \"%\": syntax error"}),
            );
        }
    }
    let data = app.data.lock().unwrap();
    if app.flaws.contains(&Flaw::WordSearch) && !search.is_empty() {
        let words: Vec<String> = search
            .to_ascii_lowercase()
            .split(" or ")
            .map(|word| word.chars().filter(char::is_ascii_alphanumeric).collect())
            .collect();
        let items: Vec<Value> = data
            .notes
            .iter()
            .filter(|note| {
                words
                    .iter()
                    .any(|word| note.title.to_ascii_lowercase().contains(word.as_str()))
            })
            .map(note_json)
            .collect();
        return reply(StatusCode::OK, json!({"items": items, "limit": limit}));
    }
    let items: Vec<Value> = data
        .notes
        .iter()
        .filter(|note| everyone || Some(&note.owner_id) == caller.as_ref().map(|caller| &caller.0))
        .filter(|note| everyone || search.is_empty() || note.title.contains(&search))
        .take(limit as usize)
        .map(note_json)
        .collect();
    reply(StatusCode::OK, json!({"items": items, "limit": limit}))
}

async fn create_note(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let id = match caller(&app, &headers) {
        Some((id, _)) => id,
        None if app.flaws.contains(&Flaw::AnonymousCreate) => String::new(),
        None => return unauthorized(),
    };
    let input = match parse(&app, &body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let honoured: &[&str] = match (
        app.flaws.contains(&Flaw::MassAssignment),
        app.flaws.contains(&Flaw::QuietMassAssignment),
    ) {
        (true, _) => &["owner_id", "created_at"],
        (false, true) => &["created_at"],
        (false, false) => &[],
    };
    if let Some(response) = unknown_fields(&input, &["title", "body"], honoured) {
        return response;
    }
    let Some(title) = input["title"].as_str().filter(|title| !title.is_empty()) else {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "title is required"}),
        );
    };
    let mass = app.flaws.contains(&Flaw::MassAssignment);
    let quiet = app.flaws.contains(&Flaw::QuietMassAssignment);
    let mut data = app.data.lock().unwrap();
    let note = Note {
        id: data.next_note,
        owner_id: input["owner_id"]
            .as_str()
            .filter(|_| mass)
            .map_or(id, String::from),
        title: title.into(),
        body: input["body"].as_str().unwrap_or_default().into(),
        created_at: input["created_at"]
            .as_str()
            .filter(|_| mass || quiet)
            .unwrap_or("2026-01-01T00:00:00Z")
            .into(),
    };
    data.next_note += 1;
    let mut body = note_json(&note);
    if quiet {
        body.as_object_mut().unwrap().remove("created_at");
    }
    data.notes.push(note);
    reply(StatusCode::CREATED, body)
}

async fn note_item(
    State(app): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some((caller_id, _)) = caller(&app, &headers) else {
        return unauthorized();
    };
    let Ok(id) = id.parse::<u64>() else {
        if app.flaws.contains(&Flaw::CrashOnBadId) {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal error"}),
            );
        }
        return reply(StatusCode::NOT_FOUND, json!({"error": "not found"}));
    };
    let mut data = app.data.lock().unwrap();
    let idor = app.flaws.contains(&Flaw::Idor);
    let Some(index) = data
        .notes
        .iter()
        .position(|note| note.id == id && (idor || note.owner_id == caller_id))
    else {
        return reply(StatusCode::NOT_FOUND, json!({"error": "not found"}));
    };
    match method {
        Method::GET => reply(StatusCode::OK, note_json(&data.notes[index])),
        Method::DELETE => {
            data.notes.remove(index);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => {
            drop(data);
            let input = match parse(&app, &body) {
                Ok(input) => input,
                Err(response) => return response,
            };
            let mut data = app.data.lock().unwrap();
            let note = &mut data.notes[index];
            if let Some(title) = input["title"].as_str() {
                note.title = title.into();
            }
            if let Some(owner) = input["owner_id"]
                .as_str()
                .filter(|_| app.flaws.contains(&Flaw::MassAssignment))
            {
                note.owner_id = owner.into();
            }
            reply(StatusCode::OK, note_json(note))
        }
    }
}

async fn internal(State(app): State<Shared>, headers: HeaderMap) -> Response {
    match caller(&app, &headers) {
        Some(_) => reply(StatusCode::OK, json!({"queue": 0})),
        None => unauthorized(),
    }
}

async fn admin_users(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let Some((_, role)) = caller(&app, &headers) else {
        return unauthorized();
    };
    if role != "admin" && !app.flaws.contains(&Flaw::OpenAdmin) {
        return reply(StatusCode::FORBIDDEN, json!({"error": "forbidden"}));
    }
    let data = app.data.lock().unwrap();
    reply(
        StatusCode::OK,
        Value::Array(data.users.iter().map(user_json).collect()),
    )
}
