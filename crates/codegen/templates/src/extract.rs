//! Request body extraction: a JSON object, or a problem (400 malformed, 413 too large, 415 not
//! JSON) in the service's error format instead of axum's plain-text rejections.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request body that is a JSON object.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<Value>::from_request(request, state).await {
            Ok(Json(Value::Object(object))) => Ok(Self(object)),
            Ok(Json(_)) => Err(ApiError::BadRequest(
                "The request body must be a JSON object.".to_owned(),
            )),
            Err(rejection) => Err(match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
                _ => ApiError::BadRequest("The request body is not valid JSON.".to_owned()),
            }),
        }
    }
}
