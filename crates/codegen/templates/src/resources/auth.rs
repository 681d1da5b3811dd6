//! `/api/v1/auth`: registration, login, refresh-token rotation, logout, password reset and the
//! current user. Refresh and reset tokens are random, stored only as SHA-256 digests, and
//! single-use: a refresh token presented twice ends every session of its user. Logout and
//! password reset revoke the user's refresh tokens and bump its token version, which
//! invalidates the access tokens already issued.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{self, Access, Caller};
use crate::config::DEFAULT_ROLE;
use crate::db;
use crate::error::{ApiError, FieldError};
use crate::extract::JsonObject;
use crate::validate;

/// Verified when the email is unknown, so that a failed login takes as long either way.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$3BsWbq152tRoDkFSJIYfyA$haNmTNeM2cxpDQKHFq8qbQhVdhXec7yX4Pl5xBOZR3A";

/// A user as returned by the API (never with the password hash).
#[derive(Debug, Serialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The answer to register, login and refresh.
#[derive(Debug, Serialize)]
pub struct Session {
    pub user: User,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Lifetime of the access token, in seconds.
    pub expires_in: u64,
}

/// The auth routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/password-reset/request", post(request_reset))
        .route("/api/v1/auth/password-reset/confirm", post(confirm_reset))
        .route("/api/v1/auth/me", get(me))
}

/// `POST /register` {email, password}: 201 with the new user (default role) and a session.
async fn register(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let [email, password] = read_strings(body, ["email", "password"])?;
    let email = auth::normalize_email(&email);
    let mut errors = Vec::new();
    if let Err(message) = validate::check_email(&email) {
        errors.push(FieldError::new("email", message));
    }
    if let Err(message) = auth::check_password(&password) {
        errors.push(FieldError::new("password", message));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let hash = auth::hash_password_blocking(password).await?;
    let session = state
        .db
        .call({
            let state = state.clone();
            move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let id = db::new_id();
                tx.execute(
                    "INSERT INTO users \
                     (id, email, password_hash, role, token_version, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5)",
                    params![id, email, hash, DEFAULT_ROLE, db::now()],
                )?;
                let session = start_session(&tx, &state, &id)?;
                tx.commit()?;
                Ok(session)
            }
        })
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// `POST /login` {email, password}: a new session, or 401 (the same for an unknown email).
async fn login(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> Result<Json<Session>, ApiError> {
    let [email, password] = read_strings(body, ["email", "password"])?;
    let email = auth::normalize_email(&email);
    let account = state
        .db
        .call(move |conn| {
            let sql = "SELECT id, password_hash FROM users WHERE email = ?1";
            let account = conn
                .query_row(sql, [&email], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .optional()?;
            Ok(account)
        })
        .await?;
    let (id, hash) = account.unwrap_or_else(|| (String::new(), DUMMY_HASH.to_owned()));
    if !auth::verify_password_blocking(password, hash).await? || id.is_empty() {
        return Err(ApiError::Unauthorized(
            "The email or the password is wrong.".into(),
        ));
    }
    let session = state
        .db
        .call({
            let state = state.clone();
            move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let session = start_session(&tx, &state, &id)?;
                tx.commit()?;
                Ok(session)
            }
        })
        .await?;
    Ok(Json(session))
}

/// `POST /refresh` {refresh_token}: a new session; the presented token is revoked.
async fn refresh(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> Result<Json<Session>, ApiError> {
    let [token] = read_strings(body, ["refresh_token"])?;
    let digest = auth::digest(&token);
    let session = state
        .db
        .call({
            let state = state.clone();
            move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let sql = "SELECT id, user_id, expires_at, revoked_at \
                           FROM refresh_tokens WHERE token_hash = ?1";
                let row = tx
                    .query_row(sql, [&digest], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, Option<String>>(3)?,
                        ))
                    })
                    .optional()?;
                let Some((id, user_id, expires_at, revoked_at)) = row else {
                    return Ok(None);
                };
                let now = db::now();
                if revoked_at.is_some() {
                    // A revoked token came back: it may have been stolen, end every session.
                    revoke_sessions(&tx, &user_id, &now)?;
                    tx.commit()?;
                    return Ok(None);
                }
                if expires_at <= now {
                    return Ok(None);
                }
                tx.execute(
                    "UPDATE refresh_tokens SET revoked_at = ?1 WHERE id = ?2",
                    params![now, id],
                )?;
                let session = start_session(&tx, &state, &user_id)?;
                tx.commit()?;
                Ok(Some(session))
            }
        })
        .await?;
    session.map(Json).ok_or_else(|| {
        ApiError::Unauthorized("The refresh token is invalid, expired or revoked.".into())
    })
}

/// `POST /logout` (bearer): 204; every refresh and access token of the user stops working.
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    let user = caller.require_user(Access::Authenticated)?;
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            revoke_sessions(&tx, &user.id, &db::now())?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /password-reset/request` {email}: always 202, whether the account exists or not.
/// The token would be sent by email; it is in the body only with `expose_reset_tokens`.
async fn request_reset(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let [email] = read_strings(body, ["email"])?;
    let email = auth::normalize_email(&email);
    // A malformed address is the caller's mistake, not an unknown account: it says nothing
    // about which accounts exist, so it is answered as the document promises (422).
    if let Err(message) = validate::check_email(&email) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "email", message,
        )]));
    }
    let ttl = state.config.reset_token_ttl;
    let token = state
        .db
        .call(move |conn| {
            let sql = "SELECT id FROM users WHERE email = ?1";
            let user_id: Option<String> =
                conn.query_row(sql, [&email], |row| row.get(0)).optional()?;
            let Some(user_id) = user_id else {
                return Ok(None);
            };
            let token = auth::random_token();
            conn.execute(
                "INSERT INTO password_resets (id, user_id, token_hash, expires_at, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    db::new_id(),
                    user_id,
                    auth::digest(&token),
                    db::timestamp_after(ttl)?,
                    db::now()
                ],
            )?;
            tracing::info!(%user_id, "password reset issued");
            Ok(Some(token))
        })
        .await?;
    let mut body = json!({
        "message": "If an account exists for this email, a password reset has been issued."
    });
    if let Some(token) = token.filter(|_| state.config.expose_reset_tokens) {
        body["reset_token"] = Value::from(token);
    }
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// `POST /password-reset/confirm` {token, new_password}: 204, or 400 for an unknown, used or
/// expired token.
async fn confirm_reset(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    let [token, password] = read_strings(body, ["token", "new_password"])?;
    auth::check_password(&password)
        .map_err(|message| ApiError::invalid("new_password", message))?;
    let hash = auth::hash_password_blocking(password).await?;
    let digest = auth::digest(&token);
    let done = state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = db::now();
            let sql = "SELECT id, user_id FROM password_resets \
                       WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2";
            let reset = tx
                .query_row(sql, params![digest, now], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .optional()?;
            let Some((reset_id, user_id)) = reset else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE password_resets SET used_at = ?1 WHERE id = ?2",
                params![now, reset_id],
            )?;
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, user_id],
            )?;
            revoke_sessions(&tx, &user_id, &now)?;
            tx.commit()?;
            Ok(true)
        })
        .await?;
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::BadRequest(
            "The reset token is invalid, used or expired.".to_owned(),
        ))
    }
}

/// `GET /me` (bearer): the signed-in user.
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<User>, ApiError> {
    let user = caller.require_user(Access::Authenticated)?;
    let (user, _) = state
        .db
        .call(move |conn| Ok(load_user(conn, &user.id)?))
        .await?;
    Ok(Json(user))
}

/// Issues an access token and a refresh token for user `id`.
fn start_session(conn: &Connection, state: &AppState, id: &str) -> Result<Session, ApiError> {
    let (user, version) = load_user(conn, id)?;
    let ttl = state.config.access_token_ttl;
    let access_token = state.tokens.issue(id, version, ttl)?;
    let refresh_token = auth::random_token();
    conn.execute(
        "INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            db::new_id(),
            id,
            auth::digest(&refresh_token),
            db::timestamp_after(state.config.refresh_token_ttl)?,
            db::now()
        ],
    )?;
    Ok(Session {
        user,
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ttl.as_secs(),
    })
}

/// A user and its token version.
fn load_user(conn: &Connection, id: &str) -> rusqlite::Result<(User, i64)> {
    conn.query_row(
        "SELECT id, email, role, created_at, updated_at, token_version FROM users WHERE id = ?1",
        [id],
        |row| {
            let user = User {
                id: row.get(0)?,
                email: row.get(1)?,
                role: row.get(2)?,
                created_at: row.get(3)?,
                updated_at: row.get(4)?,
            };
            Ok((user, row.get(5)?))
        },
    )
}

/// Revokes every refresh token of the user and invalidates its access tokens.
fn revoke_sessions(conn: &Connection, user_id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
        params![now, user_id],
    )?;
    conn.execute(
        "UPDATE users SET token_version = token_version + 1, updated_at = ?1 WHERE id = ?2",
        params![now, user_id],
    )?;
    Ok(())
}

/// Takes the named string fields out of `body`: a missing or non-string field, or any other
/// field, is a 422 naming it.
fn read_strings<const N: usize>(
    mut body: Map<String, Value>,
    names: [&'static str; N],
) -> Result<[String; N], ApiError> {
    let mut errors = Vec::new();
    let values = names.map(|name| match body.remove(name) {
        Some(Value::String(value)) => value,
        Some(_) => {
            errors.push(FieldError::new(name, "must be a string"));
            String::new()
        }
        None => {
            errors.push(FieldError::new(name, "is required"));
            String::new()
        }
    });
    errors.extend(
        body.keys()
            .map(|key| FieldError::new(key, "is not a field of this request")),
    );
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(errors))
    }
}
