//! Who is calling: roles, the [`Principal`] extractor (a JWT access token or an API key) and
//! the role check every route makes.

pub(crate) mod password;
pub(crate) mod secrets;
pub(crate) mod tokens;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::ApiError;
use crate::problem::Credentials;
use crate::rate_limit::Bucket;
use crate::state::AppState;

/// What a principal may do; each role includes the ones below it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Reads, and starts and steers runs.
    Operator,
    /// Everything, including users and API keys.
    Admin,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role named `text`, if any.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    /// An access token, with its id and expiry (for logout).
    Jwt { jti: String, exp: i64 },
    /// An API key, by id.
    ApiKey { key_id: String },
}

/// The authenticated caller of a request. Extracting it authenticates the request and counts
/// it against the principal's rate limit; handlers then call [`Principal::require`].
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub(crate) user_id: String,
    pub(crate) role: Role,
    pub(crate) via: Via,
}

impl Principal {
    /// `Ok` when the principal's role is at least `needed`, 403 otherwise.
    pub(crate) fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                needed,
                found: self.role,
            })
        }
    }
}

/// A role a route requires, as a type (see [`Authorized`]).
pub(crate) trait RequiredRole {
    const ROLE: Role;
}

/// Marker: the route needs at least [`Role::Viewer`].
pub(crate) struct Viewer;
/// Marker: the route needs at least [`Role::Operator`].
pub(crate) struct Operator;
/// Marker: the route needs [`Role::Admin`].
pub(crate) struct Admin;

impl RequiredRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl RequiredRole for Operator {
    const ROLE: Role = Role::Operator;
}
impl RequiredRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// A [`Principal`] that passed `require(R::ROLE)`. Being an extractor that runs before any
/// body extractor, the role check answers 403 before a body is even read, and a handler's
/// signature states its role.
pub(crate) struct Authorized<R: RequiredRole> {
    pub(crate) principal: Principal,
    role: std::marker::PhantomData<R>,
}

impl<R: RequiredRole> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require(R::ROLE)?;
        Ok(Authorized {
            principal,
            role: std::marker::PhantomData,
        })
    }
}

/// Like [`Authorized`], for event streams: browsers' `EventSource` cannot send headers, so
/// the credential may also come as the `access_token` query parameter (headers win).
pub(crate) struct StreamAuthorized<R: RequiredRole> {
    #[allow(dead_code)] // The stream needs the check, not the caller.
    pub(crate) principal: Principal,
    role: std::marker::PhantomData<R>,
}

impl<R: RequiredRole> FromRequestParts<AppState> for StreamAuthorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let from_query = parts.uri.query().and_then(|query| {
            query.split('&').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                (name == "access_token").then(|| percent_decode(value))
            })
        });
        let principal = match credential(&parts.headers)? {
            Some(token) => authenticate(state, token).await?,
            None => match from_query {
                Some(token) => authenticate(state, &token).await?,
                None => return Err(missing_credentials()),
            },
        };
        principal.require(R::ROLE)?;
        Ok(StreamAuthorized {
            principal,
            role: std::marker::PhantomData,
        })
    }
}

/// `%XX` escapes and `+` decoded (tokens and keys are URL-safe; this is for clients that
/// escape them anyway).
fn percent_decode(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        let escaped = (byte == b'%')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                rest = &tail[2..];
            }
            None => {
                out.push(if byte == b'+' { b' ' } else { byte });
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The credential of a request: `Authorization: Bearer …`, else `X-API-Key`.
fn credential(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let invalid = |detail: &str| ApiError::Unauthorized {
        detail: detail.to_owned(),
        presented: Credentials::Invalid,
    };
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| invalid("the Authorization header is not visible ASCII"))?;
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                invalid("expected `Authorization: Bearer TOKEN`, found another scheme or no token")
            })?;
        return Ok(Some(token));
    }
    if let Some(value) = headers.get("x-api-key") {
        let key = value
            .to_str()
            .map_err(|_| invalid("the X-API-Key header is not visible ASCII"))?
            .trim();
        return Ok(Some(key));
    }
    Ok(None)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Principal, ApiError> {
        let token = credential(&parts.headers)?.ok_or_else(missing_credentials)?;
        authenticate(state, token).await
    }
}

fn missing_credentials() -> ApiError {
    ApiError::Unauthorized {
        detail: "credentials required: expected `Authorization: Bearer TOKEN` or `X-API-Key`"
            .to_owned(),
        presented: Credentials::Missing,
    }
}

/// The principal a credential (an access token or an API key) stands for, counted against
/// its rate limit.
async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let principal = if token.starts_with(secrets::API_KEY_PREFIX) {
        api_key_principal(state, token).await?
    } else {
        jwt_principal(state, token)?
    };
    let bucket = match &principal.via {
        Via::Jwt { .. } => Bucket::User(principal.user_id.clone()),
        Via::ApiKey { key_id } => Bucket::ApiKey(key_id.clone()),
    };
    state.principal_limiter().check(bucket)?;
    Ok(principal)
}

fn jwt_principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let invalid = || ApiError::Unauthorized {
        detail: "the access token is invalid, expired or revoked".to_owned(),
        presented: Credentials::Invalid,
    };
    let claims = state.tokens().verify(token).ok_or_else(invalid)?;
    if state.deny_list().is_denied(&claims.jti) {
        return Err(invalid());
    }
    Ok(Principal {
        user_id: claims.sub,
        role: claims.role,
        via: Via::Jwt {
            jti: claims.jti,
            exp: claims.exp,
        },
    })
}

async fn api_key_principal(state: &AppState, key: &str) -> Result<Principal, ApiError> {
    let key_hash = secrets::sha256_hex(key);
    let found = state
        .db()
        .point_read("looking up an API key", move |store| {
            Ok(store.api_key_by_hash(&key_hash)?)
        })
        .await?
        .ok_or_else(|| ApiError::Unauthorized {
            detail: "the API key is unknown or revoked".to_owned(),
            presented: Credentials::Invalid,
        })?;
    let key_role = stored_role(&found.key.role)?;
    let user_role = stored_role(&found.user_role)?;
    Ok(Principal {
        user_id: found.key.user_id,
        // A key never acts above its user.
        role: key_role.min(user_role),
        via: Via::ApiKey {
            key_id: found.key.id,
        },
    })
}

/// A role read from the store (the schema allows only the three names).
pub(crate) fn stored_role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| {
        ApiError::internal(
            "reading a role",
            format!("expected viewer, operator or admin in the store, found `{text}`"),
        )
    })
}

/// A deliberately plain check: one `@` with text on both sides, no spaces, at most 254 bytes.
pub(crate) fn is_plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && text.len() <= 254
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_checked() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        let principal = Principal {
            user_id: "u".into(),
            role: Role::Operator,
            via: Via::ApiKey { key_id: "k".into() },
        };
        assert!(principal.require(Role::Viewer).is_ok());
        assert!(principal.require(Role::Operator).is_ok());
        let err = principal.require(Role::Admin).unwrap_err();
        assert_eq!(
            err.to_string(),
            "this operation needs the admin role; the caller has operator"
        );
        for role in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn credentials_come_from_bearer_or_x_api_key() {
        let mut headers = HeaderMap::new();
        assert_eq!(credential(&headers).unwrap(), None);
        headers.insert("x-api-key", "aw_1".parse().unwrap());
        assert_eq!(credential(&headers).unwrap(), Some("aw_1"));
        headers.insert(header::AUTHORIZATION, "bearer tok".parse().unwrap());
        assert_eq!(credential(&headers).unwrap(), Some("tok"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(credential(&headers).is_err());
    }

    #[test]
    fn emails_are_checked_plainly() {
        assert!(is_plausible_email("admin@example.com"));
        for bad in ["admin", "@example.com", "a@b", "a b@example.com", "a@.com"] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }
}
