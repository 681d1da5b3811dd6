//! API3 Broken Object Property Level Authorization (mass assignment): create and update
//! requests carry, besides a valid body, properties the request schema does not allow
//! (`id`, `owner_id`, `user_id`, `role`, `is_admin`, `created_at` and every property of the
//! response schema missing from the request schema). A property "took effect" when the
//! response shows the injected value and a control record made without it does not.
//! Ownership or role changes are critical, other properties high. Registering with
//! `role: admin` that yields an admin is critical.

use http::Method;
use serde_json::{Map, Value, json};

use super::accounts;
use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, json as response_json, label, succeeded};
use super::finding::Severity;
use super::jwt::Jwt;
use super::targets::{
    self, Collection, collections, create_record, fill_path, marker_for, properties,
    reference_hints,
};
use crate::exchange::Request;
use crate::openapi::Operation;
use crate::schema;
use crate::session::Principal;

const FIX: &str = "Deserialize requests into a type with only the writable fields (reject \
                   unknown fields or ignore them) and set ids, owners, roles and timestamps on \
                   the server.";

const OWNER_KEYS: &[&str] = &["owner_id", "user_id", "owner", "author_id", "created_by"];
const ROLE_KEYS: &[&str] = &["role", "roles", "is_admin", "admin"];

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let mut probed = register_as_admin(ctx).await;
    if let Ok(user_a) = ctx.user(0) {
        let admin = ctx.session.admin.as_ref();
        for collection in collections(ctx.api) {
            // Collections only admins may write to are probed as the admin: a client-set id or
            // timestamp is a flaw whoever sends it.
            probed |= on_collection(ctx, &collection, user_a).await
                || match admin {
                    Some(admin) => on_collection(ctx, &collection, admin).await,
                    None => false,
                };
        }
    }
    if probed {
        Ok(())
    } else {
        Err(NotRun::Skipped(
            "no register operation and no collection user A can create records in".into(),
        ))
    }
}

/// Registers with `role: admin` (and friends) and checks the result, `/me` and the token.
async fn register_as_admin(ctx: &mut Ctx<'_>) -> bool {
    if ctx.session.operations.register.is_none() {
        return false;
    }
    // One property at a time: a service that refuses unknown properties may still honour one
    // it knows.
    let variants = [
        ("role", json!("admin")),
        ("is_admin", json!(true)),
        ("roles", json!(["admin"])),
    ];
    for (name, value) in variants {
        // Users A and B registered with the same sampler, so a refusal here is the service
        // refusing the extra property: that part of the check ran.
        let Ok(user) = accounts::fresh_user(ctx, &[(name, value.clone())]).await else {
            continue;
        };
        let mut evidence = None;
        if Jwt::parse(&user.access_token)
            .is_some_and(|token| is_admin(&Value::Object(token.claims)))
        {
            evidence = Some(("the access token's claims", None));
        }
        if let Some(me) = accounts::find(ctx.api, &Method::GET, "me") {
            let exchange = ctx
                .send(Request::new(Method::GET, &me.path).bearer(&user.access_token))
                .await;
            if response_json(&exchange).is_some_and(is_admin) {
                evidence = Some(("the signed-in user's profile", Some(exchange)));
            }
        }
        let Some((place, exchange)) = evidence else {
            continue;
        };
        let register = ctx.session.operations.register.as_ref().map(label);
        ctx.report(
            FindingDraft {
                id: "mass-assignment-role",
                severity: Severity::Critical,
                title: format!("registering with `{name}: {value}` creates an admin"),
                operation: register,
                detail: format!(
                    "a user registered with `\"{name}\": {value}` added to a valid body; {place} shows the admin role"
                ),
                fix_hint: FIX,
            },
            exchange,
        );
        break;
    }
    true
}

fn is_admin(value: &Value) -> bool {
    let role = value.get("role").and_then(Value::as_str) == Some("admin");
    let flag = value.get("is_admin") == Some(&json!(true));
    let roles = value
        .get("roles")
        .and_then(Value::as_array)
        .is_some_and(|roles| roles.contains(&json!("admin")));
    role || flag || roles || value.get("user").is_some_and(is_admin)
}

/// The create operation and (on a record of A's) the update operations of one collection.
/// `false` when A cannot create records there.
async fn on_collection(ctx: &mut Ctx<'_>, collection: &Collection<'_>, user: &Principal) -> bool {
    let Ok((id, control, _)) = create_record(ctx, collection, user).await else {
        return false;
    };
    let operations = [
        Some(collection.create),
        collection.update,
        collection.replace,
    ];
    for operation in operations.into_iter().flatten() {
        let Some(body) = &operation.body else {
            continue;
        };
        let hints = reference_hints(ctx, operation, user, 0).await;
        let path = fill_path(
            ctx.api,
            operation,
            &[(collection.id_param.as_str(), id.as_str())],
        );
        let all = injected_properties(ctx, operation);
        // Everything at once first; when that is refused (a service rejecting unknown
        // properties), each property alone: one it knows may still be honoured, and each
        // that is gets its own finding.
        let mut groups = vec![all.clone()];
        groups.extend(
            all.iter()
                .map(|(name, value)| Map::from_iter([(name.clone(), value.clone())])),
        );
        for (index, injected) in groups.iter().enumerate() {
            let mut sample = schema::sample(ctx.api, &body.schema, &hints);
            if let Value::Object(object) = &mut sample {
                object.extend(injected.clone());
            }
            let request =
                Request::json(operation.method.clone(), &path, &sample).bearer(&user.access_token);
            let exchange = ctx.send(request).await;
            let accepted = succeeded(&exchange);
            let attempt = Attempt {
                operation,
                injected,
                control: &control,
            };
            judge(ctx, collection, user, attempt, exchange).await;
            // Accepted all at once: the response showed whatever took effect.
            if index == 0 && accepted {
                break;
            }
        }
    }
    true
}

/// Properties to inject into a request of `operation`, with marker values.
fn injected_properties(ctx: &Ctx<'_>, operation: &Operation) -> Map<String, Value> {
    let api = ctx.api;
    let request = operation
        .body
        .as_ref()
        .map(|body| properties(api, &body.schema))
        .unwrap_or_default();
    let response = targets::success_schema(operation)
        .map(|schema| properties(api, schema))
        .unwrap_or_default();
    let mut injected = Map::new();
    let defaults = [
        ("id", json!({"type": "string", "format": "uuid"})),
        ("owner_id", json!({"type": "string", "format": "uuid"})),
        ("user_id", json!({"type": "string", "format": "uuid"})),
        ("role", json!({"type": "string"})),
        ("is_admin", json!({"type": "boolean"})),
        (
            "created_at",
            json!({"type": "string", "format": "date-time"}),
        ),
    ];
    for (name, schema) in defaults {
        if !request.contains_key(name) {
            let schema = response.get(name).cloned().unwrap_or(schema);
            injected.insert(name.into(), marker_for(&schema));
        }
    }
    for (name, schema) in &response {
        if !request.contains_key(name) && !injected.contains_key(name) {
            injected.insert(name.clone(), marker_for(&targets::resolved(api, schema)));
        }
    }
    if let Some(role) = injected.get_mut("role") {
        *role = json!("admin");
    }
    injected
}

/// One request that carried injected properties.
struct Attempt<'a> {
    operation: &'a Operation,
    injected: &'a Map<String, Value>,
    /// A record made without them, to tell an effect from a coincidence.
    control: &'a Value,
}

impl Attempt<'_> {
    /// The injected properties whose values `record` shows (and the control does not).
    fn took_effect(&self, record: &Value) -> Vec<String> {
        self.injected
            .iter()
            .filter(|(name, value)| {
                record.get(name.as_str()) == Some(value)
                    && self.control.get(name.as_str()) != Some(value)
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// Reports the injected properties that took effect, seen in the accepted response or, when
/// the response does not show them, in the record read back.
async fn judge(
    ctx: &mut Ctx<'_>,
    collection: &Collection<'_>,
    creator: &Principal,
    attempt: Attempt<'_>,
    exchange: crate::exchange::Exchange,
) {
    if !succeeded(&exchange) {
        return;
    }
    let record = response_json(&exchange).cloned().unwrap_or(Value::Null);
    let mut took_effect = attempt.took_effect(&record);
    let mut evidence = exchange;
    let mut seen_in = "the response shows";
    let id = targets::record_id(&record, &collection.id_param);
    if let (true, Some(read), Some(id)) = (took_effect.is_empty(), collection.read, id) {
        let path = fill_path(
            ctx.api,
            read,
            &[(collection.id_param.as_str(), id.as_str())],
        );
        let read_back = ctx
            .send(Request::new(Method::GET, path).bearer(&creator.access_token))
            .await;
        if let Some(stored) = response_json(&read_back).filter(|_| succeeded(&read_back)) {
            took_effect = attempt.took_effect(stored);
            evidence = read_back;
            seen_in = "the record read back shows";
        }
    }
    if took_effect.is_empty() {
        return;
    }
    let operation = attempt.operation;
    let owner = took_effect
        .iter()
        .any(|name| OWNER_KEYS.contains(&name.as_str()));
    let role = took_effect
        .iter()
        .any(|name| ROLE_KEYS.contains(&name.as_str()));
    let (id, severity) = match (owner, role) {
        (true, _) => ("mass-assignment-owner", Severity::Critical),
        (false, true) => ("mass-assignment-role", Severity::Critical),
        (false, false) => ("mass-assignment", Severity::High),
    };
    let names: Vec<&str> = took_effect.iter().map(|name| name.as_str()).collect();
    ctx.report(
        FindingDraft {
            id,
            severity,
            title: format!(
                "{}: client-set {} accepted",
                label(operation),
                names.join(", ")
            ),
            operation: Some(label(operation)),
            detail: format!(
                "the request carried properties its schema does not allow; {seen_in} the \
                 injected values of {} (a record made without them does not)",
                names.join(", ")
            ),
            fix_hint: FIX,
        },
        Some(evidence),
    );
}
