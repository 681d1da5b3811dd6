//! Users (admin only): create one with a role, list them. The first admin comes from
//! `apiwright admin create`; everyone else is created here.

use axum::Json;
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

/// A user to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserParams {
    /// Their email address (unique), the login name: something `@` a domain with a dot, no
    /// whitespace (surrounding whitespace is trimmed).
    #[schema(
        example = "ops@example.com",
        max_length = 254,
        pattern = r"^\s*[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]\s*$"
    )]
    email: String,
    /// At least 12 characters; stored only as an argon2id hash.
    #[schema(min_length = 12)]
    password: String,
    /// What they may do.
    role: Role,
}

/// A user (never with a password or its hash).
#[derive(Serialize, ToSchema)]
pub(crate) struct UserResponse {
    /// The user's id.
    #[schema(example = "usr_0123456789abcdef0123456789abcdef")]
    id: String,
    /// Their email address.
    email: String,
    /// Their role.
    #[schema(value_type = Role)]
    role: String,
    /// When the user was created (milliseconds since the Unix epoch).
    created_at: i64,
}

impl From<apiwright_store::UserRecord> for UserResponse {
    fn from(record: apiwright_store::UserRecord) -> UserResponse {
        UserResponse {
            id: record.id,
            email: record.email,
            role: record.role,
            created_at: record.created_at,
        }
    }
}

/// Every user.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserListResponse {
    /// The users, oldest first.
    items: Vec<UserResponse>,
}

/// Create a user
///
/// A user who logs in with `email` and `password` and acts with `role`. 409 when the email
/// is taken. Requires the admin role.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "create_user",
    tag = "users",
    request_body = CreateUserParams,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "The user was created", body = UserResponse),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 409, response = openapi::Conflict),
        (status = 413, response = openapi::PayloadTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Authorized<Admin>,
    ApiJson(params): ApiJson<CreateUserParams>,
) -> Result<(StatusCode, Json<UserResponse>), ApiError> {
    let email = crate::check_account(&params.email, &params.password).map_err(|err| {
        let field = match err {
            crate::ServerError::WeakPassword { .. } => "password",
            _ => "email",
        };
        ApiError::Unprocessable(format!("{field}: {err}"))
    })?;
    let password_hash = crate::auth::password::hash(params.password).await?;
    let user = apiwright_store::NewUser {
        id: secrets::new_id("usr"),
        email: email.clone(),
        password_hash,
        role: params.role.as_str().to_owned(),
    };
    let created = state
        .db()
        .call("creating a user", move |store| {
            store.create_user(&user).map_err(|err| match err {
                apiwright_store::StoreError::Duplicate { .. } => {
                    ApiError::Conflict(format!("a user with email `{email}` already exists"))
                }
                other => other.into(),
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// List users
///
/// Every user, without passwords. Requires the admin role.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "users",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The users", body = UserListResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Authorized<Admin>,
) -> Result<Json<UserListResponse>, ApiError> {
    let users = state
        .db()
        .call("listing users", |store| Ok(store.users()?))
        .await?;
    Ok(Json(UserListResponse {
        items: users.into_iter().map(UserResponse::from).collect(),
    }))
}
