//! The request mix of a load run, derived from the document: for every collection (a `POST` and
//! `GET` on a path with a `GET`/`PATCH`/`PUT` item path below it) records are created first, as
//! a signed-in user (or the admin when users may not), then the mix lists, reads, creates and
//! updates them with the creators' bearer tokens — list 50, read 30, create 15, update 5,
//! split evenly over the collections that support each.
//!
//! Every request of the mix is sent once while it is built and kept only if it succeeded, so
//! an error during the load run is the service failing under load, not a request that could
//! never succeed. Creates that cannot be repeated (an identical second create is refused, as
//! with unique fields) are left out of the mix, since a load run repeats the same body.

use apiwright_load::RequestSpec;
use http::Method;
use serde_json::Value;
use serde_json::json;

use crate::ProbeError;
use crate::Result;
use crate::exchange::Client;
use crate::exchange::Exchange;
use crate::exchange::Request;
use crate::openapi::Api;
use crate::openapi::Operation;
use crate::openapi::ParamLocation;
use crate::schema;
use crate::schema::Hints;
use crate::session::Principal;
use crate::session::Session;

/// Share of each kind of request in the mix, in percent.
const LIST: u32 = 50;
const READ: u32 = 30;
const CREATE: u32 = 15;
const UPDATE: u32 = 5;
/// Records created per collection, so reads spread over several rows.
const RECORDS: usize = 3;

/// The requests a load run sends, and what was left out and why.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Weighted requests, each verified to succeed once.
    pub requests: Vec<RequestSpec>,
    /// Operations not in the mix, with the reason (`POST /books: an identical create is refused (409)`).
    pub left_out: Vec<String>,
    /// Records created to drive reads and updates.
    pub records_created: usize,
}

impl Mix {
    /// The mix for evidence: method, path, weight and whether it carries a token (never the
    /// token itself).
    pub fn describe(&self) -> Value {
        json!({
            "requests": self.requests.iter().map(|request| json!({
                "method": request.method,
                "path": request.path,
                "weight": request.weight,
                "authenticated": request.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("authorization")),
                "body_bytes": request.body.as_ref().map_or(0, Vec::len),
            })).collect::<Vec<_>>(),
            "left_out": self.left_out,
            "records_created": self.records_created,
        })
    }
}

/// A collection: where records are created and listed, and the item path below it.
#[derive(Debug)]
struct Collection<'a> {
    create: &'a Operation,
    list: Option<&'a Operation>,
    read: Option<&'a Operation>,
    update: Option<&'a Operation>,
    /// `book` for `/api/v1/books`: `book_id` properties elsewhere refer to it.
    singular: String,
}

/// Builds the mix against the running service (see the module docs).
pub async fn mix(client: &Client, api: &Api, session: &Session) -> Result<Mix> {
    let collections = collections(api, session);
    if collections.is_empty() {
        return Err(ProbeError::Traffic(
            "no collection in the document: expected a POST and a GET on one path with an item path below it"
                .into(),
        ));
    }
    let mut hints = Hints::new();
    let mut mix = Mix {
        requests: Vec::new(),
        left_out: Vec::new(),
        records_created: 0,
    };
    let mut lists = Vec::new();
    let mut reads = Vec::new();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for collection in ordered(collections) {
        let Some(body) = collection.create.body.as_ref() else {
            mix.left_out.push(format!(
                "{}: documents no request body",
                collection.create.label()
            ));
            continue;
        };
        // Who may create: a user, else the admin.
        let mut created: Vec<(String, &Principal)> = Vec::new();
        let mut creator = None;
        let mut last_refusal = String::new();
        for principal in candidates(session) {
            let value = schema::sample(api, &body.schema, &hints);
            let exchange = client
                .send(authorized(
                    Request::json(Method::POST, &collection.create.path, &value),
                    principal,
                ))
                .await;
            match created_id(&exchange) {
                Some(id) => {
                    created.push((id, principal));
                    creator = Some(principal);
                    break;
                }
                None => last_refusal = exchange.summary(),
            }
        }
        let Some(creator) = creator else {
            mix.left_out.push(format!(
                "{}: no principal could create a record (last answer: {last_refusal})",
                collection.create.label()
            ));
            continue;
        };
        for _ in 1..RECORDS {
            let value = schema::sample(api, &body.schema, &hints);
            let exchange = client
                .send(authorized(
                    Request::json(Method::POST, &collection.create.path, &value),
                    creator,
                ))
                .await;
            if let Some(id) = created_id(&exchange) {
                created.push((id, creator));
            }
        }
        mix.records_created += created.len();
        if let Some((id, _)) = created.first() {
            hints.insert(format!("{}_id", collection.singular), id_value(id));
        }
        // Create: the same body twice must succeed for a load run to repeat it.
        let value = schema::sample(api, &body.schema, &hints);
        let create = authorized(
            Request::json(Method::POST, &collection.create.path, &value),
            creator,
        );
        let first = client.send(create.clone()).await;
        let second = client.send(create.clone()).await;
        match (created_id(&first), created_id(&second)) {
            (Some(_), Some(_)) => creates.push(spec(&create)),
            _ => mix.left_out.push(format!(
                "{}: an identical create is refused ({}), so it cannot be repeated under load",
                collection.create.label(),
                second.summary()
            )),
        }
        if let Some(list) = collection.list {
            let request = authorized(Request::new(Method::GET, &list.path), creator);
            keep_if_ok(client, request, &mut lists, &mut mix.left_out).await;
        }
        for (id, owner) in &created {
            if let Some(read) = collection.read {
                let request = authorized(Request::new(Method::GET, item_path(read, id)), owner);
                keep_if_ok(client, request, &mut reads, &mut mix.left_out).await;
            }
        }
        if let (Some(update), Some((id, owner))) = (collection.update, created.first()) {
            match update.body.as_ref() {
                Some(update_body) => {
                    let value = schema::sample(api, &update_body.schema, &hints);
                    let request = authorized(
                        Request::json(update.method.clone(), item_path(update, id), &value),
                        owner,
                    );
                    keep_if_ok(client, request, &mut updates, &mut mix.left_out).await;
                }
                None => mix
                    .left_out
                    .push(format!("{}: documents no request body", update.label())),
            }
        }
    }
    for (share, group) in [
        (LIST, lists),
        (READ, reads),
        (CREATE, creates),
        (UPDATE, updates),
    ] {
        let count = u32::try_from(group.len()).unwrap_or(u32::MAX);
        for mut request in group {
            // Shares are kept across kinds: 50 % of the traffic lists, whatever the count of
            // collections; the remainder of a division is dropped (at most one request each).
            request.weight = (share * 100 / count.max(1)).max(1);
            mix.requests.push(request);
        }
    }
    if mix.requests.is_empty() {
        return Err(ProbeError::Traffic(format!(
            "no request of the mix succeeded: {}",
            mix.left_out.join("; ")
        )));
    }
    Ok(mix)
}

/// Collections of the document, auth operations excluded.
fn collections<'a>(api: &'a Api, session: &Session) -> Vec<Collection<'a>> {
    let mut found = Vec::new();
    for create in &api.operations {
        if create.method != Method::POST || session.operations.contains(create) {
            continue;
        }
        let item = |method: &Method| {
            api.operations.iter().find(|operation| {
                operation.method == *method && is_item_of(&operation.path, &create.path)
            })
        };
        let read = item(&Method::GET);
        let update = item(&Method::PATCH).or_else(|| item(&Method::PUT));
        if read.is_none() && update.is_none() {
            continue;
        }
        let list = api.operation(&Method::GET, &create.path);
        let last = create.path.rsplit('/').next().unwrap_or_default();
        found.push(Collection {
            create,
            list,
            read,
            update,
            singular: singular(last),
        });
    }
    found
}

/// Creates before the collections whose bodies refer to them (`author` before a book with an
/// `author_id`); cycles keep document order.
fn ordered(mut collections: Vec<Collection<'_>>) -> Vec<Collection<'_>> {
    let refers = |collection: &Collection<'_>, other: &Collection<'_>| {
        let needle = format!("\"{}_id\"", other.singular);
        collection
            .create
            .body
            .as_ref()
            .is_some_and(|body| body.schema.to_string().contains(&needle))
    };
    let mut ordered: Vec<Collection<'_>> = Vec::new();
    while !collections.is_empty() {
        let ready = collections.iter().position(|candidate| {
            !collections
                .iter()
                .any(|other| !std::ptr::eq(other, candidate) && refers(candidate, other))
        });
        ordered.push(collections.remove(ready.unwrap_or(0)));
    }
    ordered
}

/// `/books/{id}` is an item of `/books`: one more segment, a path parameter.
fn is_item_of(path: &str, collection: &str) -> bool {
    path.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|segment| {
            segment.starts_with('{') && segment.ends_with('}') && !segment.contains('/')
        })
}

fn singular(segment: &str) -> String {
    if let Some(stem) = segment.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = segment.strip_suffix('s') {
        stem.to_string()
    } else {
        segment.to_string()
    }
}

/// Users first, then the admin.
fn candidates(session: &Session) -> Vec<&Principal> {
    session.users.iter().chain(session.admin.as_ref()).collect()
}

/// Every request of the mix carries its principal's token: on a protected operation it is
/// required, on a public one it is what a signed-in client sends anyway.
fn authorized(request: Request, principal: &Principal) -> Request {
    request.bearer(&principal.access_token)
}

fn created_id(exchange: &Exchange) -> Option<String> {
    let status = exchange.status()?;
    if !(200..300).contains(&status) {
        return None;
    }
    match exchange.json()?.get("id")? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// An id as a JSON value for hints: numbers stay numbers.
fn id_value(id: &str) -> Value {
    id.parse::<i64>()
        .map_or_else(|_| Value::String(id.to_string()), Value::from)
}

/// The operation's path with its one path parameter filled.
fn item_path(operation: &Operation, id: &str) -> String {
    let mut path = operation.path.clone();
    for parameter in operation.parameters_in(ParamLocation::Path) {
        path = path.replace(&format!("{{{}}}", parameter.name), id);
    }
    path
}

async fn keep_if_ok(
    client: &Client,
    request: Request,
    kept: &mut Vec<RequestSpec>,
    left_out: &mut Vec<String>,
) {
    let exchange = client.send(request.clone()).await;
    match exchange.status() {
        Some(status) if (200..300).contains(&status) => kept.push(spec(&request)),
        _ => left_out.push(format!(
            "{} {}: {}",
            request.method,
            request.path,
            exchange.summary()
        )),
    }
}

fn spec(request: &Request) -> RequestSpec {
    let mut headers = request.headers.clone();
    if let Some(content_type) = &request.content_type {
        headers.push(("content-type".to_string(), content_type.clone()));
    }
    RequestSpec {
        method: request.method.to_string(),
        path: request.path.clone(),
        headers,
        body: request.body.clone(),
        weight: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_paths_are_one_parameter_below_the_collection() {
        assert!(is_item_of("/api/v1/books/{id}", "/api/v1/books"));
        assert!(!is_item_of("/api/v1/books/{id}/reviews", "/api/v1/books"));
        assert!(!is_item_of("/api/v1/books/search", "/api/v1/books"));
        assert!(!is_item_of("/api/v1/bookshelves/{id}", "/api/v1/books"));
    }

    #[test]
    fn collection_names_become_singular_reference_names() {
        assert_eq!(singular("books"), "book");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("staff"), "staff");
    }
}
