//! The operations of an OpenAPI 3.x document, flattened into the shape the probes need.
//!
//! Parameter, request-body and response objects are resolved here (they are plain OpenAPI
//! objects); schemas keep their `$ref`s so that recursive schemas stay finite, and
//! [`Api::resolve`] follows them on demand. Every local `$ref` in the document is checked once at
//! load time, so a dangling pointer is reported before any traffic is sent.

use std::collections::BTreeMap;

use http::Method;
use serde_json::Value;

use crate::ProbeError;
use crate::Result;

/// Methods an OpenAPI path item may hold, in the order the document format lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A loaded OpenAPI document and its operations.
#[derive(Debug, Clone)]
pub struct Api {
    /// Every operation, paths sorted (the JSON map does not keep document order), methods in
    /// the order OpenAPI lists them.
    pub operations: Vec<Operation>,
    document: Value,
}

/// One operation: a method on a path template.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The HTTP method.
    pub method: Method,
    /// The path template as written in the document, e.g. `/api/v1/books/{id}`.
    pub path: String,
    /// The document's `operationId`, when given.
    pub operation_id: Option<String>,
    /// Path-item and operation parameters merged (the operation's win on name and location).
    pub parameters: Vec<Parameter>,
    /// The request body, when the operation takes one.
    pub body: Option<RequestBody>,
    /// Documented responses keyed as in the document: `"200"`, `"4XX"`, `"default"`.
    pub responses: BTreeMap<String, Response>,
    /// Whether the operation needs credentials: its `security`, else the document's; an empty
    /// list, or a list holding an empty requirement `{}`, means anonymous callers are allowed.
    pub requires_auth: bool,
}

/// A path, query or header parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The parameter name.
    pub name: String,
    /// Where the parameter goes.
    pub location: ParamLocation,
    /// Whether the parameter must be sent (path parameters always are).
    pub required: bool,
    /// The parameter's schema (may hold `$ref`s; `{}` when the document gives none).
    pub schema: Value,
}

/// Where a parameter is sent. Cookie parameters are not probed and are dropped at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    /// A `{name}` segment of the path template.
    Path,
    /// A query-string parameter.
    Query,
    /// A request header.
    Header,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestBody {
    /// Whether the body must be sent.
    pub required: bool,
    /// The media type the probes send: JSON when documented, else the first one listed.
    pub content_type: String,
    /// The schema of that media type (`{}` when none is given).
    pub schema: Value,
}

/// A documented response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The documented media type (JSON-like preferred), `None` for a response without content.
    pub content_type: Option<String>,
    /// The schema of that media type, when given.
    pub schema: Option<Value>,
}

impl Api {
    /// Reads the operations of an OpenAPI 3.x document.
    ///
    /// Fails on a document without `paths`, on a non-local or dangling `$ref`, and on
    /// malformed parameter, body or response objects; the message names the JSON pointer.
    pub fn from_document(mut document: Value) -> Result<Api> {
        let version = document
            .get("openapi")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if version.starts_with("3.0") {
            normalize_openapi_30(&mut document);
        }
        check_refs(&document, &document, &mut String::new())?;
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                ProbeError::Document("expected an object at /paths, found none".to_string())
            })?;
        let document_security = document.get("security");
        let mut operations = Vec::new();
        for (path, path_item) in paths {
            let item_pointer = format!("/paths/{}", escape_pointer(path));
            let path_item = resolve_object(&document, path_item, &item_pointer)?;
            let shared = read_parameters(&document, path_item.get("parameters"), &item_pointer)?;
            for method_name in METHODS {
                let Some(operation) = path_item.get(method_name) else {
                    continue;
                };
                let pointer = format!("{item_pointer}/{method_name}");
                let own = read_parameters(&document, operation.get("parameters"), &pointer)?;
                let mut parameters = shared.clone();
                for parameter in own {
                    parameters.retain(|p: &Parameter| {
                        !(p.name == parameter.name && p.location == parameter.location)
                    });
                    parameters.push(parameter);
                }
                let body = match operation.get("requestBody") {
                    Some(body) => Some(read_body(&document, body, &pointer)?),
                    None => None,
                };
                let mut responses = BTreeMap::new();
                if let Some(map) = operation.get("responses").and_then(Value::as_object) {
                    for (status, response) in map {
                        let response_pointer = format!("{pointer}/responses/{status}");
                        let response = resolve_object(&document, response, &response_pointer)?;
                        let (content_type, schema) = pick_content(response.get("content"));
                        responses.insert(
                            status.clone(),
                            Response {
                                content_type,
                                schema,
                            },
                        );
                    }
                }
                let security = operation.get("security").or(document_security);
                let requires_auth = match security.and_then(Value::as_array) {
                    Some(requirements) => {
                        !requirements.is_empty()
                            && !requirements
                                .iter()
                                .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
                    }
                    None => false,
                };
                let method = Method::from_bytes(method_name.to_ascii_uppercase().as_bytes())
                    .map_err(|e| ProbeError::Document(format!("{pointer}: {e}")))?;
                operations.push(Operation {
                    method,
                    path: path.clone(),
                    operation_id: operation
                        .get("operationId")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    parameters,
                    body,
                    responses,
                    requires_auth,
                });
            }
        }
        Ok(Api {
            operations,
            document,
        })
    }

    /// The whole document, for validators that need its `components`.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Follows `$ref`s (local ones, checked at load time) until a value without one is reached.
    ///
    /// Returns the value itself when a ref cannot be followed, so callers never loop.
    pub fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        let mut current = value;
        // A chain longer than this is a cycle of pure refs; stop rather than spin.
        for _ in 0..32 {
            let Some(target) = current
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|pointer| self.document.pointer(pointer))
            else {
                return current;
            };
            current = target;
        }
        current
    }

    /// The operation with this method and path template, if documented.
    pub fn operation(&self, method: &Method, path: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|o| o.method == *method && o.path == path)
    }

    /// The documented response for `status`: the exact code, then its class (`4XX`), then
    /// `default`. `None` means the status is undocumented for this operation.
    pub fn documented_status(operation: &Operation, status: u16) -> Option<&Response> {
        operation.documented_status(status)
    }
}

impl Operation {
    /// See [`Api::documented_status`].
    pub fn documented_status(&self, status: u16) -> Option<&Response> {
        let exact = status.to_string();
        let class = format!("{}XX", status / 100);
        self.responses
            .get(&exact)
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&class))
                    .map(|(_, v)| v)
            })
            .or_else(|| self.responses.get("default"))
    }

    /// `"GET /path"`, the name used in reports.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The parameters at one location.
    pub fn parameters_in(&self, location: ParamLocation) -> impl Iterator<Item = &Parameter> {
        self.parameters
            .iter()
            .filter(move |p| p.location == location)
    }
}

/// Rewrites OpenAPI 3.0 schema dialect into JSON Schema 2020-12, which the validator speaks:
/// `nullable: true` becomes a `"null"` type, boolean `exclusiveMinimum`/`exclusiveMaximum`
/// become numbers. Without this, every `null` a 3.0 service returns would be a false violation.
fn normalize_openapi_30(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // Only the keyword (a boolean) is rewritten; a property named `nullable` stays.
            let nullable = map.get("nullable").and_then(Value::as_bool);
            if nullable.is_some() {
                map.remove("nullable");
            }
            if nullable == Some(true) {
                match map.get_mut("type") {
                    Some(Value::String(name)) => {
                        let name = name.clone();
                        map.insert("type".to_string(), serde_json::json!([name, "null"]));
                    }
                    Some(_) => {}
                    None => {
                        if let Some(Value::Array(members)) = map.get_mut("enum")
                            && !members.contains(&Value::Null)
                        {
                            members.push(Value::Null);
                        }
                    }
                }
            }
            for (exclusive, inclusive) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                match map.get(exclusive) {
                    Some(Value::Bool(true)) => {
                        match map.remove(inclusive) {
                            Some(bound) => map.insert(exclusive.to_string(), bound),
                            None => map.remove(exclusive),
                        };
                    }
                    Some(Value::Bool(false)) => {
                        map.remove(exclusive);
                    }
                    _ => {}
                }
            }
            map.values_mut().for_each(normalize_openapi_30);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_openapi_30),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Checks every `$ref` under `value`: local (`#/...`) and pointing at something.
fn check_refs(document: &Value, value: &Value, pointer: &mut String) -> Result<()> {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                let Some(target) = reference.strip_prefix('#') else {
                    return Err(ProbeError::Document(format!(
                        "{pointer}/$ref: expected a local reference (#/...), found `{reference}`"
                    )));
                };
                if document.pointer(target).is_none() {
                    return Err(ProbeError::Document(format!(
                        "{pointer}/$ref: `{reference}` points at nothing"
                    )));
                }
            }
            for (key, child) in map {
                let length = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(key));
                check_refs(document, child, pointer)?;
                pointer.truncate(length);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let length = pointer.len();
                pointer.push_str(&format!("/{index}"));
                check_refs(document, child, pointer)?;
                pointer.truncate(length);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Follows refs of an OpenAPI object (parameter, body, response, path item) and requires an object.
fn resolve_object<'a>(document: &'a Value, value: &'a Value, pointer: &str) -> Result<&'a Value> {
    let mut current = value;
    for _ in 0..32 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                current = reference
                    .strip_prefix('#')
                    .and_then(|p| document.pointer(p))
                    .ok_or_else(|| {
                        ProbeError::Document(format!(
                            "{pointer}/$ref: `{reference}` points at nothing"
                        ))
                    })?;
            }
            None if current.is_object() => return Ok(current),
            None => {
                return Err(ProbeError::Document(format!(
                    "{pointer}: expected an object, found {current}"
                )));
            }
        }
    }
    Err(ProbeError::Document(format!(
        "{pointer}: expected a reference chain to end, found a cycle"
    )))
}

fn read_parameters(
    document: &Value,
    parameters: Option<&Value>,
    pointer: &str,
) -> Result<Vec<Parameter>> {
    let Some(list) = parameters else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| ProbeError::Document(format!("{pointer}/parameters: expected an array")))?;
    let mut out = Vec::new();
    for (index, parameter) in list.iter().enumerate() {
        let parameter_pointer = format!("{pointer}/parameters/{index}");
        let parameter = resolve_object(document, parameter, &parameter_pointer)?;
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProbeError::Document(format!("{parameter_pointer}/name: expected a string"))
            })?;
        let location = match parameter.get("in").and_then(Value::as_str) {
            Some("path") => ParamLocation::Path,
            Some("query") => ParamLocation::Query,
            Some("header") => ParamLocation::Header,
            Some("cookie") => continue,
            other => {
                return Err(ProbeError::Document(format!(
                    "{parameter_pointer}/in: expected path, query, header or cookie, found {other:?}"
                )));
            }
        };
        let schema = parameter
            .get("schema")
            .cloned()
            .or_else(|| pick_content(parameter.get("content")).1)
            .unwrap_or_else(|| Value::Object(Default::default()));
        out.push(Parameter {
            name: name.to_string(),
            location,
            required: location == ParamLocation::Path
                || parameter
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            schema,
        });
    }
    Ok(out)
}

fn read_body(document: &Value, body: &Value, pointer: &str) -> Result<RequestBody> {
    let body_pointer = format!("{pointer}/requestBody");
    let body = resolve_object(document, body, &body_pointer)?;
    let (content_type, schema) = pick_content(body.get("content"));
    let content_type = content_type.ok_or_else(|| {
        ProbeError::Document(format!(
            "{body_pointer}/content: expected at least one media type"
        ))
    })?;
    Ok(RequestBody {
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        content_type,
        schema: schema.unwrap_or_else(|| Value::Object(Default::default())),
    })
}

/// Picks the media type probes use from a `content` map: JSON, then `+json`, then the first.
fn pick_content(content: Option<&Value>) -> (Option<String>, Option<Value>) {
    let Some(map) = content.and_then(Value::as_object) else {
        return (None, None);
    };
    let chosen = map
        .iter()
        .find(|(k, _)| k.as_str() == "application/json")
        .or_else(|| map.iter().find(|(k, _)| is_json_media_type(k)))
        .or_else(|| map.iter().next());
    match chosen {
        Some((media_type, media)) => (Some(media_type.clone()), media.get("schema").cloned()),
        None => (None, None),
    }
}

/// Whether a media type (parameters ignored) carries JSON: `application/json` or `*/*+json`.
pub fn is_json_media_type(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json; charset=utf-8"));
        assert!(is_json_media_type("application/problem+json"));
        assert!(!is_json_media_type("text/plain"));
    }

    #[test]
    fn openapi_30_nullable_and_boolean_exclusive_bounds_are_rewritten() {
        let mut document = serde_json::json!({"a": {"type": "string", "nullable": true},
            "b": {"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}});
        normalize_openapi_30(&mut document);
        assert_eq!(
            document,
            serde_json::json!({"a": {"type": ["string", "null"]},
                "b": {"type": "integer", "exclusiveMinimum": 0, "maximum": 9}})
        );
    }

    #[test]
    fn empty_requirement_means_public() {
        let api = Api::from_document(serde_json::json!({
            "security": [{"bearer": []}],
            "paths": {"/a": {"get": {"security": [{}, {"bearer": []}], "responses": {}},
                             "post": {"responses": {}}}}
        }))
        .unwrap();
        assert!(!api.operations[0].requires_auth);
        assert!(api.operations[1].requires_auth);
    }
}
