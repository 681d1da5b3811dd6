//! JWT access tokens (HS256, 15 minutes, claims `sub`/`role`/`exp`/`iat`/`jti`) and the
//! in-memory deny list of logged-out tokens' ids, kept until the tokens expire.

use std::collections::HashMap;
use std::sync::Mutex;

use jsonwebtoken::Algorithm;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::Header;
use jsonwebtoken::Validation;
use serde::Deserialize;
use serde::Serialize;

use super::Role;
use super::secrets;
use crate::config::JwtSecret;
use crate::problem::ApiError;

/// Lifetime of an access token, in seconds.
pub(crate) const ACCESS_TOKEN_SECS: i64 = 15 * 60;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    pub(crate) role: Role,
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    pub(crate) jti: String,
}

/// Signs and checks access tokens.
pub(crate) struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub(crate) fn new(secret: &JwtSecret) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub", "iat", "jti"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.bytes()),
            decoding: DecodingKey::from_secret(secret.bytes()),
            validation,
        }
    }

    /// A fresh token for `user_id` with `role`, issued at `now` (seconds since the epoch).
    pub(crate) fn issue(&self, user_id: &str, role: Role, now: i64) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            exp: now + ACCESS_TOKEN_SECS,
            iat: now,
            jti: secrets::new_id("jti"),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|err| ApiError::internal("signing an access token", err))
    }

    /// The claims of a well-signed HS256 token that has not expired; `None` otherwise.
    pub(crate) fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Ids (`jti`) of access tokens revoked by logout, each kept until its token expires.
#[derive(Default)]
pub(crate) struct DenyList {
    expiries: Mutex<HashMap<String, i64>>,
}

impl DenyList {
    /// Revokes `jti` until `exp`; drops entries whose tokens have expired by `now`.
    pub(crate) fn deny(&self, jti: &str, exp: i64, now: i64) {
        let mut expiries = self
            .expiries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        expiries.retain(|_, expiry| *expiry > now);
        expiries.insert(jti.to_owned(), exp);
    }

    pub(crate) fn is_denied(&self, jti: &str) -> bool {
        self.expiries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(jti)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    apiwright_store::now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> TokenKeys {
        TokenKeys::new(&JwtSecret::new(vec![byte; 32]).unwrap())
    }

    #[test]
    fn issued_tokens_verify_with_the_same_secret_only_and_until_they_expire() {
        let now = unix_now();
        let token = keys(1).issue("usr_1", Role::Operator, now).unwrap();
        let claims = keys(1).verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.role),
            ("usr_1", Role::Operator)
        );
        assert_eq!(claims.exp - claims.iat, ACCESS_TOKEN_SECS);
        assert!(keys(2).verify(&token).is_none());
        let expired = keys(1)
            .issue("usr_1", Role::Admin, now - ACCESS_TOKEN_SECS - 1)
            .unwrap();
        assert!(keys(1).verify(&expired).is_none());
        assert!(keys(1).verify("not.a.token").is_none());
    }

    #[test]
    fn denied_ids_are_forgotten_after_expiry() {
        let deny_list = DenyList::default();
        deny_list.deny("a", 100, 0);
        assert!(deny_list.is_denied("a"));
        deny_list.deny("b", 300, 200);
        assert!(!deny_list.is_denied("a"));
        assert!(deny_list.is_denied("b"));
    }
}
