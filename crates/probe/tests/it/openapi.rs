//! Reading operations from a document: refs, merged parameters, security and status lookup.

use apiwright_probe::openapi::Api;
use apiwright_probe::openapi::ParamLocation;
use http::Method;
use serde_json::json;

use crate::support;

#[test]
fn operations_resolve_refs_and_merge_path_parameters() {
    let api = support::api();
    let labels: Vec<String> = api.operations.iter().map(|o| o.label()).collect();
    assert_eq!(
        labels,
        [
            "POST /api/auth/login",
            "POST /api/auth/register",
            "GET /api/notes",
            "POST /api/notes",
            "GET /api/notes/{id}",
            "DELETE /api/notes/{id}",
            "POST /api/tags",
            "GET /api/tags/{id}",
            "GET /health",
        ]
    );
    let list = api.operation(&Method::GET, "/api/notes").unwrap();
    assert_eq!(list.parameters[0].name, "limit");
    assert_eq!(list.parameters[0].location, ParamLocation::Query);
    assert!(!list.parameters[0].required);
    let create = api.operation(&Method::POST, "/api/notes").unwrap();
    let body = create.body.as_ref().unwrap();
    assert!(body.required);
    assert_eq!(body.content_type, "application/json");
    assert_eq!(
        body.schema,
        json!({"$ref": "#/components/schemas/NoteCreate"})
    );
    let get = api.operation(&Method::GET, "/api/notes/{id}").unwrap();
    assert_eq!(get.parameters.len(), 1);
    assert_eq!(get.parameters[0].location, ParamLocation::Path);
    assert!(get.parameters[0].required);
}

#[test]
fn security_comes_from_the_operation_else_the_document() {
    let api = support::api();
    let public: Vec<String> = api
        .operations
        .iter()
        .filter(|o| !o.requires_auth)
        .map(|o| o.label())
        .collect();
    // The document requires a bearer token everywhere but where `security: []` says otherwise.
    assert_eq!(
        public,
        [
            "POST /api/auth/login",
            "POST /api/auth/register",
            "GET /health"
        ]
    );
    let api =
        Api::from_document(json!({"paths": {"/a": {"get": {"security": [], "responses": {}}}}}))
            .unwrap();
    assert!(!api.operations[0].requires_auth);
}

#[test]
fn documented_status_prefers_exact_then_class_then_default() {
    let api = support::api();
    let login = api.operation(&Method::POST, "/api/auth/login").unwrap();
    assert!(Api::documented_status(login, 200).is_some());
    assert_eq!(
        Api::documented_status(login, 429)
            .unwrap()
            .content_type
            .as_deref(),
        Some("application/problem+json")
    );
    assert!(Api::documented_status(login, 500).is_none());
    let delete = api.operation(&Method::DELETE, "/api/notes/{id}").unwrap();
    assert!(
        delete
            .documented_status(204)
            .unwrap()
            .content_type
            .is_none()
    );
    assert!(
        delete.documented_status(503).is_some(),
        "default covers everything"
    );
}

#[test]
fn dangling_refs_name_the_pointer() {
    let mut document = support::document();
    document["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("Problem");
    let error = Api::from_document(document).unwrap_err().to_string();
    assert!(
        error.contains("#/components/schemas/Problem` points at nothing"),
        "{error}"
    );
    assert!(
        error.contains("OpenAPI document: /paths/~1api~1auth~1"),
        "{error}"
    );
}

#[test]
fn a_document_without_paths_is_refused() {
    let error = Api::from_document(json!({"openapi": "3.1.0"})).unwrap_err();
    assert!(error.to_string().contains("/paths"), "{error}");
}
