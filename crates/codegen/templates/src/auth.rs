//! Identity: argon2id password hashing (off the async runtime), HS256 access tokens carrying
//! the user's token version (bumped by logout and password reset, which invalidates every
//! access token issued before), random refresh and reset tokens stored only as SHA-256
//! digests, the [`Caller`] extractor with the [`Access`] rules, and the account bootstrap.

use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::config::{AppConfig, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, ROLES};
use crate::db;
use crate::error::{ApiError, StartupError};
use crate::middleware::bearer_token;
use crate::validate;

/// The role that may do everything.
pub const ADMIN_ROLE: &str = "admin";

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// The user's token version when the token was issued.
    pub ver: i64,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
}

/// Keys and rules for access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Keys for the HMAC secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A signed access token for user `sub` at token version `ver`, valid for `ttl`.
    pub fn issue(&self, sub: &str, ver: i64, ttl: Duration) -> Result<String, ApiError> {
        let iat = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            ver,
            iat,
            exp: iat + ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| ApiError::Internal(format!("cannot sign a token: {error}")))
    }

    /// The claims of a token with a valid signature that has not expired.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::Unauthorized("The access token is invalid or expired.".into()))
    }
}

/// Hashes a password with argon2id (slow on purpose: call it off the async runtime).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| ApiError::Internal(format!("cannot hash a password: {error}")))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// [`hash_password`] on a blocking thread.
pub async fn hash_password_blocking(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| ApiError::Internal(format!("hashing task failed: {error}")))?
}

/// [`verify_password`] on a blocking thread.
pub async fn verify_password_blocking(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|error| ApiError::Internal(format!("verification task failed: {error}")))
}

/// A random token of 244 bits (refresh tokens, reset tokens, development secrets).
pub fn random_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The SHA-256 digest of a token, hex encoded: what the database keeps instead of the token.
pub fn digest(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Emails are compared case-insensitively.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < PASSWORD_MIN_LENGTH {
        return Err(format!(
            "must be at least {PASSWORD_MIN_LENGTH} characters long"
        ));
    }
    if length > PASSWORD_MAX_LENGTH {
        return Err(format!(
            "must be at most {PASSWORD_MAX_LENGTH} characters long"
        ));
    }
    Ok(())
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User id.
    pub id: String,
    /// Current role.
    pub role: String,
}

impl AuthUser {
    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == ADMIN_ROLE
    }

    /// Whose records the user may see: their own, or everyone's (`None`) for admins.
    pub fn owner_scope(&self) -> Option<String> {
        (!self.is_admin()).then(|| self.id.clone())
    }
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// Anyone, with or without a token.
    Public,
    /// Any signed-in user.
    Authenticated,
    /// Users with one of these roles (and admins).
    Roles(&'static [&'static str]),
}

/// The caller of a request: anonymous (no `Authorization` header) or a user with a valid
/// token. A header with an invalid, expired or revoked token is a 401.
#[derive(Debug)]
pub enum Caller {
    /// No credentials.
    Anonymous,
    /// A valid access token.
    User(AuthUser),
}

impl Caller {
    /// Checks `access`: 401 without a user where one is needed, 403 for another role.
    pub fn authorize(self, access: Access) -> Result<Option<AuthUser>, ApiError> {
        match (access, self) {
            (Access::Public, Self::Anonymous) => Ok(None),
            (_, Self::Anonymous) => {
                Err(ApiError::Unauthorized("Authentication is required.".into()))
            }
            (Access::Roles(roles), Self::User(user))
                if !user.is_admin() && !roles.contains(&user.role.as_str()) =>
            {
                Err(ApiError::Forbidden)
            }
            (_, Self::User(user)) => Ok(Some(user)),
        }
    }

    /// Like [`Caller::authorize`], for operations that need a user even when public.
    pub fn require_user(self, access: Access) -> Result<AuthUser, ApiError> {
        self.authorize(access)?
            .ok_or_else(|| ApiError::Unauthorized("Authentication is required.".into()))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Ok(Self::Anonymous);
        }
        let token = bearer_token(&parts.headers)
            .ok_or_else(|| ApiError::Unauthorized("Expected a bearer token.".into()))?;
        let claims = state.tokens.verify(token)?;
        let id = claims.sub.clone();
        let current = state
            .db
            .call(move |conn| {
                let sql = "SELECT role, token_version FROM users WHERE id = ?1";
                let row = conn
                    .query_row(sql, [&id], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                    })
                    .optional()?;
                Ok(row)
            })
            .await?;
        match current {
            Some((role, version)) if version == claims.ver => Ok(Self::User(AuthUser {
                id: claims.sub,
                role,
            })),
            _ => Err(ApiError::Unauthorized(
                "The access token was revoked.".into(),
            )),
        }
    }
}

/// Creates the user `email` with `password` and `role`, or resets the password and role of
/// the existing one (revoking its access tokens). Returns the user id. Runs at start for
/// `ADMIN_EMAIL`, and in tests.
pub fn ensure_user(
    config: &AppConfig,
    email: &str,
    password: &str,
    role: &str,
) -> Result<String, StartupError> {
    let email = normalize_email(email);
    validate::check_email(&email)
        .map_err(|message| StartupError::Account(format!("email {message}")))?;
    check_password(password)
        .map_err(|message| StartupError::Account(format!("password {message}")))?;
    if !ROLES.contains(&role) {
        return Err(StartupError::Account(format!("unknown role `{role}`")));
    }
    let hash = hash_password(password)
        .map_err(|_| StartupError::Account("cannot hash the password".to_owned()))?;
    let mut conn = db::connect(&config.database_path)?;
    db::migrate(&mut conn)?;
    conn.execute(
        "INSERT INTO users (id, email, password_hash, role, token_version, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5) \
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, \
         role = excluded.role, token_version = token_version + 1, updated_at = excluded.updated_at",
        params![db::new_id(), email, hash, role, db::now()],
    )?;
    let id = conn.query_row("SELECT id FROM users WHERE email = ?1", [&email], |row| {
        row.get(0)
    })?;
    Ok(id)
}

/// Creates or resets the admin account.
pub fn bootstrap_admin(
    config: &AppConfig,
    email: &str,
    password: &str,
) -> Result<String, StartupError> {
    ensure_user(config, email, password, ADMIN_ROLE)
}
