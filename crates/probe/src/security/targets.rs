//! Reading probe targets out of the document: collections (create operation plus item
//! operations), list operations, references between resources, and turning path templates and
//! schemas into concrete requests and records.

use http::Method;
use serde_json::{Map, Value, json};

use super::ctx::{Ctx, json as response_json, succeeded};
use crate::exchange::{Exchange, Request};
use crate::openapi::{Api, Operation, ParamLocation};
use crate::schema;
use crate::session::Principal;

/// A resource collection: `POST /things` and the operations on `/things/{id}`.
pub(crate) struct Collection<'a> {
    pub create: &'a Operation,
    /// Name of the item path's parameter (`id` in `/things/{id}`).
    pub id_param: String,
    pub read: Option<&'a Operation>,
    pub update: Option<&'a Operation>,
    pub replace: Option<&'a Operation>,
    pub delete: Option<&'a Operation>,
}

impl Collection<'_> {
    /// The item operations that exist, with what they do to a record.
    pub fn item_operations(&self) -> impl Iterator<Item = &Operation> {
        [self.read, self.update, self.replace, self.delete]
            .into_iter()
            .flatten()
    }

    /// Whether some item operation requires credentials (records belong to someone).
    pub fn is_owned(&self) -> bool {
        self.item_operations()
            .any(|operation| operation.requires_auth)
    }
}

/// Every collection the document describes: a `POST` with a body on a path without
/// parameters, and at least one operation on that path plus one `{parameter}` segment.
pub(crate) fn collections(api: &Api) -> Vec<Collection<'_>> {
    let mut found = Vec::new();
    for create in &api.operations {
        if create.method != Method::POST || create.body.is_none() || create.path.contains('{') {
            continue;
        }
        let prefix = format!("{}/", create.path.trim_end_matches('/'));
        let mut collection = Collection {
            create,
            id_param: String::new(),
            read: None,
            update: None,
            replace: None,
            delete: None,
        };
        for operation in &api.operations {
            let Some(rest) = operation.path.strip_prefix(&prefix) else {
                continue;
            };
            let Some(name) = rest
                .strip_prefix('{')
                .and_then(|rest| rest.strip_suffix('}'))
            else {
                continue;
            };
            if name.contains(['/', '{']) {
                continue;
            }
            collection.id_param = name.to_string();
            match operation.method.clone() {
                method if method == Method::GET => collection.read = Some(operation),
                method if method == Method::PATCH => collection.update = Some(operation),
                method if method == Method::PUT => collection.replace = Some(operation),
                method if method == Method::DELETE => collection.delete = Some(operation),
                _ => {}
            }
        }
        if !collection.id_param.is_empty() {
            found.push(collection);
        }
    }
    found
}

/// `GET` operations on paths without parameters whose success response is a list (an array,
/// or an object with an array property).
pub(crate) fn list_operations(api: &Api) -> Vec<&Operation> {
    api.operations
        .iter()
        .filter(|operation| operation.method == Method::GET && !operation.path.contains('{'))
        .filter(|operation| {
            operation
                .parameters
                .iter()
                .any(|parameter| matches!(parameter.location, ParamLocation::Query))
                || api
                    .operations
                    .iter()
                    .any(|other| other.path.starts_with(&format!("{}/{{", operation.path)))
        })
        .collect()
}

/// The path of `template` with `{name}` replaced by `values` (names not given keep a sampled
/// value of their schema).
pub(crate) fn fill_path(api: &Api, operation: &Operation, values: &[(&str, &str)]) -> String {
    let mut path = operation.path.clone();
    for parameter in &operation.parameters {
        if !matches!(parameter.location, ParamLocation::Path) {
            continue;
        }
        let value = match values.iter().find(|(name, _)| *name == parameter.name) {
            Some((_, value)) => (*value).to_string(),
            None => scalar_text(&schema::sample(
                api,
                &parameter.schema,
                &schema::Hints::default(),
            )),
        };
        path = path.replace(&format!("{{{}}}", parameter.name), &value);
    }
    path
}

/// A JSON scalar as it appears in a URL.
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The id of a record, from the item path's parameter name or `id`.
pub(crate) fn record_id(record: &Value, id_param: &str) -> Option<String> {
    [id_param, "id"]
        .into_iter()
        .filter_map(|key| record.get(key))
        .find(|value| value.is_string() || value.is_number())
        .map(scalar_text)
}

/// The items of a list response: the array itself, or the first array property of an object
/// (preferring `items`, `data`, `results`).
pub(crate) fn list_items(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(map) => ["items", "data", "results", "records", "content"]
            .into_iter()
            .find_map(|key| map.get(key).and_then(Value::as_array))
            .or_else(|| map.values().find_map(Value::as_array)),
        _ => None,
    }
}

/// A valid request body for `operation`, with properties that reference another collection
/// (`book_id` → `/books`) set to an existing record's id.
pub(crate) async fn valid_body(
    ctx: &mut Ctx<'_>,
    operation: &Operation,
    user: &Principal,
) -> Option<Value> {
    let body_schema = &operation.body.as_ref()?.schema;
    let hints = reference_hints(ctx, operation, user, 0).await;
    Some(schema::sample(ctx.api, body_schema, &hints))
}

/// How many levels of referenced records are created for one body (`review` → `book` →
/// `author`).
const MAX_REFERENCE_DEPTH: usize = 3;

/// Sampling hints that point the body's `*_id` properties at records that exist (created
/// fresh where possible). Computing them once lets a probe sample several bodies that refer
/// to the same records.
pub(crate) fn reference_hints<'c>(
    ctx: &'c mut Ctx<'_>,
    operation: &'c Operation,
    user: &'c Principal,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = schema::Hints> + Send + 'c>> {
    Box::pin(async move {
        let mut hints = schema::Hints::new();
        let Some(body) = &operation.body else {
            return hints;
        };
        for name in properties(ctx.api, &body.schema).keys() {
            let Some(stem) = name.strip_suffix("_id") else {
                continue;
            };
            if matches!(stem, "owner" | "user" | "") || depth >= MAX_REFERENCE_DEPTH {
                continue;
            }
            if let Some(id) = referenced_record(ctx, stem, user, depth).await {
                hints.insert(name.clone(), id);
            }
        }
        hints
    })
}

/// The id of a record of the collection named like `stem` (`book` → `/books`): a fresh one
/// created by the admin (or `user`), so that per-parent uniqueness rules (one review per
/// book) do not refuse the probe's records, else the first one listed.
async fn referenced_record(
    ctx: &mut Ctx<'_>,
    stem: &str,
    user: &Principal,
    depth: usize,
) -> Option<Value> {
    let plurals = [
        format!("{stem}s"),
        format!("{stem}es"),
        format!("{}ies", stem.trim_end_matches('y')),
    ];
    let api = ctx.api;
    let named = |operation: &&Operation| {
        !operation.path.contains('{')
            && plurals
                .iter()
                .any(|plural| operation.path.ends_with(&format!("/{plural}")))
    };
    let create = api
        .operations
        .iter()
        .filter(named)
        .find(|operation| operation.method == Method::POST && operation.body.is_some());
    if let Some(create) = create {
        let creator = ctx.session.admin.clone().unwrap_or_else(|| user.clone());
        let hints = reference_hints(ctx, create, &creator, depth + 1).await;
        if let Some(body) = create
            .body
            .as_ref()
            .map(|body| schema::sample(ctx.api, &body.schema, &hints))
        {
            let request =
                Request::json(Method::POST, &create.path, &body).bearer(&creator.access_token);
            let exchange = ctx.send(request).await;
            if let Some(id) = response_json(&exchange)
                .filter(|_| succeeded(&exchange))
                .and_then(|record| record.get("id"))
            {
                return Some(id.clone());
            }
        }
    }
    let list = api
        .operations
        .iter()
        .filter(named)
        .find(|operation| operation.method == Method::GET)?;
    let mut request = Request::new(Method::GET, &list.path);
    if list.requires_auth {
        request = request.bearer(&user.access_token);
    }
    let exchange = ctx.send(request).await;
    response_json(&exchange)
        .and_then(list_items)
        .and_then(|items| items.first())
        .and_then(|item| item.get("id"))
        .cloned()
}

/// A record `user` created in `collection`: its id, its JSON and the exchange; or the
/// exchange of the refused creation.
pub(crate) async fn create_record(
    ctx: &mut Ctx<'_>,
    collection: &Collection<'_>,
    user: &Principal,
) -> Result<(String, Value, Exchange), Option<Exchange>> {
    let body = valid_body(ctx, collection.create, user).await.ok_or(None)?;
    let exchange = ctx
        .send(
            Request::json(Method::POST, &collection.create.path, &body).bearer(&user.access_token),
        )
        .await;
    if !succeeded(&exchange) {
        return Err(Some(exchange));
    }
    let record = response_json(&exchange).cloned().unwrap_or(Value::Null);
    match record_id(&record, &collection.id_param) {
        Some(id) => Ok((id, record, exchange)),
        None => Err(Some(exchange)),
    }
}

/// The properties a schema (after `$ref`s) declares at the top level.
pub(crate) fn properties(api: &Api, schema_value: &Value) -> Map<String, Value> {
    let resolved = schema::effective(api, schema_value);
    let mut found = resolved
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in resolved
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            found.extend(properties(api, part));
        }
    }
    found
}

/// The schema of the first 2xx response of an operation.
pub(crate) fn success_schema(operation: &Operation) -> Option<&Value> {
    operation
        .responses
        .iter()
        .find(|(code, _)| code.starts_with('2'))
        .and_then(|(_, response)| response.schema.as_ref())
}

/// The schema with `$ref`s resolved and compositions merged.
pub(crate) fn resolved(api: &Api, schema_value: &Value) -> Value {
    schema::effective(api, schema_value)
}

/// Marker value placed in injected properties, distinct from anything a service would pick.
pub(crate) fn marker_for(property: &Value) -> Value {
    let kind = property
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let format = property.get("format").and_then(Value::as_str).unwrap_or("");
    match (kind, format) {
        ("integer", _) => json!(987_654_321),
        ("number", _) => json!(98_765.5),
        ("boolean", _) => json!(true),
        (_, "uuid") => json!("0badc0de-0000-4000-8000-00000000beef"),
        (_, "date-time") => json!("2001-02-03T04:05:06Z"),
        (_, "date") => json!("2001-02-03"),
        (_, "email") => json!("injected@evil.example"),
        _ => json!("injected-by-probe"),
    }
}

/// The first protected `GET` without path parameters (and not for admins) that `user` gets a
/// 2xx from, with that exchange; `extra_headers` go on the request.
pub(crate) async fn accepted_protected_get<'a>(
    ctx: &mut Ctx<'a>,
    user: &Principal,
    extra_headers: &[(&str, &str)],
) -> Result<(&'a Operation, Exchange), super::ctx::NotRun> {
    let api = ctx.api;
    let candidates = api.operations.iter().filter(|operation| {
        operation.requires_auth
            && operation.method == Method::GET
            && !operation.path.contains('{')
            && !super::bfla::is_admin_operation(api, operation)
    });
    let mut refused = Vec::new();
    for operation in candidates.take(3) {
        let mut request = Request::new(Method::GET, &operation.path).bearer(&user.access_token);
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        let exchange = ctx.send(request).await;
        if succeeded(&exchange) {
            return Ok((operation, exchange));
        }
        refused.push(format!("{} ({:?})", operation.label(), exchange.status()));
    }
    Err(if refused.is_empty() {
        super::ctx::NotRun::Skipped(
            "the document has no protected GET without path parameters".into(),
        )
    } else {
        super::ctx::NotRun::Inconclusive(format!(
            "user A's own token was refused on {}, so refusals prove nothing",
            refused.join(", ")
        ))
    })
}
