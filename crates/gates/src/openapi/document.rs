//! Reading and checking an OpenAPI 3.1 document, on its JSON value.
//!
//! The checks are the ones a route comparison depends on, plus the structural rules of the
//! specification that tools trip over: the version, `info`, `paths` and their templates, path
//! parameters declared and used, known methods, unique `operationId`s, responses on every
//! operation and `$ref`s that resolve. Every problem names its place with a JSON pointer.
//! Schemas themselves are not validated against JSON Schema 2020-12.

use std::collections::BTreeMap;

use serde_json::Value;

use super::routes::METHODS;
use super::routes::shape;
use super::routes::template_parameters;

/// Fields of a path item that are not operations.
const PATH_ITEM_FIELDS: [&str; 5] = ["$ref", "summary", "description", "servers", "parameters"];

/// Where a parameter may be.
const PARAMETER_LOCATIONS: [&str; 4] = ["query", "header", "path", "cookie"];

/// Most `$ref` hops followed when resolving a reference to a reference.
const MAX_REF_HOPS: usize = 16;

/// One documented operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    /// Upper-case method.
    pub method: String,
    /// The path template, as written in `paths`.
    pub path: String,
    /// JSON pointer of the operation.
    pub pointer: String,
}

/// What checking a document found.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// The `openapi` field, when it is a string.
    pub version: Option<String>,
    /// The operations under `paths`, in document order.
    pub operations: Vec<Operation>,
    /// `pointer: problem` for every rule broken.
    pub problems: Vec<String>,
}

/// Parses a document: YAML when `yaml`, otherwise JSON. The error says where parsing stopped.
pub(crate) fn parse(text: &str, yaml: bool) -> Result<Value, String> {
    if yaml {
        serde_saphyr::from_str::<Value>(text).map_err(|error| format!("not valid YAML: {error}"))
    } else {
        serde_json::from_str::<Value>(text).map_err(|error| format!("not valid JSON: {error}"))
    }
}

/// A JSON pointer segment: `~` → `~0`, `/` → `~1`.
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the string \"{}\"", super::routes::shorten(text, 40)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn is_version_31(version: &str) -> bool {
    version.strip_prefix("3.1.").is_some_and(|patch| {
        !patch.is_empty() && patch.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

struct Checker<'a> {
    root: &'a Value,
    problems: Vec<String>,
}

impl<'a> Checker<'a> {
    fn problem(&mut self, pointer: &str, message: impl AsRef<str>) {
        let at = if pointer.is_empty() {
            "(document root)"
        } else {
            pointer
        };
        self.problems.push(format!("{at}: {}", message.as_ref()));
    }

    /// The value at a JSON pointer (`/components/schemas/Book`), `""` being the root.
    fn at_pointer(&self, pointer: &str) -> Option<&'a Value> {
        if pointer.is_empty() {
            return Some(self.root);
        }
        let mut current = self.root;
        for raw in pointer.strip_prefix('/')?.split('/') {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            current = match current {
                Value::Object(map) => map.get(&segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Follows local `$ref`s from `value`; `None` when a reference does not resolve (reported
    /// by [`Checker::references`]) or loops.
    fn resolve(&self, mut value: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_REF_HOPS {
            match value.get("$ref") {
                Some(Value::String(reference)) => {
                    let fragment = percent_decode(reference.strip_prefix('#')?);
                    value = self.at_pointer(&fragment)?;
                }
                _ => return Some(value),
            }
        }
        None
    }

    /// Every `$ref` in the document must point inside it, at something that exists.
    fn references(&mut self, value: &'a Value, pointer: &str, names: bool) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let child_pointer = format!("{pointer}/{}", escape(key));
                    if names {
                        // The keys of this map are names (schema properties, components…):
                        // a key `$ref` here is a name, not a reference.
                        self.references(child, &child_pointer, false);
                        continue;
                    }
                    match key.as_str() {
                        "$ref" => self.reference(child, &child_pointer),
                        // Literal data, not part of the document's structure.
                        "example" | "const" | "enum" | "default" => {}
                        "examples" if child.is_array() => {}
                        _ => {
                            let child_names = NAME_MAPS.contains(&key.as_str())
                                || (key == "examples" && child.is_object());
                            self.references(child, &child_pointer, child_names);
                        }
                    }
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.references(item, &format!("{pointer}/{index}"), false);
                }
            }
            _ => {}
        }
    }

    fn reference(&mut self, value: &Value, pointer: &str) {
        let Value::String(reference) = value else {
            self.problem(
                pointer,
                format!("expected a reference string, found {}", describe(value)),
            );
            return;
        };
        let Some(fragment) = reference.strip_prefix('#') else {
            self.problem(
                pointer,
                format!(
                    "expected a reference inside the document (`#/…`), found `{reference}`, which this gate cannot check"
                ),
            );
            return;
        };
        let fragment = percent_decode(fragment);
        if !fragment.is_empty() && !fragment.starts_with('/') {
            self.problem(
                pointer,
                format!(
                    "expected a JSON pointer after `#` (`#/components/…`), found `{reference}`"
                ),
            );
            return;
        }
        if self.at_pointer(&fragment).is_none() {
            // Name the deepest part that exists, so the fix is obvious.
            let mut existing = fragment.as_str();
            while let Some((parent, _)) = existing.rsplit_once('/') {
                existing = parent;
                if self.at_pointer(existing).is_some() {
                    break;
                }
            }
            let missing = fragment[existing.len()..]
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default()
                .replace("~1", "/")
                .replace("~0", "~");
            self.problem(
                pointer,
                format!(
                    "expected `{reference}` to resolve, found no `{missing}` in {}",
                    if existing.is_empty() {
                        "the document"
                    } else {
                        existing
                    }
                ),
            );
        }
    }

    fn version(&mut self) -> Option<String> {
        match self.root.get("openapi") {
            Some(Value::String(version)) => {
                if !is_version_31(version) {
                    self.problem(
                        "/openapi",
                        format!("expected OpenAPI version `3.1.x`, found `{version}`"),
                    );
                }
                Some(version.clone())
            }
            Some(other) => {
                self.problem(
                    "/openapi",
                    format!(
                        "expected the version string `3.1.x`, found {}",
                        describe(other)
                    ),
                );
                None
            }
            None => {
                self.problem(
                    "/openapi",
                    "expected the version `3.1.x`, found no `openapi` field",
                );
                None
            }
        }
    }

    fn info(&mut self) {
        match self.root.get("info") {
            Some(Value::Object(info)) => {
                for field in ["title", "version"] {
                    match info.get(field) {
                        Some(Value::String(_)) => {}
                        Some(other) => self.problem(
                            &format!("/info/{field}"),
                            format!("expected a string, found {}", describe(other)),
                        ),
                        None => self.problem(
                            "/info",
                            format!("expected `{field}`, found no `{field}` field"),
                        ),
                    }
                }
            }
            Some(other) => self.problem(
                "/info",
                format!(
                    "expected an object with `title` and `version`, found {}",
                    describe(other)
                ),
            ),
            None => self.problem(
                "/info",
                "expected `info` with `title` and `version`, found none",
            ),
        }
    }

    /// The path parameters of a `parameters` list: `(name, pointer)`; malformed entries are
    /// reported.
    fn path_parameters(&mut self, list: Option<&'a Value>, pointer: &str) -> Vec<(String, String)> {
        let Some(list) = list else {
            return Vec::new();
        };
        let Value::Array(items) = list else {
            self.problem(
                pointer,
                format!("expected a list of parameters, found {}", describe(list)),
            );
            return Vec::new();
        };
        let mut found = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let at = format!("{pointer}/{index}");
            // An unresolvable `$ref` is reported by the reference check.
            let Some(parameter) = self.resolve(item) else {
                continue;
            };
            let Value::Object(fields) = parameter else {
                self.problem(
                    &at,
                    format!("expected a parameter object, found {}", describe(parameter)),
                );
                continue;
            };
            let name = match fields.get("name") {
                Some(Value::String(name)) => name.clone(),
                other => {
                    self.problem(
                        &at,
                        format!(
                            "expected a parameter `name`, found {}",
                            other.map_or_else(|| "none".to_string(), describe)
                        ),
                    );
                    continue;
                }
            };
            match fields.get("in") {
                Some(Value::String(location)) if PARAMETER_LOCATIONS.contains(&location.as_str()) => {
                    if location == "path" {
                        if fields.get("required") != Some(&Value::Bool(true)) {
                            self.problem(
                                &at,
                                format!(
                                    "expected `required: true` on path parameter `{name}`, found {}",
                                    fields
                                        .get("required")
                                        .map_or_else(|| "no `required`".to_string(), describe)
                                ),
                            );
                        }
                        found.push((name, at));
                    }
                }
                other => self.problem(
                    &at,
                    format!(
                        "expected `in` to be one of query, header, path, cookie for parameter `{name}`, found {}",
                        other.map_or_else(|| "none".to_string(), describe)
                    ),
                ),
            }
        }
        found
    }

    fn paths(&mut self) -> Vec<Operation> {
        let mut operations = Vec::new();
        let paths = match self.root.get("paths") {
            Some(Value::Object(paths)) => paths,
            Some(other) => {
                self.problem(
                    "/paths",
                    format!(
                        "expected an object of path items, found {}",
                        describe(other)
                    ),
                );
                return operations;
            }
            None => {
                self.problem(
                    "/paths",
                    "expected `paths` with the documented operations, found none",
                );
                return operations;
            }
        };
        let mut shapes: BTreeMap<String, String> = BTreeMap::new();
        let mut operation_ids: BTreeMap<String, String> = BTreeMap::new();
        for (path, item) in paths {
            let item_at = format!("/paths/{}", escape(path));
            if !path.starts_with('/') {
                self.problem(
                    &item_at,
                    format!("expected a path starting with `/`, found `{path}`"),
                );
                continue;
            }
            if let Some(first) = shapes.insert(shape(path), path.clone()) {
                self.problem(
                    &item_at,
                    format!(
                        "expected one path item per path, found `{path}` and `{first}`, which differ only in parameter names"
                    ),
                );
            }
            let template = template_parameters(path);
            for (index, name) in template.iter().enumerate() {
                if template[..index].contains(name) {
                    self.problem(
                        &item_at,
                        format!("expected distinct parameter names in the template, found `{name}` twice"),
                    );
                }
            }
            // A path item may be a `$ref` (to `#/components/pathItems/…`).
            let Some(resolved) = self.resolve(item) else {
                continue;
            };
            let Value::Object(fields) = resolved else {
                self.problem(
                    &item_at,
                    format!("expected a path item object, found {}", describe(resolved)),
                );
                continue;
            };
            let shared =
                self.path_parameters(fields.get("parameters"), &format!("{item_at}/parameters"));
            for (name, at) in &shared {
                if !template.contains(&name.as_str()) {
                    self.problem(
                        at,
                        format!(
                            "path parameter `{name}` is declared but not in the template `{path}`"
                        ),
                    );
                }
            }
            for (key, operation) in fields {
                let method = key.to_ascii_uppercase();
                let operation_at = format!("{item_at}/{}", escape(key));
                if !METHODS.contains(&method.as_str()) || key != &method.to_ascii_lowercase() {
                    if !PATH_ITEM_FIELDS.contains(&key.as_str()) && !key.starts_with("x-") {
                        self.problem(
                            &operation_at,
                            format!(
                                "expected an HTTP method (get, put, post, delete, options, head, patch, trace) or a path item field, found `{key}`"
                            ),
                        );
                    }
                    continue;
                }
                let Value::Object(operation_fields) = operation else {
                    self.problem(
                        &operation_at,
                        format!(
                            "expected an operation object, found {}",
                            describe(operation)
                        ),
                    );
                    continue;
                };
                let own = self.path_parameters(
                    operation_fields.get("parameters"),
                    &format!("{operation_at}/parameters"),
                );
                for name in &template {
                    let declared = own
                        .iter()
                        .chain(&shared)
                        .any(|(declared, _)| declared == name);
                    if !declared {
                        self.problem(
                            &operation_at,
                            format!(
                                "path parameter `{name}` is not declared (expected an `in: path` parameter named `{name}` on the path item or the operation, found none)"
                            ),
                        );
                    }
                }
                for (name, at) in &own {
                    if !template.contains(&name.as_str()) {
                        self.problem(
                            at,
                            format!("path parameter `{name}` is declared but not in the template `{path}`"),
                        );
                    }
                }
                match operation_fields.get("operationId") {
                    Some(Value::String(id)) => {
                        if let Some(first) = operation_ids.get(id) {
                            self.problem(
                                &format!("{operation_at}/operationId"),
                                format!("expected a unique operationId, found `{id}`, already used at {first}"),
                            );
                        } else {
                            operation_ids.insert(id.clone(), operation_at.clone());
                        }
                    }
                    Some(other) => self.problem(
                        &format!("{operation_at}/operationId"),
                        format!("expected a string, found {}", describe(other)),
                    ),
                    None => {}
                }
                match operation_fields.get("responses") {
                    Some(Value::Object(responses)) if !responses.is_empty() => {}
                    Some(Value::Object(_)) => self.problem(
                        &format!("{operation_at}/responses"),
                        "expected at least one response, found an empty object",
                    ),
                    Some(other) => self.problem(
                        &format!("{operation_at}/responses"),
                        format!("expected an object of responses, found {}", describe(other)),
                    ),
                    None => self.problem(
                        &operation_at,
                        "expected `responses` with at least one response, found none",
                    ),
                }
                operations.push(Operation {
                    method,
                    path: path.clone(),
                    pointer: operation_at,
                });
            }
        }
        operations
    }
}

/// Keys whose value is a map from names to objects (the names are not structure).
const NAME_MAPS: [&str; 17] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "schemas",
    "responses",
    "parameters",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
    "paths",
    "webhooks",
    "content",
    "encoding",
];

/// `%7B` → `{` in a URI fragment; invalid escapes are kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks a parsed document.
pub(crate) fn check(root: &Value) -> Checked {
    let mut checker = Checker {
        root,
        problems: Vec::new(),
    };
    if !root.is_object() {
        checker.problem(
            "",
            format!(
                "expected an OpenAPI document (an object), found {}",
                describe(root)
            ),
        );
        return Checked {
            version: None,
            operations: Vec::new(),
            problems: checker.problems,
        };
    }
    let version = checker.version();
    checker.info();
    let operations = checker.paths();
    checker.references(root, "", false);
    Checked {
        version,
        operations,
        problems: checker.problems,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "Books", "version": "1.0.0"},
            "paths": {
                "/books": {
                    "get": {"operationId": "list", "responses": {"200": {"$ref": "#/components/responses/Page"}}},
                    "post": {"operationId": "create", "responses": {"201": {"description": "Created"}}}
                },
                "/books/{id}": {
                    "parameters": [{"$ref": "#/components/parameters/Id"}],
                    "get": {"operationId": "read", "responses": {"200": {"description": "The book"}}},
                    "delete": {"operationId": "remove", "responses": {"204": {"description": "Gone"}}}
                }
            },
            "components": {
                "parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}},
                "responses": {"Page": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}},
                "schemas": {"Page": {"type": "object", "properties": {"$ref": {"type": "string"}}, "example": {"$ref": "not a reference"}}}
            }
        })
    }

    #[test]
    fn a_valid_document_has_no_problems_and_lists_its_operations() {
        let checked = check(&valid());
        assert_eq!(checked.problems, Vec::<String>::new());
        assert_eq!(checked.version.as_deref(), Some("3.1.0"));
        let operations: Vec<(String, String)> = checked
            .operations
            .iter()
            .map(|op| (op.method.clone(), op.path.clone()))
            .collect();
        assert_eq!(
            operations,
            [
                ("GET".to_string(), "/books".to_string()),
                ("POST".to_string(), "/books".to_string()),
                ("DELETE".to_string(), "/books/{id}".to_string()),
                ("GET".to_string(), "/books/{id}".to_string()),
            ]
        );
        assert_eq!(checked.operations[0].pointer, "/paths/~1books/get");
    }

    #[test]
    fn every_broken_rule_is_reported_with_its_pointer() {
        let mut document = valid();
        document["openapi"] = json!("3.0.3");
        document["info"] = json!({"title": "Books"});
        document["paths"]["/books/{id}"]
            .as_object_mut()
            .unwrap()
            .remove("parameters");
        document["paths"]["/books/{id}"]["delete"]["parameters"] =
            json!([{"name": "book_id", "in": "path", "required": true}]);
        document["paths"]["/books"]["post"]["operationId"] = json!("list");
        document["paths"]["/books"]["post"]
            .as_object_mut()
            .unwrap()
            .remove("responses");
        document["paths"]["/books"]["fetch"] = json!({});
        document["paths"]["/books/{book}"] = json!({});
        document["paths"]["authors"] = json!({});
        document["paths"]["/books"]["get"]["responses"]["200"]["$ref"] =
            json!("#/components/responses/Missing");
        document["components"]["schemas"]["Author"] = json!({"$ref": "authors.yaml#/Author"});
        document["components"]["parameters"]["Q"] = json!({"name": "q", "in": "body"});
        let checked = check(&document);
        assert_eq!(
            checked.problems,
            [
                "/openapi: expected OpenAPI version `3.1.x`, found `3.0.3`",
                "/info: expected `version`, found no `version` field",
                "/paths/~1books/fetch: expected an HTTP method (get, put, post, delete, options, head, patch, trace) or a path item field, found `fetch`",
                "/paths/~1books/post/operationId: expected a unique operationId, found `list`, already used at /paths/~1books/get",
                "/paths/~1books/post: expected `responses` with at least one response, found none",
                "/paths/~1books~1{id}: expected one path item per path, found `/books/{id}` and `/books/{book}`, which differ only in parameter names",
                "/paths/~1books~1{id}/delete: path parameter `id` is not declared (expected an `in: path` parameter named `id` on the path item or the operation, found none)",
                "/paths/~1books~1{id}/delete/parameters/0: path parameter `book_id` is declared but not in the template `/books/{id}`",
                "/paths/~1books~1{id}/get: path parameter `id` is not declared (expected an `in: path` parameter named `id` on the path item or the operation, found none)",
                "/paths/authors: expected a path starting with `/`, found `authors`",
                "/components/schemas/Author/$ref: expected a reference inside the document (`#/…`), found `authors.yaml#/Author`, which this gate cannot check",
                "/paths/~1books/get/responses/200/$ref: expected `#/components/responses/Missing` to resolve, found no `Missing` in /components/responses",
            ]
        );
    }

    #[test]
    fn versions_and_roots_are_checked() {
        assert!(is_version_31("3.1.0"));
        assert!(is_version_31("3.1.1"));
        assert!(!is_version_31("3.1"));
        assert!(!is_version_31("3.10.0"));
        assert!(!is_version_31("3.0.3"));
        assert_eq!(
            check(&json!([1])).problems,
            ["(document root): expected an OpenAPI document (an object), found an array"]
        );
        let missing = check(&json!({}));
        assert_eq!(
            missing.problems,
            [
                "/openapi: expected the version `3.1.x`, found no `openapi` field",
                "/info: expected `info` with `title` and `version`, found none",
                "/paths: expected `paths` with the documented operations, found none",
            ]
        );
    }

    #[test]
    fn yaml_documents_parse_with_numeric_response_codes() {
        let text = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        200: {description: ok}\n";
        let value = parse(text, true).unwrap();
        let checked = check(&value);
        assert_eq!(checked.problems, Vec::<String>::new());
        assert_eq!(checked.operations.len(), 1);
        let broken = parse("openapi: [", true).unwrap_err();
        assert!(broken.starts_with("not valid YAML: "), "{broken}");
        let broken = parse("{\"openapi\": }", false).unwrap_err();
        assert!(broken.starts_with("not valid JSON: "), "{broken}");
        assert!(broken.contains("line 1"), "{broken}");
    }
}
