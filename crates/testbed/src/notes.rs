//! The notes resource: list with search and paging, create, read, update, delete.
//! A note belongs to the user who created it; admins see every note; anyone else gets 404.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use axum::response::IntoResponse;
use http::StatusCode;
use http::request::Parts;
use serde::Deserialize;
use serde_json::Value;
use serde_json::json;

use crate::AppState;
use crate::Flaw;
use crate::auth::AuthUser;
use crate::db::NoteChanges;
use crate::db::NoteQuery;
use crate::db::NoteRow;
use crate::db::Role;
use crate::db::SearchSql;
use crate::error::ApiError;
use crate::error::FieldError;
use crate::extract::ApiJson;
use crate::extract::Validate;
use crate::extract::check_length;
use crate::extract::present;

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
const MAX_SEARCH_CHARS: usize = 200;

/// A note as the API shows it (the `schema-violation` flaw breaks it on purpose).
fn note_json(state: &AppState, note: NoteRow) -> Value {
    if state.has(Flaw::SchemaViolation) {
        return json!({
            "id": note.id,
            "owner_id": note.owner_id,
            "title": note.title,
            "body": note.body,
            "pinned": if note.pinned { "yes" } else { "no" },
            "created_at": note.created_at,
        });
    }
    well_formed(note)
}

fn well_formed(note: NoteRow) -> Value {
    json!({
        "id": note.id,
        "owner_id": note.owner_id,
        "title": note.title,
        "body": note.body,
        "pinned": note.pinned,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewNote {
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    pinned: bool,
    /// Not part of the documented body: accepted only with the `mass-assignment` flaw.
    #[serde(default, deserialize_with = "present")]
    owner_id: Option<String>,
}

impl Validate for NewNote {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_length(&mut errors, "title", &self.title, 1, 200);
        check_length(&mut errors, "body", &self.body, 0, 10_000);
        errors
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteUpdate {
    #[serde(default, deserialize_with = "present")]
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    body: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pinned: Option<bool>,
    /// Not part of the documented body: accepted only with the `mass-assignment` flaw.
    #[serde(default, deserialize_with = "present")]
    owner_id: Option<String>,
}

impl Validate for NoteUpdate {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(title) = &self.title {
            check_length(&mut errors, "title", title, 1, 200);
        }
        if let Some(body) = &self.body {
            check_length(&mut errors, "body", body, 0, 10_000);
        }
        errors
    }
}

/// The `owner_id` a body may set: none, unless the `mass-assignment` flaw is on.
fn assignable_owner(
    state: &AppState,
    owner_id: Option<String>,
) -> Result<Option<String>, ApiError> {
    match owner_id {
        None => Ok(None),
        Some(owner_id) if state.has(Flaw::MassAssignment) => Ok(Some(owner_id)),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            "owner_id",
            "unknown field",
        )])),
    }
}

/// The note id of the path; anything but an integer is a 400.
pub(crate) struct NoteId(i64);

impl axum::extract::FromRequestParts<AppState> for NoteId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<NoteId, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request("the note id must be an integer")
                    .with_source(rejection.body_text())
            })?;
        text.parse::<i64>().map(NoteId).map_err(|error| {
            ApiError::bad_request("the note id must be an integer").with_source(format!(
                "ParseIntError {{ kind: InvalidDigit }}: {error} (input: {text:?})"
            ))
        })
    }
}

/// Whether `user` may see and change `note` (the `idor` flaw says always).
fn may_access(state: &AppState, user: Option<&AuthUser>, note: &NoteRow) -> bool {
    if state.has(Flaw::Idor) {
        return true;
    }
    match user {
        Some(user) => user.role == Role::Admin || user.id == note.owner_id,
        // Only reachable with the `missing-auth` flaw, which skips authentication.
        None => state.has(Flaw::MissingAuth),
    }
}

#[track_caller]
fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("note {id} does not exist"))
        .with_source(format!("QueryReturnedNoRows (id = {id})"))
        .with_sql(crate::db::NOTE_BY_ID)
}

/// The caller of `GET`/`DELETE /notes/{id}`: authenticated, unless the `missing-auth` flaw is
/// on, which lets anyone through.
pub(crate) struct MaybeAuthUser(Option<AuthUser>);

impl axum::extract::FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<MaybeAuthUser, ApiError> {
        if state.has(Flaw::MissingAuth) {
            return Ok(MaybeAuthUser(None));
        }
        AuthUser::from_request_parts(parts, state)
            .await
            .map(|user| MaybeAuthUser(Some(user)))
    }
}

fn parse_bounded(
    errors: &mut Vec<FieldError>,
    params: &HashMap<String, String>,
    field: &str,
    default: u32,
    (min, max): (u32, u32),
) -> u32 {
    let Some(text) = params.get(field) else {
        return default;
    };
    match text.parse::<u32>() {
        Ok(value) if (min..=max).contains(&value) => value,
        Ok(_) | Err(_) => {
            errors.push(FieldError::new(
                field,
                format!("must be an integer from {min} to {max}"),
            ));
            default
        }
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(params) = params.map_err(|rejection| {
        ApiError::bad_request("the query string cannot be read").with_source(rejection.body_text())
    })?;
    let mut errors = Vec::new();
    let limit = parse_bounded(&mut errors, &params, "limit", DEFAULT_LIMIT, (1, MAX_LIMIT));
    let offset = parse_bounded(
        &mut errors,
        &params,
        "offset",
        0,
        (0, i32::MAX.unsigned_abs()),
    );
    let search = params.get("q").map(String::as_str);
    if search.is_some_and(|search| search.chars().count() > MAX_SEARCH_CHARS) {
        errors.push(FieldError::new(
            "q",
            format!("must be at most {MAX_SEARCH_CHARS} characters long"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if state.has(Flaw::SlowEndpoint) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let query = NoteQuery {
        owner_id: (user.role != Role::Admin).then_some(user.id.as_str()),
        search,
        search_sql: if state.has(Flaw::InjectableSearch) {
            SearchSql::Concatenated
        } else {
            SearchSql::Bound
        },
        limit,
        offset,
    };
    let (notes, total) = state.db.notes(&query)?;
    let items: Vec<Value> = notes
        .into_iter()
        .map(|note| note_json(&state, note))
        .collect();
    Ok(Json(json!({
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(params): ApiJson<NewNote>,
) -> Result<impl IntoResponse, ApiError> {
    let owner_id = assignable_owner(&state, params.owner_id)?.unwrap_or(user.id);
    let note = state
        .db
        .insert_note(&owner_id, &params.title, &params.body, params.pinned)?;
    Ok((StatusCode::CREATED, Json(well_formed(note))))
}

/// Reads that succeed before the server-error flaw starts answering 500.
pub(crate) const SERVER_ERROR_AFTER_READS: u64 = 10;

pub(crate) async fn read(
    State(state): State<AppState>,
    MaybeAuthUser(user): MaybeAuthUser,
    NoteId(id): NoteId,
) -> Result<impl IntoResponse, ApiError> {
    if state.has(Flaw::ServerError)
        && state
            .note_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            >= SERVER_ERROR_AFTER_READS
    {
        return Err(ApiError::internal(
            "the server-error flaw: reading a note fails under traffic",
        ));
    }
    let note = state
        .db
        .note(id)?
        .filter(|note| may_access(&state, user.as_ref(), note))
        .ok_or_else(|| not_found(id))?;
    Ok(Json(note_json(&state, note)))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    NoteId(id): NoteId,
    ApiJson(params): ApiJson<NoteUpdate>,
) -> Result<impl IntoResponse, ApiError> {
    let owner_id = assignable_owner(&state, params.owner_id)?;
    state
        .db
        .note(id)?
        .filter(|note| may_access(&state, Some(&user), note))
        .ok_or_else(|| not_found(id))?;
    let changes = NoteChanges {
        title: params.title.as_deref(),
        body: params.body.as_deref(),
        pinned: params.pinned,
        owner_id: owner_id.as_deref(),
    };
    let note = state
        .db
        .update_note(id, &changes)?
        .ok_or_else(|| not_found(id))?;
    Ok(Json(well_formed(note)))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    MaybeAuthUser(user): MaybeAuthUser,
    NoteId(id): NoteId,
) -> Result<StatusCode, ApiError> {
    state
        .db
        .note(id)?
        .filter(|note| may_access(&state, user.as_ref(), note))
        .ok_or_else(|| not_found(id))?;
    if !state.db.delete_note(id)? {
        return Err(not_found(id));
    }
    Ok(StatusCode::NO_CONTENT)
}
