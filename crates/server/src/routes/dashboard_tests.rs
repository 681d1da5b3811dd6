//! The embedded assets keep to what `default-src 'self'` allows, and are served with their
//! types, cache policy and `ETag`s.

use super::*;

/// The SVG namespace is a name, never fetched; it is the only URL an asset may contain.
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

fn all_assets() -> impl Iterator<Item = &'static Asset> {
    std::iter::once(&INDEX).chain(ASSETS)
}

#[test]
fn the_page_has_no_inline_script_style_or_handler() {
    let html = INDEX.body.to_ascii_lowercase();
    let mut rest = html.as_str();
    let mut scripts = 0;
    while let Some(start) = rest.find("<script") {
        let tag_end = start + rest[start..].find('>').unwrap();
        let tag = &rest[start..=tag_end];
        assert!(
            tag.contains("src=\"/assets/"),
            "a script without src: {tag}"
        );
        assert!(
            rest[tag_end + 1..].starts_with("</script>"),
            "a script with a body: {tag}"
        );
        scripts += 1;
        rest = &rest[tag_end + 1..];
    }
    assert_eq!(scripts, 1);
    assert!(!html.contains("<style"), "an inline style sheet");
    assert!(!html.contains(" style="), "a style attribute");
    // No inline event handlers (`onclick=`, `onload=` …): CSP blocks them too.
    let handlers: Vec<&str> = html
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|word| word.starts_with("on") && word.contains('='))
        .collect();
    assert_eq!(handlers, Vec::<&str>::new());
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/app.css\">"));
}

#[test]
fn the_script_does_not_evaluate_strings_or_write_style_attributes() {
    let script = ASSETS[0].body;
    assert_eq!(ASSETS[0].name, "app.js");
    for forbidden in [
        "eval(",
        "new Function",
        "setAttribute('style'",
        "setAttribute(\"style\"",
        ".cssText",
        "document.write",
    ] {
        assert!(!script.contains(forbidden), "app.js contains {forbidden:?}");
    }
}

#[test]
fn no_asset_refers_to_another_origin() {
    for asset in all_assets() {
        let text = asset.body.replace(SVG_NAMESPACE, "");
        for scheme in ["http://", "https://", "//cdn", "url("] {
            assert!(!text.contains(scheme), "{} contains {scheme:?}", asset.name);
        }
    }
}

#[test]
fn every_element_the_browser_test_uses_has_a_test_id() {
    // The ids the browser tests look up (tests/it/browser*.rs), spelled as the page spells them.
    let page = format!("{}{}", INDEX.body, ASSETS[0].body);
    for id in [
        "login-email",
        "login-password",
        "login-submit",
        "error",
        "logout",
        "whoami",
        "nav-runs",
        "nav-start",
        "nav-memory",
        "nav-analytics",
        "start-workflow",
        "start-params",
        "start-auto-approve",
        "start-submit",
        "runs-table",
        "runs-status-filter",
        "runs-load-more",
        "run-status",
        "run-waiting",
        "approve-button",
        "reject-button",
        "reject-reason",
        "gate-evidence",
        "memory-pattern",
        "memory-query",
        "memory-results",
        "analytics",
    ] {
        assert!(
            page.contains(&format!("\"{id}\"")) || page.contains(&format!("'{id}'")),
            "no data-testid {id}"
        );
    }
}

#[test]
fn assets_are_served_with_type_cache_policy_and_etag() {
    let response = serve(&INDEX, &ETAGS[0], INDEX_CACHE, &HeaderMap::new());
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
    let etag = response.headers()[header::ETAG].clone();
    assert_eq!(etag.len(), 34);

    let mut conditional = HeaderMap::new();
    conditional.insert(header::IF_NONE_MATCH, etag);
    let response = serve(&INDEX, &ETAGS[0], INDEX_CACHE, &conditional);
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);

    let types: Vec<(&str, &str)> = ASSETS
        .iter()
        .map(|asset| (asset.name, asset.content_type))
        .collect();
    assert_eq!(
        types,
        [
            ("app.js", "text/javascript; charset=utf-8"),
            ("app.css", "text/css; charset=utf-8"),
            ("favicon.svg", "image/svg+xml"),
        ]
    );
    assert_eq!(ETAGS.len(), ASSETS.len() + 1);
}
