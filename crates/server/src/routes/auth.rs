//! Login, refresh, logout and `me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde::Serialize;

use super::json::ApiJson;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginParams {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshParams {
    refresh_token: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutParams {
    refresh_token: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
}

#[derive(Serialize)]
pub(crate) struct MeResponse {
    id: String,
    email: String,
    role: Role,
    via: &'static str,
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

/// `POST /api/v1/auth/login` (public): email and password for an access and a refresh token.
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

/// `POST /api/v1/auth/refresh` (public; the refresh token is the credential): spends the
/// refresh token and returns a new pair.
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

/// `POST /api/v1/auth/logout` (viewer): revokes the access token used and, when given, the
/// refresh token.
pub(crate) async fn logout(
    State(state): State<AppState>,
    Authorized { principal, .. }: Authorized<Viewer>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    // The body is optional: an empty one revokes only the access token.
    let params: LogoutParams = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutParams::default()
    } else {
        serde_json::from_slice(&body).map_err(|err| {
            ApiError::BadRequest(format!(
                "expected an empty body or {{\"refresh_token\": \"…\"}}, found: {err}"
            ))
        })?
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

/// `GET /api/v1/me` (viewer): who the caller is.
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
            Via::Jwt { .. } => "jwt",
            Via::ApiKey { .. } => "api_key",
        },
    }))
}
