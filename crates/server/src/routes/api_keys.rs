//! API keys (admin only): create (the key is shown once), list, revoke.

use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde::Serialize;

use super::json::ApiJson;
use crate::auth::Admin;
use crate::auth::Authorized;
use crate::auth::Role;
use crate::auth::secrets;
use crate::problem::ApiError;
use crate::state::AppState;

/// The longest key name accepted.
const MAX_NAME_CHARS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateApiKeyParams {
    name: String,
    role: Role,
}

#[derive(Serialize)]
pub(crate) struct ApiKeyResponse {
    id: String,
    name: String,
    role: String,
    prefix: String,
    user_id: String,
    created_at: i64,
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

#[derive(Serialize)]
pub(crate) struct CreatedApiKeyResponse {
    #[serde(flatten)]
    record: ApiKeyResponse,
    /// The key itself: shown in this response only.
    key: String,
}

#[derive(Serialize)]
pub(crate) struct ApiKeyListResponse {
    items: Vec<ApiKeyResponse>,
}

/// `POST /api/v1/api-keys` (admin): a key acting for the caller with `role`.
pub(crate) async fn create(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Admin>,
    ApiJson(params): ApiJson<CreateApiKeyParams>,
) -> Result<(StatusCode, Json<CreatedApiKeyResponse>), ApiError> {
    let name = params.name.trim().to_owned();
    let name_chars = name.chars().count();
    if name_chars == 0 || name_chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::Unprocessable(format!(
            "name: expected 1 to {MAX_NAME_CHARS} printable characters, found {name_chars}"
        )));
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

/// `GET /api/v1/api-keys` (admin): every key, revoked ones included, without the keys.
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

/// `DELETE /api/v1/api-keys/{id}` (admin): revokes a key; 404 when no active key has the id.
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
