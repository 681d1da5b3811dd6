//! Login, refresh, logout and `me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::openapi;
use crate::auth::Authorized;
use crate::auth::Role;
use crate::auth::Via;
use crate::auth::Viewer;
use crate::auth::password;
use crate::auth::secrets;
use crate::auth::stored_role;
use crate::auth::tokens::ACCESS_TOKEN_SECS;
use crate::auth::tokens::unix_now;
use crate::problem::ApiError;
use crate::problem::Credentials;
use crate::state::AppState;

/// Lifetime of a refresh token, in milliseconds (7 days).
const REFRESH_TOKEN_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// An email address and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginParams {
    /// The user's email address (surrounding whitespace is ignored).
    #[schema(example = "admin@example.com")]
    email: String,
    /// The user's password.
    #[schema(example = "correct horse battery staple")]
    password: String,
}

/// A refresh token to spend.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshParams {
    /// The refresh token of a login or an earlier refresh (single use).
    refresh_token: String,
}

/// What to revoke besides the access token used (the body may also be empty).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutParams {
    /// A refresh token to revoke as well (null or absent: none).
    refresh_token: Option<String>,
}

/// An access token and the refresh token that replaces it.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// A JWT (HS256) to send as `Authorization: Bearer TOKEN`.
    access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: i64,
    /// A single-use token for `POST /api/v1/auth/refresh`, valid for 7 days.
    refresh_token: String,
}

/// The caller: its user and how it authenticated.
#[derive(Serialize, ToSchema)]
pub(crate) struct MeResponse {
    /// The user's id.
    id: String,
    /// The user's email address.
    email: String,
    /// The role the credentials act with (an API key may act below its user).
    role: Role,
    /// The kind of credentials used.
    via: CredentialKind,
}

/// The kind of credentials a request authenticated with.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CredentialKind {
    /// A JWT access token.
    Jwt,
    /// An API key.
    ApiKey,
}

fn wrong_credentials() -> ApiError {
    ApiError::Unauthorized {
        detail: "wrong email or password".to_owned(),
        presented: Credentials::Invalid,
    }
}

/// An access token and a fresh refresh token (stored as its hash) for `user_id`.
async fn issue_tokens(
    state: &AppState,
    user_id: String,
    role: Role,
) -> Result<TokenResponse, ApiError> {
    let access_token = state.tokens().issue(&user_id, role, unix_now())?;
    let refresh_token = secrets::new_refresh_token();
    let record = apiwright_store::NewRefreshToken {
        id: secrets::new_id("rt"),
        user_id,
        token_hash: secrets::sha256_hex(&refresh_token),
        expires_at: apiwright_store::now_ms() + REFRESH_TOKEN_MS,
    };
    state
        .db()
        .call("storing a refresh token", move |store| {
            Ok(store.put_refresh_token(&record)?)
        })
        .await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECS,
        refresh_token,
    })
}

/// Log in
///
/// Exchanges an email and password for an access token (15 minutes) and a refresh token
/// (7 days). Public.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    tag = "auth",
    request_body = LoginParams,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ApiJson(params): ApiJson<LoginParams>,
) -> Result<Json<TokenResponse>, ApiError> {
    let email = params.email.trim().to_owned();
    let user = state
        .db()
        .call("reading a user", move |store| {
            Ok(store.user_by_email(&email)?)
        })
        .await?;
    // Verify against a decoy when the user is unknown, so both cases take as long.
    let stored = user.as_ref().map_or_else(
        || password::DECOY_HASH.to_owned(),
        |user| user.password_hash.clone(),
    );
    let matches = password::verify(params.password, stored).await?;
    let user = user.filter(|_| matches).ok_or_else(wrong_credentials)?;
    let role = stored_role(&user.role)?;
    Ok(Json(issue_tokens(&state, user.id, role).await?))
}

/// Refresh tokens
///
/// Spends a refresh token and returns a new access and refresh token. Public: the refresh
/// token is the credential.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    operation_id = "refresh",
    tag = "auth",
    request_body = RefreshParams,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(params): ApiJson<RefreshParams>,
) -> Result<Json<TokenResponse>, ApiError> {
    let token_hash = secrets::sha256_hex(&params.refresh_token);
    let user = state
        .db()
        .call("spending a refresh token", move |store| {
            let Some(spent) = store.spend_refresh_token(&token_hash, apiwright_store::now_ms())?
            else {
                return Ok(None);
            };
            Ok(store.user_by_id(&spent.user_id)?)
        })
        .await?
        .ok_or_else(|| ApiError::Unauthorized {
            detail: "the refresh token is invalid, expired or revoked".to_owned(),
            presented: Credentials::Invalid,
        })?;
    let role = stored_role(&user.role)?;
    Ok(Json(issue_tokens(&state, user.id, role).await?))
}

/// Log out
///
/// Revokes the access token used (an API key is not revoked: use `DELETE
/// /api/v1/api-keys/{id}`) and, when the body names one, a refresh token. The body may be
/// empty. Requires the viewer role.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "logout",
    tag = "auth",
    request_body(content = Option<LogoutParams>, content_type = "application/json"),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Viewer>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    // The body is optional: an empty one (or `null`) revokes only the access token.
    let params: LogoutParams = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutParams::default()
    } else {
        serde_json::from_slice::<Option<LogoutParams>>(&body)
            .map_err(|err| {
                ApiError::BadRequest(format!(
                    "expected an empty body or {{\"refresh_token\": \"…\"}}, found: {err}"
                ))
            })?
            .unwrap_or_default()
    };
    if let Via::Jwt { jti, exp } = &principal.via {
        state.deny_list().deny(jti, *exp, unix_now());
    }
    if let Some(refresh_token) = params.refresh_token {
        let token_hash = secrets::sha256_hex(&refresh_token);
        state
            .db()
            .call("revoking a refresh token", move |store| {
                Ok(store.spend_refresh_token(&token_hash, apiwright_store::now_ms())?)
            })
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Who am I
///
/// The caller's user and how it authenticated. Requires the viewer role.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "me",
    tag = "auth",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Viewer>,
) -> Result<Json<MeResponse>, ApiError> {
    let user_id = principal.user_id.clone();
    let user = state
        .db()
        .call("reading a user", move |store| {
            Ok(store.user_by_id(&user_id)?)
        })
        .await?
        .ok_or_else(|| ApiError::Unauthorized {
            detail: "the user of these credentials no longer exists".to_owned(),
            presented: Credentials::Invalid,
        })?;
    Ok(Json(MeResponse {
        id: user.id,
        email: user.email,
        role: principal.role,
        via: match principal.via {
            Via::Jwt { .. } => CredentialKind::Jwt,
            Via::ApiKey { .. } => CredentialKind::ApiKey,
        },
    }))
}
