//! The embedded OpenAPI document: its shape, and that it lists exactly the mounted routes.

use std::collections::BTreeSet;

use apiwright_testbed::Config;
use apiwright_testbed::ROUTES;
use serde_json::Value;

use crate::support::TestServer;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document() -> Value {
    serde_json::from_str(apiwright_testbed::OPENAPI_DOCUMENT).unwrap()
}

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((method.to_ascii_uppercase(), path.clone(), operation.clone()));
            }
        }
    }
    operations
}

#[test]
fn is_openapi_3_1_with_the_expected_components() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in [
        "Note",
        "NewNote",
        "NoteUpdate",
        "NoteList",
        "User",
        "UserList",
        "Tokens",
        "Problem",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    for name in [
        "NewNote",
        "NoteUpdate",
        "Registration",
        "Credentials",
        "RefreshRequest",
    ] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    let bearer = &document["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
}

#[test]
fn documents_exactly_the_mounted_routes() {
    let documented: BTreeSet<(String, String)> = operations(&document())
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let mounted: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented, mounted);
}

#[test]
fn every_operation_documents_its_errors() {
    let document = document();
    let mut operation_ids = BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        let name = format!("{method} {path}");
        assert!(
            operation_ids.insert(operation["operationId"].as_str().unwrap().to_owned()),
            "{name}"
        );
        let responses = operation["responses"].as_object().unwrap();
        let expected: &[&str] = match (
            operation["security"].as_array().unwrap().is_empty(),
            operation.get("requestBody").is_some(),
        ) {
            (true, false) => &["429"],
            (true, true) => &["400", "413", "415", "422", "429", "500"],
            (false, false) => &["401", "429", "500"],
            (false, true) => &["400", "401", "413", "415", "422", "429", "500"],
        };
        for status in expected {
            assert!(responses.contains_key(*status), "{name} lacks {status}");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{name} {status}"
                );
            }
        }
        if path.contains("{id}") {
            for status in ["400", "404"] {
                assert!(responses.contains_key(status), "{name} lacks {status}");
            }
        }
    }
}

#[test]
fn every_reference_resolves() {
    let document = document();
    let text = apiwright_testbed::OPENAPI_DOCUMENT;
    for reference in text.split("\"$ref\": \"").skip(1) {
        let pointer = reference.split('"').next().unwrap().trim_start_matches('#');
        assert!(document.pointer(pointer).is_some(), "{pointer}");
    }
}

#[test]
fn is_served_as_json() {
    let server = TestServer::start(Config::clean());
    let reply = server.get("/openapi.json", None);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), document());
}

#[test]
fn every_listed_route_is_mounted() {
    let server = TestServer::start(Config::clean());
    for (method, path) in ROUTES {
        let reply = server.request(method, &path.replace("{id}", "1"), None, None);
        let detail = reply.json()["detail"].clone();
        assert!(
            reply.status != 405 && detail != "no such resource",
            "{method} {path} is not mounted: {}",
            reply.text
        );
    }
}
