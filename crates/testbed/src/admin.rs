//! Admin-only endpoints, and the `undocumented-route` flaw's debug dump.

use axum::Json;
use axum::extract::State;
use serde_json::Value;
use serde_json::json;

use crate::AppState;
use crate::auth::AuthUser;
use crate::auth::UserResponse;
use crate::db::Role;
use crate::error::ApiError;

pub(crate) async fn users(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    if user.role != Role::Admin {
        return Err(ApiError::forbidden("only admins may list users"));
    }
    let items: Vec<UserResponse> = state
        .db
        .users()?
        .into_iter()
        .map(UserResponse::from)
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/debug` with the `undocumented-route` flaw: no auth, and everything a
/// forgotten debug endpoint typically leaks.
pub(crate) fn debug_dump(state: &AppState) -> Result<Json<Value>, ApiError> {
    let users: Vec<Value> = state
        .db
        .users()?
        .into_iter()
        .map(|user| {
            json!({
                "id": user.id,
                "email": user.email,
                "role": user.role,
                "password_hash": user.password_hash,
                "salt": user.salt,
                "token_version": user.token_version,
                "created_at": user.created_at,
            })
        })
        .collect();
    let config = &state.config;
    Ok(Json(json!({
        "config": {
            "flaw": config.flaw.map(|flaw| flaw.name()),
            "database_path": config.database_path.as_ref().map(|path| path.display().to_string()),
            "jwt_secret": String::from_utf8_lossy(&state.jwt_secret),
            "rate_limit_per_user": config.rate_limit_per_user,
            "rate_limit_per_ip": config.rate_limit_per_ip,
            "admin_email": config.admin.as_ref().map(|admin| admin.email.as_str()),
        },
        "users": users,
    })))
}
