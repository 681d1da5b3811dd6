//! Accounts and tokens: registration, login, refresh rotation, logout, the bearer extractor.
//!
//! Passwords are salted SHA-256 (a per-user random salt, one round): the testbed is a test
//! fixture, not a template, and a slow hash would only slow down the gates that log in.
//! Access tokens are HS256 JWTs pinned to that algorithm with zero leeway; they carry the
//! user's token version, which logout bumps, so tokens issued before a logout stop working.
//! Refresh tokens are random, stored only as SHA-256 hashes and spent on use.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::extract::State;
use axum::response::IntoResponse;
use http::StatusCode;
use http::header;
use http::request::Parts;
use jsonwebtoken::Algorithm;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::Header;
use jsonwebtoken::Validation;
use rand::RngCore;
use serde::Deserialize;
use serde::Serialize;
use sha2::Digest;
use sha2::Sha256;

use crate::AppState;
use crate::Flaw;
use crate::db::NewUser;
use crate::db::Role;
use crate::db::UserRow;
use crate::error::ApiError;
use crate::error::FieldError;
use crate::extract::ApiJson;
use crate::extract::Validate;
use crate::extract::check_length;
use crate::extract::present;

/// Lifetime of an access token.
pub(crate) const ACCESS_TOKEN_SECS: i64 = 15 * 60;
/// Lifetime of a refresh token.
const REFRESH_TOKEN_SECS: i64 = 30 * 24 * 60 * 60;

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex(&buffer)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

/// A random version 4 UUID.
pub(crate) fn new_user_id() -> String {
    let mut bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let text = hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &text[0..8],
        &text[8..12],
        &text[12..16],
        &text[16..20],
        &text[20..32]
    )
}

pub(crate) fn hash_password(password: &str, salt: &str) -> String {
    sha256_hex(&[salt.as_bytes(), b":", password.as_bytes()])
}

fn constant_time_eq(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0_u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// A deliberately plain email check: one `@`, a dotted domain, no spaces or quotes.
pub(crate) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    text.len() <= 254 && local_ok && domain_ok
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    pub(crate) ver: i64,
    pub(crate) role: Role,
}

/// Signs and checks access tokens.
pub(crate) struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub(crate) fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    fn issue(&self, user: &UserRow, now: i64) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user.id.clone(),
            exp: now + ACCESS_TOKEN_SECS,
            iat: now,
            ver: user.token_version,
            role: user.role,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// The claims of a well-signed, unexpired token; `None` for anything else.
    pub(crate) fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The token of an `Authorization: Bearer` header, if there is one.
pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The signed-in caller: a valid access token whose version is the user's current one.
#[derive(Debug, Clone)]
pub(crate) struct AuthUser {
    pub(crate) id: String,
    pub(crate) role: Role,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<AuthUser, ApiError> {
        let token = bearer_token(parts)
            .ok_or_else(|| ApiError::unauthorized("a bearer token is required"))?;
        let claims = state
            .tokens
            .verify(token)
            .ok_or_else(|| ApiError::unauthorized("the bearer token is invalid or expired"))?;
        let user = state
            .db
            .user_by_id(&claims.sub)?
            .filter(|user| user.token_version == claims.ver)
            .ok_or_else(|| ApiError::unauthorized("the bearer token has been revoked"))?;
        Ok(AuthUser {
            id: user.id,
            role: user.role,
        })
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct UserResponse {
    id: String,
    email: String,
    role: Role,
    created_at: String,
}

impl From<UserRow> for UserResponse {
    fn from(user: UserRow) -> UserResponse {
        UserResponse {
            id: user.id,
            email: user.email,
            role: user.role,
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
struct TokensResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterParams {
    email: String,
    password: String,
    /// Not part of the documented body: accepted only with the `mass-assignment` flaw.
    #[serde(default, deserialize_with = "present")]
    role: Option<Role>,
}

impl Validate for RegisterParams {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_email(&self.email) {
            errors.push(FieldError::new("email", "must be an email address"));
        }
        check_length(&mut errors, "password", &self.password, 8, 128);
        errors
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginParams {
    email: String,
    password: String,
}

impl Validate for LoginParams {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_length(&mut errors, "email", &self.email, 1, 254);
        check_length(&mut errors, "password", &self.password, 1, 128);
        errors
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshParams {
    refresh_token: String,
}

impl Validate for RefreshParams {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_length(&mut errors, "refresh_token", &self.refresh_token, 1, 512);
        errors
    }
}

/// Creates an account, or makes an existing one an admin, at start.
pub(crate) fn bootstrap_admin(state: &AppState, email: &str, password: &str) -> Result<(), String> {
    if !is_email(email) || password.chars().count() < 8 {
        return Err(
            "ADMIN_EMAIL must be an email address and ADMIN_PASSWORD at least 8 characters"
                .to_owned(),
        );
    }
    let salt = random_hex(16);
    let password_hash = hash_password(password, &salt);
    let id = new_user_id();
    state
        .db
        .upsert_admin(&NewUser {
            id: &id,
            email,
            password_hash: &password_hash,
            salt: &salt,
            role: Role::Admin,
        })
        .map_err(|error| error.source.to_string())
}

pub(crate) async fn register(
    State(state): State<AppState>,
    ApiJson(params): ApiJson<RegisterParams>,
) -> Result<impl IntoResponse, ApiError> {
    let role = match (params.role, state.has(Flaw::MassAssignment)) {
        (None, _) => Role::Member,
        (Some(role), true) => role,
        (Some(_), false) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "role",
                "unknown field",
            )]));
        }
    };
    let salt = random_hex(16);
    let password_hash = hash_password(&params.password, &salt);
    let id = new_user_id();
    let user = state
        .db
        .insert_user(&NewUser {
            id: &id,
            email: &params.email,
            password_hash: &password_hash,
            salt: &salt,
            role,
        })
        .map_err(|error| {
            if error.is_unique_violation() {
                ApiError::conflict("an account with this email already exists")
                    .with_sql(&error.sql)
                    .with_source(&error.source)
            } else {
                ApiError::from(error)
            }
        })?;
    Ok((StatusCode::CREATED, Json(UserResponse::from(user))))
}

fn issue_tokens(state: &AppState, user: &UserRow) -> Result<Json<TokensResponse>, ApiError> {
    let now = unix_now();
    let access_token = state.tokens.issue(user, now)?;
    let refresh_token = random_hex(32);
    state.db.insert_refresh_token(
        &sha256_hex(&[refresh_token.as_bytes()]),
        &user.id,
        now + REFRESH_TOKEN_SECS,
    )?;
    Ok(Json(TokensResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECS,
    }))
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ApiJson(params): ApiJson<LoginParams>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state.db.user_by_email(&params.email)?;
    // Hash even for an unknown email so both answers take the same time.
    let (salt, expected) = match &user {
        Some(user) => (user.salt.as_str(), user.password_hash.as_str()),
        None => ("unknown-user", ""),
    };
    let matches = constant_time_eq(&hash_password(&params.password, salt), expected);
    match user {
        Some(user) if matches => issue_tokens(&state, &user),
        Some(_) | None => Err(ApiError::unauthorized("the email or password is wrong")),
    }
}

pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(params): ApiJson<RefreshParams>,
) -> Result<impl IntoResponse, ApiError> {
    let token_hash = sha256_hex(&[params.refresh_token.as_bytes()]);
    let user_id = state
        .db
        .spend_refresh_token(&token_hash, unix_now())?
        .ok_or_else(|| {
            ApiError::unauthorized("the refresh token is invalid, expired or revoked")
        })?;
    let user = state.db.user_by_id(&user_id)?.ok_or_else(|| {
        ApiError::unauthorized("the refresh token is invalid, expired or revoked")
    })?;
    issue_tokens(&state, &user)
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    state.db.log_out(&user.id)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn me(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<UserResponse>, ApiError> {
    let user = state
        .db
        .user_by_id(&user.id)?
        .ok_or_else(|| ApiError::unauthorized("the bearer token has been revoked"))?;
    Ok(Json(UserResponse::from(user)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserRow {
        UserRow {
            id: new_user_id(),
            email: "a@example.com".to_owned(),
            role: Role::Member,
            created_at: String::new(),
            token_version: 3,
            password_hash: String::new(),
            salt: String::new(),
        }
    }

    #[test]
    fn tokens_verify_only_with_their_key_and_algorithm() {
        let keys = TokenKeys::new(b"secret");
        let token = keys.issue(&user(), unix_now()).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.ver, 3);
        assert!(TokenKeys::new(b"other").verify(&token).is_none());

        // The same claims unsigned (`alg: none`) are refused.
        let payload = token.split('.').nth(1).unwrap();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(keys.verify(&unsigned).is_none());

        // Another HMAC algorithm with the right secret is refused too.
        let claims = keys.verify(&token).unwrap();
        let hs384 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS384),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(keys.verify(&hs384).is_none());
    }

    #[test]
    fn expired_tokens_are_refused_without_leeway() {
        let keys = TokenKeys::new(b"secret");
        let token = keys
            .issue(&user(), unix_now() - ACCESS_TOKEN_SECS - 1)
            .unwrap();
        assert!(keys.verify(&token).is_none());
    }

    #[test]
    fn user_ids_are_version_4_uuids() {
        let id = new_user_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]));
    }

    #[test]
    fn passwords_hash_with_their_salt() {
        assert_eq!(hash_password("pw", "s1"), hash_password("pw", "s1"));
        assert_ne!(hash_password("pw", "s1"), hash_password("pw", "s2"));
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
    }

    #[test]
    fn plain_email_check() {
        assert!(is_email("alice@example.com"));
        assert!(is_email("a.b+c@mail.example.org"));
        assert!(!is_email("alice"));
        assert!(!is_email("alice@localhost"));
        assert!(!is_email("a lice@example.com"));
        assert!(!is_email("@example.com"));
        assert!(!is_email("alice@example..com"));
    }
}
