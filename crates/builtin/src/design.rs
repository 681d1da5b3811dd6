//! API design from the spec, shared by seed 001's `api-designer` and seed 002's synthesis:
//! the contract (`openapi.json`, OpenAPI 3.1 from `crate::openapi`), the error model the
//! generated service really answers with (RFC 9457 problem details), the versioning policy and
//! the rate limits. The designer writes `openapi.json` and its deliverables only; it does not
//! scaffold the project.

use apiwright_agents::AgentError;
use apiwright_spec::Spec;
use serde_json::Value;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;

/// The problem types of the generated service's `ApiError` (codegen `templates/src/error.rs`):
/// (status, type, title).
const PROBLEMS: [(u16, &str, &str); 11] = [
    (400, "/problems/bad-request", "Bad request"),
    (401, "/problems/unauthorized", "Unauthorized"),
    (403, "/problems/forbidden", "Forbidden"),
    (404, "/problems/not-found", "Not found"),
    (405, "/problems/method-not-allowed", "Method not allowed"),
    (409, "/problems/conflict", "Conflict"),
    (413, "/problems/payload-too-large", "Payload too large"),
    (
        415,
        "/problems/unsupported-media-type",
        "Unsupported media type",
    ),
    (422, "/problems/validation", "Validation failed"),
    (429, "/problems/rate-limited", "Too many requests"),
    (500, "/problems/internal", "Internal server error"),
];

/// The contract file and its deliverable: the endpoints of the document and where it is.
pub(crate) fn contract(spec: &Spec) -> (File, Value) {
    let document = crate::openapi::openapi_document(spec);
    let endpoints: Vec<Value> = spec
        .endpoints()
        .iter()
        .map(|endpoint| {
            json!({
                "method": endpoint.method.as_str(),
                "path": endpoint.path,
                "operation_id": endpoint.operation_id,
                "summary": endpoint.summary,
            })
        })
        .collect();
    let file = File {
        path: "openapi.json".into(),
        contents: serde_json::to_string_pretty(&document).unwrap_or_default(),
    };
    let deliverable = json!({
        "file": "openapi.json",
        "openapi_version": document["openapi"],
        "api_version": spec.api.version,
        "base_path": "/api/v1",
        "endpoint_count": endpoints.len(),
        "endpoints": endpoints,
        "schemas": document["components"]["schemas"]
            .as_object()
            .map(|schemas| schemas.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default(),
        "security_scheme": "bearer JWT (HS256)",
        "pagination": "?page=&per_page= returning {data, page, per_page, total}",
    });
    (file, deliverable)
}

/// The error model the generated service answers with: RFC 9457 problem details.
pub(crate) fn error_model() -> Value {
    json!({
        "standard": "RFC 9457 (problem details for HTTP APIs)",
        "media_type": "application/problem+json",
        "fields": ["type", "title", "status", "detail", "errors"],
        "field_errors": "`errors` lists {field, message} for each invalid field (422) or the taken unique field (409)",
        "problem_types": PROBLEMS
            .iter()
            .map(|(status, kind, title)| json!({"status": status, "type": kind, "title": title}))
            .collect::<Vec<_>>(),
        "internal_details": "5xx details are logged, never returned",
        "owned_records": "another user's owned record answers 404, not 403, so its existence does not leak",
    })
}

/// Versioning and deprecation policy. The generated service serves one version (`/api/v1`);
/// the rest is policy, marked as such.
pub(crate) fn versioning_policy(spec: &Spec) -> Value {
    json!({
        "scheme": "url-path",
        "current": "/api/v1",
        "api_version": spec.api.version,
        "implemented": "every endpoint is served under /api/v1; the contract's info.version is the spec's version",
        "compatibility": "within /api/v1 only additive changes: new endpoints, new optional request fields, new response fields",
        "breaking_changes": "a breaking change ships under /api/v2 while /api/v1 keeps answering",
        "deprecation": "a deprecated version is announced in the changelog and kept for at least one minor release before removal",
        "policy_status": "policy: nothing in this version enforces it automatically",
    })
}

/// The rate limits the generated middleware enforces.
pub(crate) fn rate_limits(spec: &Spec) -> Value {
    json!({
        "per_user_per_minute": spec.rate_limits.per_user_per_minute,
        "per_ip_per_minute": spec.rate_limits.per_ip_per_minute,
        "applies_to": "authenticated requests per user; unauthenticated requests and login attempts per client IP",
        "exceeded": {"status": 429, "type": "/problems/rate-limited", "header": "Retry-After"},
        "enforced_by": "the generated service's rate_limit middleware (in memory, per instance)",
    })
}

/// Seed 001's designer: `contract` (with `openapi.json`), `error-model`, `versioning-policy`.
pub(crate) fn api_designer(step: &Step<'_>) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let mut work = Work {
        decisions: vec![
            "Errors are RFC 9457 problem+json with field-level `errors`".into(),
            "Version in the URL path (/api/v1); breaking changes get /api/v2".into(),
        ],
        ..Work::default()
    };
    let mut produced = Vec::new();
    if step.wants("contract") {
        let (file, deliverable) = contract(spec);
        work.files.push(file);
        work.deliverables
            .insert(step.write_name("contract"), deliverable);
        produced.push("the OpenAPI 3.1 contract (openapi.json)");
    }
    if step.wants("error-model") {
        work.deliverables
            .insert(step.write_name("error-model"), error_model());
        produced.push("the RFC 9457 error model");
    }
    if step.wants("versioning-policy") {
        work.deliverables.insert(
            step.write_name("versioning-policy"),
            versioning_policy(spec),
        );
        produced.push("the versioning and deprecation policy");
    }
    work.summary = format!(
        "Designed {} for {} ({} endpoints)",
        produced.join(", "),
        spec.title(),
        spec.endpoints().len()
    );
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::step_with;

    #[test]
    fn the_designer_writes_the_contract_and_its_deliverables() {
        let workspace = tempfile::tempdir().unwrap();
        let output = step_with(
            workspace.path(),
            "api-designer",
            &["contract", "error-model", "versioning-policy"],
            &[],
        );
        let contract = &output.deliverables["contract"];
        assert_eq!(contract["file"], "openapi.json");
        assert_eq!(contract["openapi_version"], "3.1.0");
        let document: Value = serde_json::from_str(
            &std::fs::read_to_string(workspace.path().join("openapi.json")).unwrap(),
        )
        .unwrap();
        let operations: usize = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(contract["endpoint_count"], operations);
        assert_eq!(
            output.deliverables["error-model"]["media_type"],
            "application/problem+json"
        );
        assert_eq!(
            output.deliverables["versioning-policy"]["current"],
            "/api/v1"
        );
        assert!(!workspace.path().join("Cargo.toml").exists(), "no scaffold");
    }
}
