//! Decisions about a spec shared by the generators: the TDD items in build order, which
//! features the generated code needs, and who acts in the generated tests.

use apiwright_spec::{AUTHENTICATED, FieldType, Operation, PUBLIC, Resource, Spec};
use serde::Serialize;

/// The item of the auth endpoints.
pub(crate) const AUTH_ITEM: &str = "auth";

/// Resources in build order: every resource after the ones it references (declaration order
/// otherwise; a reference cycle keeps declaration order for the resources in it).
pub(crate) fn resources_in_order(spec: &Spec) -> Vec<&Resource> {
    let mut placed: Vec<&Resource> = Vec::new();
    let mut waiting: Vec<&Resource> = spec.resources.iter().collect();
    while !waiting.is_empty() {
        let ready = waiting.iter().position(|resource| {
            resource.references().all(|(_, to)| {
                to == resource.name
                    || placed.iter().any(|done| done.name == to)
                    || spec.resource(to).is_none()
            })
        });
        // In a cycle nothing is ready: take the first waiting one.
        let next = waiting.remove(ready.unwrap_or(0));
        placed.push(next);
    }
    placed
}

/// The TDD items: `auth`, then each resource's plural in build order.
pub(crate) fn items(spec: &Spec) -> Vec<String> {
    std::iter::once(AUTH_ITEM.to_owned())
        .chain(
            resources_in_order(spec)
                .iter()
                .map(|resource| resource.plural()),
        )
        .collect()
}

/// The resource whose plural is `item`.
pub(crate) fn resource_of<'s>(spec: &'s Spec, item: &str) -> Option<&'s Resource> {
    spec.resources
        .iter()
        .find(|resource| resource.plural() == item)
}

/// Features of the spec that decide which parts of the runtime are generated.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Uses {
    pub pattern: bool,
    pub email: bool,
    pub integer: bool,
    pub decimal: bool,
    pub boolean: bool,
    pub timestamp: bool,
    #[serde(rename = "enum")]
    pub enumeration: bool,
    pub uuid: bool,
    pub reference: bool,
    pub owned_reference: bool,
    pub default_integer: bool,
    pub default_boolean: bool,
}

impl Uses {
    pub(crate) fn of(spec: &Spec) -> Self {
        let mut uses = Uses::default();
        for resource in &spec.resources {
            for field in &resource.fields {
                match field.field_type {
                    FieldType::String | FieldType::Text => {
                        uses.pattern |= field.pattern.is_some();
                    }
                    FieldType::Email => uses.email = true,
                    FieldType::Integer => uses.integer = true,
                    FieldType::Decimal => uses.decimal = true,
                    FieldType::Boolean => uses.boolean = true,
                    FieldType::DateTime => uses.timestamp = true,
                    FieldType::Enum => uses.enumeration = true,
                    FieldType::Uuid => uses.uuid = true,
                    FieldType::Reference => {
                        uses.reference = true;
                        uses.owned_reference |= field
                            .reference()
                            .and_then(|to| spec.resource(to))
                            .is_some_and(|target| target.owned);
                    }
                }
                match (field.field_type, &field.default) {
                    (FieldType::Integer, Some(_)) => uses.default_integer = true,
                    (FieldType::Boolean, Some(_)) => uses.default_boolean = true,
                    _ => {}
                }
            }
        }
        uses
    }
}

/// Whether `resource` references an owned resource.
pub(crate) fn references_owned(spec: &Spec, resource: &Resource) -> bool {
    resource
        .references()
        .any(|(_, to)| spec.resource(to).is_some_and(|target| target.owned))
}

/// How an operation is guarded in the generated code.
pub(crate) fn access_expr(resource: &Resource, operation: Operation) -> String {
    let entries = resource.access(operation);
    if entries.iter().any(|entry| entry == PUBLIC) {
        "Access::Public".to_owned()
    } else if entries.iter().any(|entry| entry == AUTHENTICATED) || entries.is_empty() {
        "Access::Authenticated".to_owned()
    } else {
        let roles: Vec<String> = entries.iter().map(|role| format!("{role:?}")).collect();
        format!("Access::Roles(&[{}])", roles.join(", "))
    }
}

/// Whether anonymous callers may call the operation (never on owned resources).
pub(crate) fn is_public(resource: &Resource, operation: Operation) -> bool {
    !resource.owned && resource.access.is_public(operation)
}

/// The role of the user who creates records in the tests: the default role when it may,
/// else the first non-admin role allowed, else admin.
pub(crate) fn creator_role(spec: &Spec, resource: &Resource) -> String {
    let default = &spec.auth.default_role;
    if resource.access.allows(Operation::Create, default) {
        return default.clone();
    }
    resource
        .access(Operation::Create)
        .iter()
        .find(|role| spec.auth.roles.contains(role) && role.as_str() != "admin")
        .cloned()
        .unwrap_or_else(|| "admin".to_owned())
}
