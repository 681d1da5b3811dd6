//! Forged variants of a real access token for the broken-authentication probe: expired,
//! wrong signature, `alg: none`, tampered claims. Nothing here signs anything: a service that
//! accepts one of these tokens does not verify what it should.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

/// A token split into its decoded header and claims and its (still encoded) signature.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signature: String,
}

impl Jwt {
    /// Parses a compact JWS; `None` when the token is not a JWT (an opaque token).
    pub fn parse(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Jwt {
            header: decode_object(header)?,
            claims: decode_object(claims)?,
            signature: signature.to_string(),
        })
    }

    /// The compact form with this header, these claims and this signature.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(self.header.clone()).to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(self.claims.clone()).to_string()),
            self.signature
        )
    }
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The same claims with `exp` (and `iat`/`nbf`) an hour and more in the past, the original
/// signature kept (so it no longer matches either).
pub(crate) fn expired(token: &Jwt, now_unix: i64) -> Jwt {
    let mut forged = token.clone();
    forged.claims.insert("exp".into(), json!(now_unix - 3600));
    forged.claims.insert("iat".into(), json!(now_unix - 7200));
    if forged.claims.contains_key("nbf") {
        forged.claims.insert("nbf".into(), json!(now_unix - 7200));
    }
    forged
}

/// The same header and claims with every bit of the signature inverted.
pub(crate) fn wrong_signature(token: &Jwt) -> Jwt {
    let mut forged = token.clone();
    forged.signature = match URL_SAFE_NO_PAD.decode(&token.signature) {
        Ok(bytes) if !bytes.is_empty() => {
            URL_SAFE_NO_PAD.encode(bytes.iter().map(|byte| !byte).collect::<Vec<u8>>())
        }
        _ => URL_SAFE_NO_PAD.encode(b"not the signature of this token"),
    };
    forged
}

/// Header `{"alg":"none"}`, the same claims, an empty signature.
pub(crate) fn alg_none(token: &Jwt) -> Jwt {
    let mut forged = token.clone();
    forged.header = Map::from_iter([
        ("alg".to_string(), json!("none")),
        ("typ".to_string(), json!("JWT")),
    ]);
    forged.signature = String::new();
    forged
}

/// The claims changed to another subject (`other_subject`, or a made-up one) and an admin
/// role, the original signature kept.
pub(crate) fn tampered(token: &Jwt, other_subject: Option<&Value>) -> Jwt {
    let mut forged = token.clone();
    let subject = match (other_subject, token.claims.get("sub")) {
        (Some(other), _) => other.clone(),
        (None, Some(Value::Number(number))) => json!(number.as_i64().unwrap_or(0) + 1),
        (None, _) => json!("00000000-0000-4000-8000-000000000001"),
    };
    forged.claims.insert("sub".into(), subject);
    forged.claims.insert("role".into(), json!("admin"));
    if forged.claims.contains_key("is_admin") {
        forged.claims.insert("is_admin".into(), json!(true));
    }
    forged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"u-1","role":"member","exp":2000}"#);
        format!("{header}.{claims}.AAEC_w")
    }

    #[test]
    fn parse_round_trips() {
        let jwt = Jwt::parse(&token()).unwrap();
        assert_eq!(jwt.claims["sub"], "u-1");
        assert_eq!(jwt.signature, "AAEC_w");
        assert_eq!(Jwt::parse(&jwt.encode()), Some(jwt));
        assert_eq!(Jwt::parse("opaque-token"), None);
        assert_eq!(Jwt::parse("a.b.c"), None);
    }

    #[test]
    fn forgeries_change_only_what_they_say() {
        let jwt = Jwt::parse(&token()).unwrap();

        let expired = expired(&jwt, 10_000);
        assert_eq!(expired.claims["exp"], 6400);
        assert_eq!(
            (&expired.header, &expired.signature),
            (&jwt.header, &jwt.signature)
        );

        let wrong = wrong_signature(&jwt);
        assert_eq!(wrong.signature, "__79AA");
        assert_eq!(wrong.claims, jwt.claims);

        let none = alg_none(&jwt);
        assert_eq!(none.header["alg"], "none");
        assert!(none.encode().ends_with('.'));
        assert_eq!(none.claims, jwt.claims);

        let tampered = tampered(&jwt, Some(&json!("u-2")));
        assert_eq!(
            (&tampered.claims["sub"], &tampered.claims["role"]),
            (&json!("u-2"), &json!("admin"))
        );
        assert_eq!(tampered.signature, jwt.signature);
    }
}
