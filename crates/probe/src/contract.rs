//! Contract conformance: every documented operation exercised against the running service,
//! every answer checked against the document.
//!
//! For each operation the run sends (a) valid requests, with path ids of records this run
//! created (see [`plan`] for the order) and as a principal allowed to call it, expecting a
//! documented 2xx; (b) for protected operations, the same request without credentials,
//! expecting a documented 401; (c) schema-derived invalid requests (bodies, query parameters,
//! path ids), expecting a documented 4xx. Every answer must have a documented status, a body
//! matching the documented schema, and must not be a 5xx. Operations that cannot be exercised
//! are reported as skipped with the reason; nothing passes by not being tried.

mod check;
pub mod plan;

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::time::Duration;

use http::Method;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

use crate::exchange::Client;
use crate::exchange::Exchange;
use crate::exchange::Request;
use crate::openapi::Api;
use crate::openapi::Operation;
use crate::openapi::ParamLocation;
use crate::openapi::is_json_media_type;
use crate::schema;
use crate::schema::Hints;
use crate::schema::InvalidBody;
use crate::session::Principal;
use crate::session::Session;

/// How a contract run behaves.
#[derive(Debug, Clone)]
pub struct ContractOptions {
    /// At most this many invalid requests per operation (bodies first, then query, then path).
    pub max_invalid_per_operation: usize,
    /// Timeout of each request; a request that exceeds it is a `server_error`.
    pub request_timeout: Duration,
    /// Operations not to exercise, as `"GET /path"` or by operation id; reported as skipped.
    pub skip_operations: Vec<String>,
}

/// What a contract run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractReport {
    /// One entry per documented operation, in document order.
    pub operations: Vec<OperationResult>,
    /// Requests sent in total.
    pub requests_sent: u32,
    /// Every contract violation, with the exchange that shows it.
    pub violations: Vec<Violation>,
    /// Answers with a 5xx status or no answer at all.
    pub server_errors: u32,
    /// Operations whose valid request could not be sent (see [`OperationResult::skipped`]).
    pub operations_skipped: u32,
}

impl ContractReport {
    /// No violations. Skipped operations do not fail the contract; callers decide whether
    /// `operations_skipped` is acceptable.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationResult {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The document's operation id.
    pub operation_id: Option<String>,
    /// Requests sent for this operation.
    pub requests: u32,
    /// Violations found for this operation.
    pub violations: u32,
    /// Why the valid request was not sent, when it was not.
    pub skipped: Option<String>,
    /// How the operation was exercised where it is not obvious (e.g. retried as the admin).
    pub notes: Vec<String>,
}

/// One way an answer contradicts the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// `"GET /path"`.
    pub operation: String,
    /// What kind of contradiction.
    pub kind: ViolationKind,
    /// What the document (or the probe's request) calls for.
    pub expected: String,
    /// What the service did.
    pub found: String,
    /// The request and answer.
    pub exchange: Exchange,
}

/// Kinds of contract violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The status is not documented for the operation.
    UndocumentedStatus,
    /// The body does not match the documented schema for its status.
    SchemaMismatch,
    /// The `Content-Type` differs from the documented media type.
    ContentTypeMismatch,
    /// A 5xx status, or no answer (connection failure, timeout).
    ServerError,
    /// A documented status, but not what the request calls for (e.g. 422 for a valid body).
    UnexpectedStatus,
    /// A request violating the schema was answered with a 2xx.
    AcceptedInvalid,
    /// A protected operation answered a request without credentials with something but 401.
    MissingAuth,
}

/// Runs the contract check described in the module docs.
pub async fn run(
    client: &Client,
    api: &Api,
    session: &Session,
    options: &ContractOptions,
) -> ContractReport {
    let client = client.with_timeout(options.request_timeout);
    let mut runner = Runner {
        client: &client,
        api,
        session,
        options,
        records: BTreeMap::new(),
        created_order: Vec::new(),
        hints: Hints::new(),
        admin_only: BTreeSet::new(),
        report: ContractReport {
            operations: api
                .operations
                .iter()
                .map(|o| OperationResult {
                    method: o.method.to_string(),
                    path: o.path.clone(),
                    operation_id: o.operation_id.clone(),
                    requests: 0,
                    violations: 0,
                    skipped: None,
                    notes: Vec::new(),
                })
                .collect(),
            requests_sent: 0,
            violations: Vec::new(),
            server_errors: 0,
            operations_skipped: 0,
        },
    };
    runner.run_all().await;
    let mut report = runner.report;
    report.operations_skipped = u32::try_from(
        report
            .operations
            .iter()
            .filter(|o| o.skipped.is_some())
            .count(),
    )
    .unwrap_or(u32::MAX);
    report
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    /// `session.users[index]`.
    User(usize),
    /// `session.admin`.
    Admin,
    /// No credentials.
    Anonymous,
}

/// A record this run created.
#[derive(Debug, Clone)]
struct Record {
    id: Value,
    owner: Actor,
}

/// What an answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    Unauthorized,
    Rejected,
}

/// A request that could be built, or why not.
type Built = Result<(Request, Actor), String>;

struct Runner<'a> {
    client: &'a Client,
    api: &'a Api,
    session: &'a Session,
    options: &'a ContractOptions,
    /// Created records by collection path template.
    records: BTreeMap<String, Record>,
    /// Collections in the order their records were created (deletes run in reverse).
    created_order: Vec<String>,
    hints: Hints,
    /// Operations that answered 403 to a user: their invalid requests go as the admin too, or
    /// they would stop at the role check and never reach validation.
    admin_only: BTreeSet<String>,
    report: ContractReport,
}

impl Runner<'_> {
    async fn run_all(&mut self) {
        let api = self.api;
        let collections = plan::collections(api);
        let auth = &self.session.operations;
        let creates: Vec<&Operation> = api
            .operations
            .iter()
            .filter(|o| plan::is_create(o, &collections) && !auth.contains(o))
            .collect();
        let creates = plan::order_creates(api, creates);
        let is_logout = |o: &Operation| {
            auth.logout
                .as_ref()
                .is_some_and(|l| l.method == o.method && l.path == o.path)
        };
        let mut deletes: Vec<&Operation> = api
            .operations
            .iter()
            .filter(|o| o.method == Method::DELETE)
            .collect();
        let middle: Vec<&Operation> = api
            .operations
            .iter()
            .filter(|o| {
                o.method != Method::DELETE
                    && !creates.iter().any(|c| std::ptr::eq(*c, *o))
                    && !is_logout(o)
            })
            .collect();

        for operation in &creates {
            if self.skip_by_option(operation) {
                continue;
            }
            if let Some(exchange_and_actor) = self.valid(operation).await
                && let Some(record) = created_record(&exchange_and_actor.0, exchange_and_actor.1)
            {
                // Both spellings: `author_id` (snake case) and `authorId` (camel case).
                let resource = plan::resource_name(&operation.path);
                self.hints
                    .insert(format!("{resource}_id"), record.id.clone());
                self.hints
                    .insert(format!("{}Id", camel(&resource)), record.id.clone());
                self.created_order.push(operation.path.clone());
                self.records.insert(operation.path.clone(), record);
            }
        }
        for operation in &middle {
            if self.skip_by_option(operation) {
                continue;
            }
            self.valid(operation).await;
        }
        for operation in &api.operations {
            if self.is_skipped_by_option(operation) {
                continue;
            }
            self.negative(operation).await;
        }
        // Dependents first: reviews before the books they point at.
        deletes.sort_by_key(|o| {
            let collection = plan::collection_of(&o.path).unwrap_or(&o.path);
            std::cmp::Reverse(self.created_order.iter().position(|c| c == collection))
        });
        for operation in deletes {
            if self.skip_by_option(operation) {
                continue;
            }
            self.valid(operation).await;
        }
        // Last: logging out may revoke the tokens every other request needs.
        if let Some(logout) = api.operations.iter().find(|o| is_logout(o))
            && !self.skip_by_option(logout)
        {
            self.valid(logout).await;
        }
    }

    fn is_skipped_by_option(&self, operation: &Operation) -> bool {
        self.options
            .skip_operations
            .iter()
            .any(|s| *s == operation.label() || operation.operation_id.as_deref() == Some(s))
    }

    /// Marks the operation skipped when the options say so.
    fn skip_by_option(&mut self, operation: &Operation) -> bool {
        let skipped = self.is_skipped_by_option(operation);
        if skipped {
            self.result(operation).skipped = Some("skipped by options".to_string());
        }
        skipped
    }

    fn result(&mut self, operation: &Operation) -> &mut OperationResult {
        let index = self
            .api
            .operations
            .iter()
            .position(|o| o.method == operation.method && o.path == operation.path)
            .unwrap_or(0);
        &mut self.report.operations[index]
    }

    fn principal(&self, actor: Actor) -> Option<&Principal> {
        match actor {
            Actor::User(index) => self.session.users.get(index),
            Actor::Admin => self.session.admin.as_ref(),
            Actor::Anonymous => None,
        }
    }

    /// Sends the valid request and checks it; returns the successful exchange and its actor.
    async fn valid(&mut self, operation: &Operation) -> Option<(Exchange, Actor)> {
        let (request, actor) = match self.build(operation, Expect::Success) {
            Ok(built) => built,
            Err(reason) => {
                self.result(operation).skipped = Some(reason);
                return None;
            }
        };
        let exchange = self.send(operation, request.clone()).await;
        if exchange.status() == Some(403) && actor != Actor::Admin {
            self.check(operation, &exchange, Expect::Rejected, "as a user");
            self.admin_only.insert(operation.label());
            let Some(admin) = self.session.admin.as_ref() else {
                self.result(operation).skipped =
                    Some("answered 403 to a user and no admin credentials were given".to_string());
                return None;
            };
            let request = with_token(request, &admin.access_token);
            let retried = self.send(operation, request).await;
            self.result(operation)
                .notes
                .push("answered 403 to a user; exercised as the admin".to_string());
            let ok = self.check(
                operation,
                &retried,
                Expect::Success,
                "valid request as the admin",
            );
            return ok.then_some((retried, Actor::Admin));
        }
        let ok = self.check(operation, &exchange, Expect::Success, "valid request");
        ok.then_some((exchange, actor))
    }

    /// Builds the valid request: real path ids, required query parameters, a sampled body and
    /// the owner's token.
    fn build(&self, operation: &Operation, expect: Expect) -> Built {
        let mut hints = self.hints.clone();
        let auth = &self.session.operations;
        let second_user = self.session.users.get(1).or(self.session.users.first());
        let is = |candidate: &Option<Operation>| {
            candidate
                .as_ref()
                .is_some_and(|c| c.method == operation.method && c.path == operation.path)
        };
        if is(&auth.login)
            && let Some(user) = second_user
            && let Some(password) = &user.password
        {
            hints.insert("email", Value::String(user.email.clone()));
            hints.insert("password", Value::String(password.clone()));
        }
        if is(&auth.refresh)
            && let Some(token) = second_user.and_then(|u| u.refresh_token.clone())
        {
            hints.insert("refresh_token", Value::String(token.clone()));
            hints.insert("refreshToken", Value::String(token));
        }
        let mut path = operation.path.clone();
        let mut owner = None;
        for (name, collection) in plan::path_parameters(&operation.path) {
            let value = match self.records.get(&collection) {
                Some(record) => {
                    owner = Some(record.owner);
                    record.id.clone()
                }
                None => match hints.get(&name) {
                    Some(value) => value.clone(),
                    None => {
                        return Err(format!(
                            "no record of {collection} was created by this run to fill `{{{name}}}`"
                        ));
                    }
                },
            };
            path = path.replace(&format!("{{{name}}}"), &plain(&value));
        }
        let mut query = Vec::new();
        for parameter in operation.parameters_in(ParamLocation::Query) {
            if parameter.required || hints.get(&parameter.name).is_some() {
                let value = match hints.get(&parameter.name) {
                    Some(value) => value.clone(),
                    None => schema::sample(self.api, &parameter.schema, &hints),
                };
                query.push((parameter.name.clone(), plain(&value)));
            }
        }
        let path = with_query(&path, &query);
        let mut request = match &operation.body {
            Some(body) => {
                if expect == Expect::Success
                    && let Some(secret) = secret_property(self.api, &body.schema, &hints)
                {
                    return Err(format!(
                        "the body needs `{secret}`, a secret this run cannot obtain"
                    ));
                }
                let value = schema::sample(self.api, &body.schema, &hints);
                if is_json_media_type(&body.content_type) {
                    let mut request = Request::json(operation.method.clone(), path, &value);
                    request.content_type = Some(body.content_type.clone());
                    request
                } else {
                    Request::raw(
                        operation.method.clone(),
                        path,
                        plain(&value).into_bytes(),
                        body.content_type.clone(),
                    )
                }
            }
            None => Request::new(operation.method.clone(), path),
        };
        for parameter in operation.parameters_in(ParamLocation::Header) {
            if parameter.required {
                let value = schema::sample(self.api, &parameter.schema, &hints);
                request = request.header(parameter.name.clone(), plain(&value));
            }
        }
        let wants_credentials = operation.requires_auth || is(&auth.logout);
        if !wants_credentials || expect == Expect::Unauthorized {
            return Ok((request, Actor::Anonymous));
        }
        let preferred = if is(&auth.logout) {
            Actor::User(1)
        } else if self.admin_only.contains(&operation.label()) {
            Actor::Admin
        } else {
            owner.unwrap_or(Actor::User(0))
        };
        let actor = [preferred, Actor::User(0), Actor::Admin]
            .into_iter()
            .find(|a| self.principal(*a).is_some());
        match actor.and_then(|a| Some((a, self.principal(a)?))) {
            Some((actor, principal)) => Ok((request.bearer(&principal.access_token), actor)),
            None => Err("the operation requires credentials and the session has none".to_string()),
        }
    }

    /// (b) without credentials and (c) schema-derived invalid requests.
    async fn negative(&mut self, operation: &Operation) {
        if operation.requires_auth {
            match self.build(operation, Expect::Unauthorized) {
                Ok((request, _)) => {
                    let exchange = self.send(operation, request).await;
                    self.check(
                        operation,
                        &exchange,
                        Expect::Unauthorized,
                        "request without credentials",
                    );
                }
                Err(reason) => self
                    .result(operation)
                    .notes
                    .push(format!("request without credentials not sent: {reason}")),
            }
        }
        if self.admin_only.contains(&operation.label()) && self.session.admin.is_none() {
            self.result(operation).notes.push(
                "invalid requests not sent: they would stop at the role check (403 to a user, \
                 no admin credentials given)"
                    .to_string(),
            );
            return;
        }
        let Ok((base, _)) = self.build(operation, Expect::Rejected) else {
            return;
        };
        let mut invalid: Vec<(String, Request)> = Vec::new();
        if let Some(body) = &operation.body
            && is_json_media_type(&body.content_type)
        {
            for variant in schema::invalid_variants_with(self.api, &body.schema, &self.hints) {
                let mut request = base.clone();
                match variant.body {
                    InvalidBody::Json(value) => {
                        request.body = Some(value.to_string().into_bytes());
                    }
                    InvalidBody::Raw {
                        bytes,
                        content_type,
                    } => {
                        request.body = Some(bytes);
                        request.content_type = Some(content_type);
                    }
                }
                invalid.push((format!("invalid body: {}", variant.label), request));
            }
        }
        for parameter in operation.parameters_in(ParamLocation::Query) {
            for (label, value) in invalid_scalars(self.api, &parameter.schema) {
                let mut request = base.clone();
                let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        !pair.is_empty() && !pair.starts_with(&format!("{}=", parameter.name))
                    })
                    .collect();
                let mut pairs: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
                pairs.push(format!("{}={}", parameter.name, encode(&value)));
                request.path = format!("{path}?{}", pairs.join("&"));
                invalid.push((format!("query `{}` {label}", parameter.name), request));
            }
        }
        for (name, _) in plan::path_parameters(&operation.path) {
            let Some(parameter) = operation
                .parameters_in(ParamLocation::Path)
                .find(|p| p.name == name)
            else {
                continue;
            };
            let typed = schema::effective(self.api, &parameter.schema);
            let wrong = match (
                schema::primary_type(&typed),
                typed.get("format").and_then(Value::as_str),
            ) {
                (Some("integer") | Some("number"), _) => "not-a-number",
                (_, Some("uuid")) => "not-a-uuid",
                _ => continue,
            };
            let mut path = operation.path.clone();
            for (other, collection) in plan::path_parameters(&operation.path) {
                let value = if other == name {
                    wrong.to_string()
                } else {
                    self.records
                        .get(&collection)
                        .map(|r| plain(&r.id))
                        .unwrap_or_else(|| wrong.to_string())
                };
                path = path.replace(&format!("{{{other}}}"), &value);
            }
            let query = base.path.split_once('?').map(|(_, q)| q).unwrap_or("");
            let mut request = base.clone();
            request.path = if query.is_empty() {
                path
            } else {
                format!("{path}?{query}")
            };
            invalid.push((format!("path `{name}` = {wrong}"), request));
        }
        for (label, request) in invalid
            .into_iter()
            .take(self.options.max_invalid_per_operation)
        {
            let exchange = self.send(operation, request).await;
            self.check(operation, &exchange, Expect::Rejected, &label);
        }
    }

    async fn send(&mut self, operation: &Operation, request: Request) -> Exchange {
        let exchange = self.client.send(request).await;
        self.report.requests_sent += 1;
        self.result(operation).requests += 1;
        exchange
    }
}

/// The record a create answered with: `id` of the JSON body, else the `Location` header's last segment.
fn created_record(exchange: &Exchange, owner: Actor) -> Option<Record> {
    let response = exchange.response.as_ref()?;
    let id = response
        .json
        .as_ref()
        .and_then(|j| j.get("id"))
        .filter(|id| id.is_string() || id.is_number())
        .cloned()
        .or_else(|| {
            let location = response.header("location")?;
            let last = location.trim_end_matches('/').rsplit('/').next()?;
            Some(Value::String(last.to_string()))
        })?;
    Some(Record { id, owner })
}

/// A required string property the run cannot invent (`token`, `reset_token`, ...) and has no hint for.
fn secret_property(api: &Api, body_schema: &Value, hints: &Hints) -> Option<String> {
    let effective = schema::effective(api, body_schema);
    effective
        .get("required")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .find(|name| (*name == "token" || name.ends_with("_token")) && hints.get(name).is_none())
        .map(str::to_string)
}

/// Invalid values for a scalar parameter: below/above bounds, wrong type, outside the enum.
fn invalid_scalars(api: &Api, parameter_schema: &Value) -> Vec<(String, Value)> {
    let typed = schema::effective(api, parameter_schema);
    let mut out = Vec::new();
    let integral = schema::primary_type(&typed) == Some("integer");
    if let Some(minimum) = typed.get("minimum").and_then(Value::as_f64) {
        let value = if integral {
            Value::from(minimum as i64 - 1)
        } else {
            Value::from(minimum - 1.0)
        };
        out.push((format!("below minimum {minimum}"), value));
    }
    if let Some(maximum) = typed.get("maximum").and_then(Value::as_f64) {
        let value = if integral {
            Value::from(maximum as i64 + 1)
        } else {
            Value::from(maximum + 1.0)
        };
        out.push((format!("above maximum {maximum}"), value));
    }
    match schema::primary_type(&typed) {
        Some("integer") | Some("number") => {
            out.push(("not a number".to_string(), Value::from("not-a-number")));
        }
        Some("boolean") => out.push(("not a boolean".to_string(), Value::from("maybe"))),
        _ => {}
    }
    if typed.get("enum").is_some() {
        out.push((
            "not one of its enum values".to_string(),
            Value::from("probe-not-a-member"),
        ));
    }
    out
}

fn with_token(mut request: Request, token: &str) -> Request {
    request
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    request.bearer(token)
}

/// `order_item` → `orderItem`.
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A scalar as it appears in a path or query: strings unquoted.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn with_query(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_string();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                encode(&Value::String(k.clone())),
                encode(&Value::String(v.clone()))
            )
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &Value) -> String {
    let text = plain(value);
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            with_query("/a", &[("q".to_string(), "a b&c".to_string())]),
            "/a?q=a%20b%26c"
        );
        assert_eq!(with_query("/a", &[]), "/a");
    }

    #[test]
    fn bounded_integer_parameters_get_out_of_range_and_wrong_type_values() {
        let api = Api::from_document(json!({"paths": {}})).unwrap();
        let values = invalid_scalars(
            &api,
            &json!({"type": "integer", "minimum": 1, "maximum": 100}),
        );
        assert_eq!(
            values,
            [
                ("below minimum 1".to_string(), json!(0)),
                ("above maximum 100".to_string(), json!(101)),
                ("not a number".to_string(), json!("not-a-number")),
            ]
        );
        assert!(invalid_scalars(&api, &json!({"type": "string"})).is_empty());
    }
}
