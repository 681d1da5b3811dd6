//! The order a contract run exercises operations in, derived from paths alone.
//!
//! A *collection* is a path without a trailing `{param}` (`/api/v1/books`); its *items* are
//! `collection/{id}`. A *create* is a POST on a collection that has items. Creates run first,
//! dependencies first (a `BookCreate` with `author_id` needs an author), so that later
//! operations can be given ids of records that exist; deletes run last, dependents first.

use std::collections::BTreeSet;

use http::Method;
use serde_json::Value;

use crate::openapi::Api;
use crate::openapi::Operation;
use crate::schema;

/// The collection an item path belongs to: `/books/{id}` → `/books`.
pub fn collection_of(path: &str) -> Option<&str> {
    let (parent, last) = path.rsplit_once('/')?;
    (last.starts_with('{') && last.ends_with('}') && !parent.is_empty()).then_some(parent)
}

/// The singular resource name of a collection: `/api/v1/categories` → `category`.
pub fn resource_name(collection: &str) -> String {
    let last = collection
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.starts_with('{'))
        .unwrap_or_default()
        .replace('-', "_");
    if let Some(stem) = last.strip_suffix("ies") {
        format!("{stem}y")
    } else if ["sses", "xes", "ches", "shes"]
        .iter()
        .any(|s| last.ends_with(s))
    {
        last[..last.len() - 2].to_string()
    } else if let Some(stem) = last.strip_suffix('s')
        && !last.ends_with("ss")
        && !last.ends_with("us")
    {
        stem.to_string()
    } else {
        last
    }
}

/// The collections that have item operations.
pub fn collections(api: &Api) -> BTreeSet<String> {
    api.operations
        .iter()
        .filter_map(|o| collection_of(&o.path))
        .map(str::to_string)
        .collect()
}

/// Whether `operation` creates records of a collection.
pub fn is_create(operation: &Operation, collections: &BTreeSet<String>) -> bool {
    operation.method == Method::POST && collections.contains(&operation.path)
}

/// Path templates of the `{name}` parameters in `path`, each with the collection the value
/// is an id of: `/books/{book_id}/reviews/{id}` → `[(book_id, /books), (id, /books/{book_id}/reviews)]`.
pub fn path_parameters(path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut prefix = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            out.push((name.to_string(), prefix.clone()));
        }
        prefix.push('/');
        prefix.push_str(segment);
    }
    out
}

/// Creates in dependency order: a create whose body names `<resource>_id` (or whose path
/// holds a parent id) runs after the create of that resource. Cycles keep document order.
pub fn order_creates<'a>(api: &Api, creates: Vec<&'a Operation>) -> Vec<&'a Operation> {
    let resources: Vec<(String, &Operation)> = creates
        .iter()
        .map(|o| (resource_name(&o.path), *o))
        .collect();
    let dependencies = |operation: &Operation| -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        if let Some(body) = &operation.body {
            let body_schema = schema::effective(api, &body.schema);
            if let Some(properties) = body_schema.get("properties").and_then(Value::as_object) {
                for name in properties.keys() {
                    if let Some(resource) = name.strip_suffix("_id") {
                        names.insert(resource.to_string());
                    } else if let Some(resource) = name.strip_suffix("Id")
                        && !resource.is_empty()
                    {
                        names.insert(snake(resource));
                    }
                }
            }
        }
        for (_, collection) in path_parameters(&operation.path) {
            names.insert(resource_name(&collection));
        }
        names.remove(&resource_name(&operation.path));
        names
    };
    let mut ordered: Vec<&Operation> = Vec::new();
    let mut remaining = resources;
    while !remaining.is_empty() {
        let known: BTreeSet<String> = remaining.iter().map(|(n, _)| n.clone()).collect();
        let ready = remaining.iter().position(|(_, operation)| {
            dependencies(operation)
                .iter()
                .all(|d| !known.contains(d) || ordered.iter().any(|o| resource_name(&o.path) == *d))
        });
        let index = ready.unwrap_or(0);
        let (_, operation) = remaining.remove(index);
        ordered.push(operation);
    }
    ordered
}

/// `orderItem` → `order_item`, to match resource names derived from paths.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn creates_run_after_the_creates_they_reference() {
        let body = |properties: serde_json::Value| json!({"content": {"application/json": {"schema": {"type": "object", "properties": properties}}}});
        let item = json!({"get": {"responses": {}}});
        let api = Api::from_document(json!({"paths": {
            "/reviews": {"post": {"requestBody": body(json!({"bookId": {"type": "string"}})), "responses": {}}},
            "/reviews/{id}": item,
            "/books": {"post": {"requestBody": body(json!({"author_id": {"type": "string"}})), "responses": {}}},
            "/books/{id}": item,
            "/authors": {"post": {"requestBody": body(json!({"name": {"type": "string"}})), "responses": {}}},
            "/authors/{id}": item,
        }}))
        .unwrap();
        let collections = collections(&api);
        let creates = api
            .operations
            .iter()
            .filter(|o| is_create(o, &collections))
            .collect();
        let ordered: Vec<&str> = order_creates(&api, creates)
            .iter()
            .map(|o| o.path.as_str())
            .collect();
        assert_eq!(ordered, ["/authors", "/books", "/reviews"]);
    }

    #[test]
    fn names_and_collections() {
        assert_eq!(collection_of("/api/books/{id}"), Some("/api/books"));
        assert_eq!(collection_of("/api/books"), None);
        assert_eq!(resource_name("/api/v1/categories"), "category");
        assert_eq!(resource_name("/api/v1/addresses"), "address");
        assert_eq!(resource_name("/api/v1/books"), "book");
        assert_eq!(resource_name("/api/v1/status"), "status");
        assert_eq!(
            path_parameters("/books/{book_id}/reviews/{id}"),
            vec![
                ("book_id".to_string(), "/books".to_string()),
                ("id".to_string(), "/books/{book_id}/reviews".to_string())
            ]
        );
    }
}
