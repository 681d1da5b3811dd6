//! API5 Broken Function Level Authorization: user A, a plain member, calls every operation
//! the document marks as administrative (an `admin` path segment, an `admin` tag, or an
//! operation id or summary naming admins). Any 2xx is critical.

use http::Method;
use serde_json::{Value, json};

use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, label, status, succeeded};
use super::finding::Severity;
use super::targets::{fill_path, valid_body};
use crate::exchange::Request;
use crate::openapi::{Api, Operation};

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let user_a = ctx.user(0)?;
    let api = ctx.api;
    let admin_operations: Vec<&Operation> = api
        .operations
        .iter()
        .filter(|operation| is_admin_operation(api, operation))
        .collect();
    let enforced = role_checks(ctx, user_a).await;
    if admin_operations.is_empty() && enforced == 0 {
        return Err(NotRun::Skipped(
            "the document marks no operation as administrative (path segment, tag, operation id \
             or summary naming admins), and no create operation refused a member with 403"
                .into(),
        ));
    }
    for operation in admin_operations {
        let path = fill_path(api, operation, &[]);
        let body = match operation.body {
            Some(_) => Some(
                valid_body(ctx, operation, user_a)
                    .await
                    .unwrap_or_else(|| json!({})),
            ),
            None => None,
        };
        let request = |token: &str| {
            let request = match &body {
                Some(body) => Request::json(operation.method.clone(), &path, body),
                None => Request::new(operation.method.clone(), &path),
            };
            request.bearer(token)
        };
        let exchange = ctx.send(request(&user_a.access_token)).await;
        if !succeeded(&exchange) {
            continue;
        }
        ctx.report(
            FindingDraft {
                id: "bfla",
                severity: Severity::Critical,
                title: format!("{}: a member can call an admin operation", label(operation)),
                operation: Some(label(operation)),
                detail: format!(
                    "the document marks the operation as administrative; a freshly registered \
                     member called it and got {}",
                    status(&exchange).unwrap_or_default()
                ),
                fix_hint: "Check the caller's role in the handler (or a route layer) of every \
                           admin operation and answer 403 to everyone else.",
            },
            Some(exchange),
        );
    }
    Ok(())
}

/// Create operations that document a 403: a member's valid request refused with 403 is
/// evidence that roles are checked there. Returns how many refused. (A 2xx proves nothing
/// without knowing which roles the operation is meant for.)
async fn role_checks(ctx: &mut Ctx<'_>, user_a: &crate::session::Principal) -> usize {
    let mut enforced = 0;
    for collection in super::targets::collections(ctx.api) {
        let create = collection.create;
        if !create.requires_auth || !create.responses.contains_key("403") {
            continue;
        }
        let Some(body) = valid_body(ctx, create, user_a).await else {
            continue;
        };
        let request = Request::json(Method::POST, &create.path, &body).bearer(&user_a.access_token);
        let exchange = ctx.send(request).await;
        if status(&exchange) == Some(403) {
            enforced += 1;
        }
    }
    enforced
}

/// Whether the document marks `operation` as for admins.
pub(crate) fn is_admin_operation(api: &Api, operation: &Operation) -> bool {
    if operation.method == Method::OPTIONS {
        return false;
    }
    let in_path = operation.path.split('/').any(|segment| {
        segment.eq_ignore_ascii_case("admin") || segment.eq_ignore_ascii_case("admins")
    });
    let in_id = operation.operation_id.as_deref().is_some_and(|id| {
        id.to_ascii_lowercase()
            .split(['_', '-', '.'])
            .any(|word| word == "admin")
    });
    let pointer = format!(
        "/paths/{}/{}",
        operation.path.replace('~', "~0").replace('/', "~1"),
        operation.method.as_str().to_ascii_lowercase()
    );
    let documented = api.document().pointer(&pointer);
    let tagged = documented
        .and_then(|entry| entry.get("tags"))
        .and_then(Value::as_array)
        .is_some_and(|tags| {
            tags.iter().any(|tag| {
                tag.as_str()
                    .is_some_and(|tag| tag.eq_ignore_ascii_case("admin"))
            })
        });
    let described = ["summary", "description"].into_iter().any(|key| {
        documented
            .and_then(|entry| entry.get(key))
            .and_then(Value::as_str)
            .is_some_and(|text| {
                let text = text.to_ascii_lowercase();
                text.contains("admin only")
                    || text.contains("admins only")
                    || text.contains("admin-only")
                    || text.contains("requires the admin role")
            })
    });
    in_path || in_id || tagged || described
}
