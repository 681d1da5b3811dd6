//! The web dashboard: a single page (`GET /`) and its static assets (`GET /assets/{file}`),
//! embedded in the binary so `apiwright serve` needs no files beside it and no network.
//!
//! Both routes are public: the page holds no data, its script logs in through the API. The
//! assets are written for the `default-src 'self'` policy that `headers.rs` sets on every
//! response: no inline scripts or styles, no `eval`, nothing loaded from another origin.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::Response;

use super::openapi;
use crate::auth::secrets;

/// One embedded file.
pub(crate) struct Asset {
    /// The name under `/assets/` (the page itself is served at `/`).
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static str,
}

/// The page. Revalidated on every load (`no-cache` with an `ETag`), so an upgraded server is
/// picked up at once.
pub(crate) const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_str!("../../assets/index.html"),
};

/// The files under `/assets/`.
pub(crate) const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/app.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../assets/favicon.svg"),
    },
];

/// Cache policy of the page: always revalidate (cheap: a 304 when unchanged).
const INDEX_CACHE: &str = "no-cache";
/// Cache policy of the assets: five minutes, then revalidate with the `ETag`. Their names are
/// not content-hashed, so a long lifetime would keep an old script after an upgrade.
const ASSET_CACHE: &str = "public, max-age=300";

/// Strong `ETag`s of the page and the assets, in `ASSETS` order after the page.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::iter::once(&INDEX)
        .chain(ASSETS)
        .map(|asset| {
            let hash = secrets::sha256_hex(asset.body);
            format!("\"{}\"", &hash[..32])
        })
        .collect()
});

/// Dashboard page
///
/// The web dashboard (its script logs in through this API), revalidated on every load: 304
/// when `If-None-Match` names its `ETag`. Public.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "dashboard",
    tag = "dashboard",
    params(("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags the client has; 304 when one is current")),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html", headers(
            ("ETag" = String, description = "The strong entity tag of the page"),
            ("Cache-Control" = String, description = "`no-cache`: revalidate with `If-None-Match`"),
        )),
        (status = 304, description = "The client's copy is current", headers(
            ("ETag" = String, description = "The strong entity tag of the page"),
            ("Cache-Control" = String, description = "`no-cache`"),
        )),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX, &ETAGS[0], INDEX_CACHE, &headers)
}

/// Dashboard asset
///
/// A script, style sheet or icon of the dashboard page, cached for five minutes, then
/// revalidated: 304 when `If-None-Match` names its `ETag`. Public.
#[utoipa::path(
    get,
    path = "/assets/{file}",
    operation_id = "dashboard_asset",
    tag = "dashboard",
    params(
        ("file" = String, Path, description = "The file: `app.js`, `app.css` or `favicon.svg`", example = "app.js"),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags the client has; 304 when one is current"),
    ),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"),
            (String = "text/css"),
            (String = "image/svg+xml"),
        ), headers(
            ("ETag" = String, description = "The strong entity tag of the file"),
            ("Cache-Control" = String, description = "`public, max-age=300`"),
        )),
        (status = 304, description = "The client's copy is current", headers(
            ("ETag" = String, description = "The strong entity tag of the file"),
            ("Cache-Control" = String, description = "`public, max-age=300`"),
        )),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|asset| asset.name == file) {
        Some(position) => serve(
            &ASSETS[position],
            &ETAGS[position + 1],
            ASSET_CACHE,
            &headers,
        ),
        // `problem::render` writes the detail.
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn serve(asset: &Asset, etag: &str, cache: &'static str, request: &HeaderMap) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = if fresh {
        status.into_response()
    } else {
        (status, asset.body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
#[path = "dashboard_tests.rs"]
mod tests;
