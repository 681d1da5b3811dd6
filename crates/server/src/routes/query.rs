//! `ApiQuery`: the query-string extractor whose rejections are 422 problems naming the field,
//! and the bounded `limit` every listing shares.

use axum::extract::FromRequestParts;
use axum::extract::Query;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;
use crate::state::AppState;

/// A query string, deserialized into `T` (declare `T` with `deny_unknown_fields` so a
/// misspelled parameter is refused rather than ignored).
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ApiQuery<T>, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            // The text names the parameter and what was wrong with it, e.g.
            // "Failed to deserialize query string: limit: invalid digit found in string".
            Err(rejection) => Err(ApiError::Unprocessable(rejection.body_text())),
        }
    }
}

/// Items a listing returns when the request names no `limit`.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` a listing accepts.
pub(crate) const MAX_LIMIT: usize = 1000;

/// The `limit` parameter: `DEFAULT_LIMIT` when absent, 422 outside `1..=MAX_LIMIT`.
pub(crate) fn bounded_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        Some(limit) => Err(ApiError::Unprocessable(format!(
            "limit: expected 1 to {MAX_LIMIT}, found {limit}"
        ))),
    }
}
