//! The JSON body extractor: content type (415), size (413), syntax (400), shape and
//! constraints (422), all answered as problems through [`ApiError`].

use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::extract::Request;
use http::header;
use serde::Deserialize;
use serde::Deserializer;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::error::FieldError;

/// The largest request body the service reads.
pub(crate) const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// A request body's own constraints (lengths, ranges, formats) beyond its JSON shape.
pub(crate) trait Validate {
    /// Every violated constraint; empty when the body is acceptable.
    fn validate(&self) -> Vec<FieldError>;
}

/// Adds an error when `text` is not `min..=max` characters (code points, as JSON Schema's
/// `minLength`/`maxLength` count them).
pub(crate) fn check_length(
    errors: &mut Vec<FieldError>,
    field: &str,
    text: &str,
    min: usize,
    max: usize,
) {
    let length = text.chars().count();
    if length < min || length > max {
        errors.push(FieldError::new(
            field,
            format!("must be {min} to {max} characters long"),
        ));
    }
}

/// A JSON request body, deserialized and validated.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large().with_source(rejection.body_text())
                } else {
                    ApiError::bad_request("the request body could not be read")
                        .with_source(rejection.body_text())
                }
            })?;
        let value = parse::<T>(&bytes)?;
        let errors = value.validate();
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(ApiJson(value))
    }
}

fn is_json(content_type: Option<&http::HeaderValue>) -> bool {
    let Some(content_type) = content_type.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses in two steps so that each failure gets its status: text that is not JSON is a 400;
/// JSON that is not an object (serde would take an array as a struct's fields in order) or
/// does not fit the body's shape is a 422.
#[track_caller]
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| {
        ApiError::bad_request("the request body is not valid JSON").with_source(error)
    })?;
    if !value.is_object() {
        return Err(ApiError::validation(vec![FieldError::new(
            "",
            "the request body must be a JSON object",
        )]));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let message = error.inner().to_string();
        let field = quoted_field(&message).unwrap_or_else(|| error.path().to_string());
        ApiError::validation(vec![FieldError::new(&field, message.clone())]).with_source(message)
    })
}

/// The field named by serde's "unknown field `x`" and "missing field `x`" messages, which
/// point at the enclosing object rather than at the field.
fn quoted_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next().map(str::to_owned)
}

/// For optional body fields whose schema does not allow `null`: absent is `None`, `null` is an
/// error, anything else is `Some`.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        title: String,
        #[serde(default, deserialize_with = "present")]
        pinned: Option<bool>,
    }

    impl Validate for Sample {
        fn validate(&self) -> Vec<FieldError> {
            Vec::new()
        }
    }

    fn status_of(body: &str) -> u16 {
        match parse::<Sample>(body.as_bytes()) {
            Ok(_) => 200,
            Err(error) => axum::response::IntoResponse::into_response(error)
                .status()
                .as_u16(),
        }
    }

    #[test]
    fn shape_errors_are_422_and_syntax_errors_400() {
        assert_eq!(status_of(r#"{"title":"a"}"#), 200);
        assert_eq!(status_of(r#"{"title":"a","role":"admin"}"#), 422);
        assert_eq!(status_of(r#"{}"#), 422);
        assert_eq!(status_of(r#"{"title":1}"#), 422);
        assert_eq!(status_of(r#"{"title":"a","pinned":null}"#), 422);
        assert_eq!(status_of(r#"["a"]"#), 422);
        assert_eq!(status_of("[]"), 422);
        assert_eq!(status_of("null"), 422);
        assert_eq!(status_of(r#"{"title":"a""#), 400);
        assert_eq!(status_of(r#"{"title":"a"} x"#), 400);
        assert_eq!(status_of(""), 400);
    }

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            quoted_field("unknown field `role`, expected `title`"),
            Some("role".to_owned())
        );
        assert_eq!(quoted_field("invalid type: integer"), None);
    }

    #[test]
    fn json_content_types() {
        let value = |text: &'static str| http::HeaderValue::from_static(text);
        assert!(is_json(Some(&value("application/json"))));
        assert!(is_json(Some(&value("application/json; charset=utf-8"))));
        assert!(is_json(Some(&value("application/merge-patch+json"))));
        assert!(!is_json(Some(&value("text/plain"))));
        assert!(!is_json(None));
    }
}
