//! The API contract: the committed `docs/openapi.json` is the document the handlers generate,
//! the document and the route table agree (checked by apiwright's own `openapi` gate, as it
//! checks the services it builds), every error response is problem+json, and the document and
//! its Swagger UI are served without credentials and without any other origin.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use apiwright_gates::GateContext;
use apiwright_gates::GateOutcome;
use apiwright_store::Store;
use apiwright_workflow::Gate;
use apiwright_workflow::OpenApiCheck;
use apiwright_workflow::RoutesSource;
use apiwright_workflow::template::Vars;
use reqwest::StatusCode;
use serde_json::Value;

use crate::TestServer;

/// Set to write the generated document to `docs/openapi.json` instead of comparing.
const UPDATE_ENV: &str = "APIWRIGHT_UPDATE_OPENAPI";

fn committed_document_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

fn document() -> Value {
    serde_json::to_value(apiwright_server::openapi()).unwrap()
}

#[test]
fn committed_document_is_the_generated_one() {
    let generated = apiwright_server::openapi_json();
    let path = committed_document_path();
    if std::env::var_os(UPDATE_ENV).is_some_and(|value| !value.is_empty()) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    pretty_assertions::assert_eq!(
        committed,
        generated,
        "docs/openapi.json differs from the document the handlers' #[utoipa::path] annotations \
         generate; regenerate it with `{UPDATE_ENV}=1 cargo test -p apiwright-server --test it \
         contract::committed_document` and commit it"
    );
}

#[tokio::test]
async fn the_openapi_gate_finds_every_route_documented_and_every_operation_routed() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("openapi.json"),
        apiwright_server::openapi_json(),
    )
    .unwrap();
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let gate = Gate {
        id: "openapi-matches-routes".into(),
        openapi: Some(OpenApiCheck {
            document: "openapi.json".into(),
            routes: RoutesSource {
                axum: Some(sources.display().to_string()),
                command: None,
            },
            ignore: Vec::new(),
            timeout_secs: Some(60),
        }),
        ..Gate::default()
    };
    let store = Store::open_in_memory().unwrap();
    let context = GateContext {
        workspace: workspace.path(),
        store: &store,
        vars: &Vars::new(),
        default_timeout: Duration::from_secs(60),
        env: &[],
        attached: None,
    };
    let report = apiwright_gates::evaluate(&gate, &context).await.unwrap();
    assert_eq!(
        report.outcome,
        GateOutcome::Passed,
        "a route in src/ and the operations of the document differ: document the \
         handler with #[utoipa::path] and list it in `paths(...)` in src/routes/openapi.rs \
         ({}): {:#}",
        report.summary,
        report.evidence
    );
    assert_eq!(report.evidence["openapi"], "3.1.0");
    // The gate reads the route table; make sure it found it all.
    let operations = document()["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum::<usize>();
    assert_eq!(report.evidence["served_routes"], operations);
    assert!(operations >= 12, "{operations}");
}

#[test]
fn every_error_response_is_a_problem_and_only_public_operations_lack_security() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "apiwright");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(document.get("servers").is_none());
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    let problem = &document["components"]["schemas"]["Problem"];
    let mut required: Vec<&str> = problem["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        ["detail", "instance", "status", "title", "type"],
        "{problem}"
    );
    assert!(problem["properties"]["request_id"].is_object(), "{problem}");
    let responses = &document["components"]["responses"];

    const PUBLIC: [&str; 7] = [
        "GET /",
        "GET /assets/{file}",
        "GET /healthz",
        "GET /readyz",
        "GET /openapi.json",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/refresh",
    ];
    let mut public = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let statuses = operation["responses"].as_object().unwrap();
            for status in ["429", "500"] {
                assert!(statuses.contains_key(status), "{name} lacks {status}");
            }
            for (status, response) in statuses {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let reference = response["$ref"].as_str().unwrap_or_else(|| {
                    panic!("{name} {status}: expected a reusable problem response")
                });
                let component = reference.trim_start_matches("#/components/responses/");
                assert_eq!(
                    responses[component]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{name} {status}"
                );
            }
            match operation.get("security") {
                None => public.push(name),
                Some(security) => {
                    assert_eq!(
                        security,
                        &serde_json::json!([{"bearer": []}, {"api_key": []}]),
                        "{name}"
                    );
                    assert!(statuses.contains_key("401"), "{name} lacks 401");
                }
            }
        }
    }
    public.sort();
    let mut expected_public = PUBLIC.map(str::to_owned).to_vec();
    expected_public.sort();
    assert_eq!(public, expected_public);
}

#[tokio::test]
async fn the_document_is_served_publicly_as_generated() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        apiwright_server::openapi_json()
    );
}

/// The values of `attribute="…"` in `html`.
fn attribute_values<'h>(html: &'h str, attribute: &str) -> Vec<&'h str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .filter_map(|(start, _)| {
            let rest = &html[start + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[tokio::test]
async fn the_swagger_ui_is_served_from_the_binary_with_a_csp_it_can_live_with() {
    let server = TestServer::start().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = no_redirects.get(server.url("/docs")).send().await.unwrap();
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    assert_eq!(redirect.headers()["location"], "/docs/");

    let page = server
        .client
        .get(server.url("/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!csp.contains("http"), "{csp}");
    let html = page.text().await.unwrap();
    let mut assets = attribute_values(&html, "src");
    assets.extend(attribute_values(&html, "href"));
    let scripts = assets.iter().filter(|asset| asset.ends_with(".js")).count();
    let styles = assets
        .iter()
        .filter(|asset| asset.ends_with(".css"))
        .count();
    assert!(scripts >= 2 && styles >= 1, "{assets:?}");
    assert!(!html.contains("<script>"), "inline scripts need a CSP hash");
    for asset in &assets {
        assert!(
            !asset.contains("//") && !asset.starts_with('/'),
            "{asset}: the UI must load only its own, relative assets"
        );
        let response = server
            .client
            .get(server.url(&format!("/docs/{}", asset.trim_start_matches("./"))))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap(),
            csp,
            "{asset}"
        );
        assert!(!response.bytes().await.unwrap().is_empty(), "{asset}");
    }

    let initializer = server
        .client
        .get(server.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("\"/openapi.json\""), "{initializer}");
    assert!(!initializer.contains("https://"), "{initializer}");

    // Everything else keeps the strict policy.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.headers()["content-security-policy"],
        "default-src 'self'"
    );
    let unknown = server
        .client
        .get(server.url("/docs/no-such-file.js"))
        .send()
        .await
        .unwrap();
    crate::problem(unknown, StatusCode::NOT_FOUND).await;
}
