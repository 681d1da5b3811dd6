//! Argon2id password hashing, off the async threads (a hash takes tens of milliseconds).

use argon2::Argon2;
use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::PasswordVerifier as _;
use argon2::password_hash::phc::PasswordHash;

use crate::problem::ApiError;

/// A PHC string (`$argon2id$v=19$…`) of `password` with a random salt.
pub(crate) async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| ApiError::internal("hashing a password", err.to_string()))
    })
    .await
    .map_err(|err| ApiError::internal("hashing a password", err))?
}

/// Whether `password` matches the PHC string `stored`. An unparsable hash is an error, not a
/// mismatch.
pub(crate) async fn verify(password: String, stored: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|err| ApiError::internal("reading a password hash", err.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|err| ApiError::internal("verifying a password", err))?
}

/// A hash to verify against when the user does not exist, so that a login with an unknown
/// email takes as long as one with a wrong password.
pub(crate) const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YXBpd3JpZ2h0LWRlY295$8cY+vxCbQQ5ceXn1bvRdp7s1B6sXUCl1hvDyXbFKD1E";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(
            verify("correct horse battery".into(), stored.clone())
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), stored).await.unwrap());
        assert!(!verify("anything".into(), DECOY_HASH.into()).await.unwrap());
        assert!(verify("x".into(), "not a hash".into()).await.is_err());
    }
}
