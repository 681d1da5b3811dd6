//! The namespaced memory over HTTP: read, write and delete keys, match patterns, search text,
//! and read a key's history.
//!
//! Keys contain `/` (`phase-1/product-manager/requirements`), so a key is the *rest of the
//! path* after a fixed prefix (an axum `{*key}` wildcard), never a single path segment:
//!
//! | Method and path                          | Role     | Answers                      |
//! |------------------------------------------|----------|------------------------------|
//! | `GET /api/v1/memory/entries/{*key}`      | viewer   | 200 entry; 404; 422 key      |
//! | `PUT /api/v1/memory/entries/{*key}`      | operator | 201 created, 200 replaced    |
//! | `DELETE /api/v1/memory/entries/{*key}`   | operator | 204; 404; 422 key            |
//! | `GET /api/v1/memory/history/{*key}`      | viewer   | 200 versions; 404; 422 key   |
//! | `GET /api/v1/memory?pattern=&prefix=&limit=` | viewer | 200 entries by key; 422     |
//! | `GET /api/v1/memory/search?q=&limit=`    | viewer   | 200 entries by key; 422      |
//!
//! A path segment is percent-decoded, so a key segment holding `?`, `#` or `%` is sent
//! percent-encoded. `pattern` uses the store's syntax (`*` one segment, `**` any depth) and
//! `prefix` lists a key and everything under it; they are exclusive, and with neither every
//! key is listed. `limit` defaults to 100 and must be 1 to 1000; a listing that stopped at
//! the limit says `"truncated": true`.
//!
//! A `PUT` body is `{"value": V, "tags": {…}?}`: a JSON string is stored as text, any other
//! JSON value as JSON, and both come back as written (`value_type` tells them apart). The
//! `who` tag is set by the server to the caller — `user:EMAIL` for an access token,
//! `api-key:ID` for an API key — so a caller cannot write in someone else's name; `why`
//! defaults to `api memory put` (or `api memory delete`). History is oldest first, including
//! deletes (`op: "delete"`, `value: null`).

use std::collections::BTreeMap;

use apiwright_store::HistoryOp;
use apiwright_store::KeyPattern;
use apiwright_store::MemoryEntry;
use apiwright_store::MemoryVersion;
use apiwright_store::MemoryWrite;
use apiwright_store::Store;
use apiwright_store::StoreError;
use apiwright_store::Tags;
use apiwright_store::Value;
use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::openapi;
use super::query::ApiQuery;
use super::query::bounded_limit;
use crate::auth::Authorized;
use crate::auth::Operator;
use crate::auth::Principal;
use crate::auth::Via;
use crate::auth::Viewer;
use crate::problem::ApiError;
use crate::problem::Credentials;
use crate::state::AppState;

/// The tag that names the writer.
const WHO: &str = "who";
/// The tag that says why.
const WHY: &str = "why";

/// A key path parameter, as the OpenAPI document describes it (the route's `{*key}` wildcard
/// takes the rest of the path, `/` included). The pattern is `apiwright_store::validate_key`'s
/// rules: non-empty `/`-separated segments without `*` or control characters (Unicode `Cc`).
/// The limit of 1024 bytes is in the description only: a character limit that always fits
/// (256) would refuse keys the server takes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documentation only: the handlers take `Path<String>`.
pub(crate) struct KeyParam {
    /// The key: non-empty `/`-separated segments without `*` or control characters, at most
    /// 1024 bytes (UTF-8), e.g. `phase-1/product-manager/requirements` (percent-encode `?`,
    /// `#` and `%` in a segment).
    #[param(
        min_length = 1,
        pattern = r"^[^/*\x00-\x1F\x7F-\x9F]+(/[^/*\x00-\x1F\x7F-\x9F]+)*$"
    )]
    key: String,
}

/// A value to write, with tags.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PutMemoryParams {
    /// Any JSON value; a string is stored as text.
    #[schema(value_type = Value, example = json!({"endpoints": 12}))]
    value: serde_json::Value,
    /// Extra tags; `who` is the server's to set (422 when sent), `why` defaults to
    /// `api memory put`.
    #[serde(default)]
    #[schema(example = json!({"why": "imported by a script"}))]
    tags: BTreeMap<String, String>,
}

/// Which entries to list (`pattern` and `prefix` are exclusive; with neither, every key).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemoryListParams {
    /// Keys matching this pattern: `/`-separated segments, `*` one segment and `**` any depth,
    /// e.g. `phase-1/*/result`. Not with `prefix`.
    #[param(
        min_length = 1,
        pattern = r"^(\*\*?|[^/*\x00-\x1F\x7F-\x9F]+)(/(\*\*?|[^/*\x00-\x1F\x7F-\x9F]+))*$"
    )]
    pattern: Option<String>,
    /// This key and every key under it (a trailing `/` is ignored; at most 1024 bytes without
    /// it). Not with `pattern`.
    #[param(
        min_length = 1,
        pattern = r"^[^/*\x00-\x1F\x7F-\x9F]+(/[^/*\x00-\x1F\x7F-\x9F]+)*/*$"
    )]
    prefix: Option<String>,
    /// The most entries to return, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// The text to search for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemorySearchParams {
    /// Text the key or the value contains (ASCII case-insensitive); not only whitespace.
    #[param(required = true, value_type = String, min_length = 1, pattern = r"\S")]
    q: Option<String>,
    /// The most entries to return, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// The current value of a key.
#[derive(Serialize, ToSchema)]
pub(crate) struct MemoryEntryResponse {
    /// The key.
    #[schema(example = "phase-1/product-manager/requirements")]
    key: String,
    /// The value as written.
    #[schema(value_type = Value)]
    value: serde_json::Value,
    /// `json` or `text`.
    #[schema(pattern = "^(json|text)$", example = "json")]
    value_type: String,
    /// 1 for the first write, +1 for every later put (a delete then put continues counting).
    version: i64,
    /// When the last write happened (ms since the epoch).
    written_at: i64,
    /// The `who` tag of the last write.
    writer: Option<String>,
    /// The tags of the last write.
    tags: BTreeMap<String, String>,
}

/// One put or delete of a key.
#[derive(Serialize, ToSchema)]
pub(crate) struct MemoryVersionResponse {
    /// The key's version after this write.
    version: i64,
    /// `put` or `delete`.
    #[schema(pattern = "^(put|delete)$", example = "put")]
    op: String,
    /// The value written; `null` for a delete.
    #[schema(value_type = Option<Value>)]
    value: Option<serde_json::Value>,
    /// `json` or `text`; `null` for a delete.
    #[schema(pattern = "^(json|text)$")]
    value_type: Option<String>,
    /// When (ms since the epoch).
    written_at: i64,
    /// The `who` tag of the write.
    writer: Option<String>,
    /// The tags of the write.
    tags: BTreeMap<String, String>,
}

/// Every put and delete of a key.
#[derive(Serialize, ToSchema)]
pub(crate) struct MemoryHistoryResponse {
    /// The key.
    key: String,
    /// Oldest first.
    items: Vec<MemoryVersionResponse>,
}

/// Current entries.
#[derive(Serialize, ToSchema)]
pub(crate) struct MemoryListResponse {
    /// Sorted by key.
    items: Vec<MemoryEntryResponse>,
    /// More entries matched than `limit`.
    truncated: bool,
}

/// Which entries a listing reads.
enum Selection {
    Pattern(KeyPattern),
    Prefix(String),
    All,
}

/// The JSON of a stored value and its type name.
fn wire_value(value: Value) -> (serde_json::Value, String) {
    match value {
        Value::Json(json) => (json, "json".to_owned()),
        Value::Text(text) => (serde_json::Value::String(text), "text".to_owned()),
    }
}

impl From<MemoryEntry> for MemoryEntryResponse {
    fn from(entry: MemoryEntry) -> MemoryEntryResponse {
        let (value, value_type) = wire_value(entry.value);
        MemoryEntryResponse {
            key: entry.key,
            value,
            value_type,
            version: entry.version,
            written_at: entry.updated_at,
            writer: entry.tags.get(WHO).cloned(),
            tags: entry.tags,
        }
    }
}

impl From<MemoryVersion> for MemoryVersionResponse {
    fn from(version: MemoryVersion) -> MemoryVersionResponse {
        let (value, value_type) = match version.value.map(wire_value) {
            Some((value, value_type)) => (Some(value), Some(value_type)),
            None => (None, None),
        };
        MemoryVersionResponse {
            version: version.version,
            op: match version.op {
                HistoryOp::Put => "put",
                HistoryOp::Delete => "delete",
            }
            .to_owned(),
            value,
            value_type,
            written_at: version.at,
            writer: version.tags.get(WHO).cloned(),
            tags: version.tags,
        }
    }
}

/// A store error about the caller's input as a 422 naming `field`; anything else stays ours.
fn invalid_input(field: &str, err: StoreError) -> ApiError {
    match err {
        StoreError::InvalidKey { .. } | StoreError::InvalidPattern { .. } => {
            ApiError::Unprocessable(format!("{field}: {err}"))
        }
        other => other.into(),
    }
}

/// `who` for writes by `principal`: `api-key:ID`, or `user:EMAIL` for an access token.
fn writer(store: &Store, principal: &Principal) -> Result<String, ApiError> {
    match &principal.via {
        Via::ApiKey { key_id } => Ok(format!("api-key:{key_id}")),
        Via::Jwt { .. } => {
            let user =
                store
                    .user_by_id(&principal.user_id)?
                    .ok_or_else(|| ApiError::Unauthorized {
                        detail: "the user of these credentials no longer exists".to_owned(),
                        presented: Credentials::Invalid,
                    })?;
            Ok(format!("user:{}", user.email))
        }
    }
}

/// At most `limit` entries, and whether there were more.
fn truncate(mut entries: Vec<MemoryEntry>, limit: usize) -> MemoryListResponse {
    let truncated = entries.len() > limit;
    entries.truncate(limit);
    MemoryListResponse {
        items: entries.into_iter().map(MemoryEntryResponse::from).collect(),
        truncated,
    }
}

/// Read a memory key
///
/// The current value of a key. Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/memory/entries/{key}",
    operation_id = "get_memory",
    tag = "memory",
    params(KeyParam),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The entry", body = MemoryEntryResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
    Path(key): Path<String>,
) -> Result<Json<MemoryEntryResponse>, ApiError> {
    let entry = state
        .db()
        .call("reading memory", move |store| {
            match store.memory_get(&key) {
                Ok(Some(entry)) => Ok(entry),
                Ok(None) => Err(ApiError::NotFound(format!("no memory key `{key}`"))),
                Err(err) => Err(invalid_input("key", err)),
            }
        })
        .await?;
    Ok(Json(entry.into()))
}

/// Write a memory key
///
/// Writes a key: 201 when the key did not exist (also after a delete), 200 when its value was
/// replaced. A JSON string is stored as text, any other value as JSON. The `who` tag is set to
/// the caller. Requires the operator role.
#[utoipa::path(
    put,
    path = "/api/v1/memory/entries/{key}",
    operation_id = "put_memory",
    tag = "memory",
    params(KeyParam),
    request_body = PutMemoryParams,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The value was replaced", body = MemoryEntryResponse),
        (status = 201, description = "The key was created", body = MemoryEntryResponse),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn put(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    Path(key): Path<String>,
    ApiJson(params): ApiJson<PutMemoryParams>,
) -> Result<(StatusCode, Json<MemoryEntryResponse>), ApiError> {
    if params.tags.contains_key(WHO) {
        return Err(ApiError::Unprocessable(format!(
            "tags.{WHO}: expected no `{WHO}` tag (the server records the caller), found one"
        )));
    }
    apiwright_store::validate_key(&key).map_err(|err| invalid_input("key", err))?;
    let value = match params.value {
        serde_json::Value::String(text) => Value::Text(text),
        json => Value::Json(json),
    };
    let mut tags: Tags = params.tags;
    tags.entry(WHY.to_owned())
        .or_insert_with(|| "api memory put".to_owned());
    let (created, entry) = state
        .db()
        .call("writing memory", move |store| {
            tags.insert(WHO.to_owned(), writer(store, &principal)?);
            // One connection serves every request, so nothing of ours writes in between; a
            // CLI writing the same key at the same moment could make 201 and 200 swap.
            let created = store.memory_get(&key)?.is_none();
            let write = MemoryWrite { key, value, tags };
            let entry = store.memory_put(&write)?;
            Ok((created, entry))
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(entry.into())))
}

/// Delete a memory key
///
/// Deletes a key; the delete is kept in the key's history with the caller as `who`. Requires
/// the operator role.
#[utoipa::path(
    delete,
    path = "/api/v1/memory/entries/{key}",
    operation_id = "delete_memory",
    tag = "memory",
    params(KeyParam),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The key was deleted"),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Operator>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .db()
        .call("deleting memory", move |store| {
            apiwright_store::validate_key(&key).map_err(|err| invalid_input("key", err))?;
            let tags = Tags::from([
                (WHO.to_owned(), writer(store, &principal)?),
                (WHY.to_owned(), "api memory delete".to_owned()),
            ]);
            if store.memory_delete(&key, &tags)? {
                Ok(StatusCode::NO_CONTENT)
            } else {
                Err(ApiError::NotFound(format!("no memory key `{key}`")))
            }
        })
        .await
}

/// A memory key's history
///
/// Every put and delete of a key, oldest first; 404 when the key was never written. Requires
/// the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/memory/history/{key}",
    operation_id = "memory_history",
    tag = "memory",
    params(KeyParam),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The key's versions", body = MemoryHistoryResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
    Path(key): Path<String>,
) -> Result<Json<MemoryHistoryResponse>, ApiError> {
    state
        .db()
        .call("reading memory history", move |store| {
            let versions = store
                .memory_history(&key)
                .map_err(|err| invalid_input("key", err))?;
            if versions.is_empty() {
                return Err(ApiError::NotFound(format!(
                    "memory key `{key}` was never written"
                )));
            }
            Ok(Json(MemoryHistoryResponse {
                key,
                items: versions
                    .into_iter()
                    .map(MemoryVersionResponse::from)
                    .collect(),
            }))
        })
        .await
}

/// List memory
///
/// Current entries matching a pattern, under a prefix, or all, sorted by key (`pattern` and
/// `prefix` together are a 422). Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/memory",
    operation_id = "list_memory",
    tag = "memory",
    params(MemoryListParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The entries", body = MemoryListResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
    ApiQuery(params): ApiQuery<MemoryListParams>,
) -> Result<Json<MemoryListResponse>, ApiError> {
    let limit = bounded_limit(params.limit)?;
    let selection = match (params.pattern, params.prefix) {
        (Some(_), Some(_)) => {
            return Err(ApiError::Unprocessable(
                "pattern, prefix: expected at most one of them, found both".to_owned(),
            ));
        }
        (Some(pattern), None) => Selection::Pattern(
            KeyPattern::parse(&pattern).map_err(|err| invalid_input("pattern", err))?,
        ),
        (None, Some(prefix)) => {
            let trimmed = prefix.trim_end_matches('/');
            apiwright_store::validate_key(trimmed).map_err(|err| invalid_input("prefix", err))?;
            Selection::Prefix(trimmed.to_owned())
        }
        (None, None) => Selection::All,
    };
    let entries = state
        .db()
        .call("listing memory", move |store| {
            Ok(match selection {
                Selection::Pattern(pattern) => store.memory_match(&pattern)?,
                Selection::Prefix(prefix) => store.memory_list(Some(&prefix))?,
                Selection::All => store.memory_list(None)?,
            })
        })
        .await?;
    Ok(Json(truncate(entries, limit)))
}

/// Search memory
///
/// Entries whose key or value contains the text (ASCII case-insensitive), sorted by key.
/// Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/memory/search",
    operation_id = "search_memory",
    tag = "memory",
    params(MemorySearchParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The entries", body = MemoryListResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    _: Authorized<Viewer>,
    ApiQuery(params): ApiQuery<MemorySearchParams>,
) -> Result<Json<MemoryListResponse>, ApiError> {
    let limit = bounded_limit(params.limit)?;
    let text = params.q.filter(|q| !q.trim().is_empty()).ok_or_else(|| {
        ApiError::Unprocessable("q: expected the text to search for, found none".to_owned())
    })?;
    let entries = state
        .db()
        .call("searching memory", move |store| {
            // One more than asked tells whether there were more.
            Ok(store.memory_search(&text, limit + 1)?)
        })
        .await?;
    Ok(Json(truncate(entries, limit)))
}
