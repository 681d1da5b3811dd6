//! The dashboard's page and assets over HTTP: public, typed, cached, and under the strict CSP.

use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use reqwest::header;

use crate::TestServer;
use crate::problem;

#[tokio::test]
async fn the_page_and_its_assets_are_public_typed_and_cached() {
    let server = TestServer::start().await;
    for (path, content_type, cache) in [
        ("/", "text/html; charset=utf-8", "no-cache"),
        (
            "/assets/app.js",
            "text/javascript; charset=utf-8",
            "public, max-age=300",
        ),
        (
            "/assets/app.css",
            "text/css; charset=utf-8",
            "public, max-age=300",
        ),
        (
            "/assets/favicon.svg",
            "image/svg+xml",
            "public, max-age=300",
        ),
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], cache, "{path}");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'",
            "{path}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert!(!response.text().await.unwrap().is_empty(), "{path}");

        let etag = headers[header::ETAG].clone();
        let revalidated = server
            .client
            .get(server.url(path))
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(revalidated.headers()[header::ETAG], etag, "{path}");
    }
    let page = server
        .client
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<script src=\"/assets/app.js\" defer></script>"));
}

#[tokio::test]
async fn an_unknown_asset_is_a_problem_404() {
    let server = TestServer::start().await;
    for path in ["/assets/nope.js", "/assets/../Cargo.toml", "/assets/"] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        let body = problem(response, StatusCode::NOT_FOUND).await;
        assert_eq!(body["title"], "Not Found", "{path}");
    }
}
