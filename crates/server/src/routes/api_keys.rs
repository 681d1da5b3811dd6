//! API keys (admin only): create (the key is shown once), list, revoke.

use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::openapi;
use crate::auth::Admin;
use crate::auth::Authorized;
use crate::auth::Role;
use crate::auth::secrets;
use crate::problem::ApiError;
use crate::state::AppState;

/// The longest key name accepted.
const MAX_NAME_CHARS: usize = 100;

/// A new API key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateApiKeyParams {
    /// What the key is for: 1 to 100 characters, not only whitespace, no control characters
    /// (surrounding whitespace is dropped).
    // `create` checks the same rules with `char` methods: the pattern allows no control
    // character (Unicode `Cc`) and needs one that is not whitespace.
    #[schema(
        example = "metrics scraper",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: String,
    /// The role the key acts with (never above its user's).
    role: Role,
}

/// An API key, without the key itself.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyResponse {
    /// The key's id (for revoking it).
    #[schema(example = "key_0123456789abcdef0123456789abcdef")]
    id: String,
    /// What the key is for.
    name: String,
    /// The role the key acts with.
    #[schema(value_type = Role)]
    role: String,
    /// The first characters of the key, to recognise it.
    prefix: String,
    /// The user the key acts for.
    user_id: String,
    /// When the key was created (milliseconds since the Unix epoch).
    created_at: i64,
    /// When the key was revoked (milliseconds since the Unix epoch), or null while active.
    revoked_at: Option<i64>,
}

impl From<apiwright_store::ApiKeyRecord> for ApiKeyResponse {
    fn from(record: apiwright_store::ApiKeyRecord) -> ApiKeyResponse {
        ApiKeyResponse {
            id: record.id,
            name: record.name,
            role: record.role,
            prefix: record.prefix,
            user_id: record.user_id,
            created_at: record.created_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// A new API key, with the key itself.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedApiKeyResponse {
    #[serde(flatten)]
    record: ApiKeyResponse,
    /// The key itself: shown in this response only.
    key: String,
}

/// Every API key.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyListResponse {
    /// The keys, revoked ones included, oldest first.
    items: Vec<ApiKeyResponse>,
}

/// Create an API key
///
/// A key acting for the caller with `role`. The key is in this response only; send it as
/// `X-API-Key: KEY` or `Authorization: Bearer KEY`. Requires the admin role.
#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    operation_id = "create_api_key",
    tag = "api-keys",
    request_body = CreateApiKeyParams,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "The key was created", body = CreatedApiKeyResponse),
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
pub(crate) async fn create(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Admin>,
    ApiJson(params): ApiJson<CreateApiKeyParams>,
) -> Result<(StatusCode, Json<CreatedApiKeyResponse>), ApiError> {
    // The rules of the schema's `name` (length, pattern), on the name as sent; stored trimmed.
    let name_chars = params.name.chars().count();
    if !(1..=MAX_NAME_CHARS).contains(&name_chars) {
        return Err(ApiError::Unprocessable(format!(
            "name: expected 1 to {MAX_NAME_CHARS} characters, found {name_chars}"
        )));
    }
    if let Some(control) = params.name.chars().find(|c| c.is_control()) {
        return Err(ApiError::Unprocessable(format!(
            "name: expected no control characters, found U+{:04X}",
            u32::from(control)
        )));
    }
    let name = params.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::Unprocessable(
            "name: expected a character other than whitespace, found only whitespace".to_owned(),
        ));
    }
    let key = secrets::new_api_key();
    let new_key = apiwright_store::NewApiKey {
        id: secrets::new_id("key"),
        user_id: principal.user_id.clone(),
        name,
        key_hash: secrets::sha256_hex(&key),
        prefix: secrets::shown_prefix(&key),
        role: params.role.as_str().to_owned(),
    };
    let record = state
        .db()
        .call("creating an API key", move |store| {
            Ok(store.create_api_key(&new_key)?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKeyResponse {
            record: record.into(),
            key,
        }),
    ))
}

/// List API keys
///
/// Every key, revoked ones included, without the keys themselves. Requires the admin role.
#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    operation_id = "list_api_keys",
    tag = "api-keys",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The keys", body = ApiKeyListResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Admin>,
) -> Result<Json<ApiKeyListResponse>, ApiError> {
    let records = state
        .db()
        .call("listing API keys", |store| Ok(store.api_keys()?))
        .await?;
    Ok(Json(ApiKeyListResponse {
        items: records.into_iter().map(ApiKeyResponse::from).collect(),
    }))
}

/// Revoke an API key
///
/// Revokes the key at once; 404 when no active key has the id. Requires the admin role.
#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{id}",
    operation_id = "revoke_api_key",
    tag = "api-keys",
    params(("id" = String, Path, description = "The key's id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The key was revoked"),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    _: Authorized<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let lookup = id.clone();
    let revoked = state
        .db()
        .call("revoking an API key", move |store| {
            Ok(store.revoke_api_key(&lookup)?)
        })
        .await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no active API key with id `{id}`"
        )))
    }
}
