//! API1 Broken Object Level Authorization: user A creates a record in every collection whose
//! item operations require credentials; user B (and nobody) then tries to read, change,
//! replace and delete it. Any 2xx is critical. A collection whose item `GET` is public by the
//! document is not probed for reads.

use http::Method;

use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, label, status, succeeded};
use super::finding::Severity;
use super::targets::{Collection, collections, create_record, fill_path, valid_body};
use crate::exchange::Request;
use crate::openapi::Operation;

const FIX: &str = "Load the record scoped to the caller (`WHERE id = ? AND owner_id = ?`) or \
                   check its owner before acting, and answer 404 (or 403) to anyone else.";

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let user_a = ctx.user(0)?;
    let user_b = ctx.user(1)?;
    let api = ctx.api;
    let owned: Vec<Collection<'_>> = collections(api)
        .into_iter()
        .filter(Collection::is_owned)
        .collect();
    if owned.is_empty() {
        return Err(NotRun::Skipped(
            "the document has no collection whose item operations require authentication".into(),
        ));
    }
    let mut probed = 0;
    let mut refused = Vec::new();
    for collection in &owned {
        let (id, _, _) = match create_record(ctx, collection, user_a).await {
            Ok(created) => created,
            Err(exchange) => {
                let code = exchange.as_ref().and_then(status);
                refused.push(format!("{} ({code:?})", label(collection.create)));
                continue;
            }
        };
        probed += 1;
        let values = [(collection.id_param.as_str(), id.as_str())];
        let kinds = [
            (
                collection.read,
                "bola-anonymous-read",
                "bola-read",
                "read another user's record",
            ),
            (
                collection.update,
                "bola-anonymous-update",
                "bola-update",
                "changed another user's record",
            ),
            (
                collection.replace,
                "bola-anonymous-replace",
                "bola-replace",
                "replaced another user's record",
            ),
            (
                collection.delete,
                "bola-anonymous-delete",
                "bola-delete",
                "deleted another user's record",
            ),
        ];
        for (operation, anonymous_id, user_b_id, what) in kinds {
            let Some(operation) = operation.filter(|operation| operation.requires_auth) else {
                continue;
            };
            let path = fill_path(api, operation, &values);
            let body = match operation.body {
                Some(_) => valid_body(ctx, operation, user_b).await,
                None => None,
            };
            let request = |token: Option<&str>| {
                let request = match &body {
                    Some(body) => Request::json(operation.method.clone(), &path, body),
                    None => Request::new(operation.method.clone(), &path),
                };
                match token {
                    Some(token) => request.bearer(token),
                    None => request,
                }
            };
            let anonymous = ctx.send(request(None)).await;
            if succeeded(&anonymous) {
                report(
                    ctx,
                    anonymous_id,
                    &format!("{what} without credentials"),
                    operation,
                    anonymous,
                );
                if operation.method == Method::DELETE {
                    // The record is gone; user B has nothing left to delete.
                    continue;
                }
            }
            let exchange = ctx.send(request(Some(&user_b.access_token))).await;
            if succeeded(&exchange) {
                report(ctx, user_b_id, what, operation, exchange);
            }
        }
    }
    if probed == 0 {
        return Err(NotRun::Inconclusive(format!(
            "user A could not create a record in any owned collection: {}",
            refused.join(", ")
        )));
    }
    Ok(())
}

fn report(
    ctx: &mut Ctx<'_>,
    id: &'static str,
    what: &str,
    operation: &Operation,
    exchange: crate::exchange::Exchange,
) {
    let code = status(&exchange).unwrap_or_default();
    ctx.report(
        FindingDraft {
            id,
            severity: Severity::Critical,
            title: format!("{}: {what}", label(operation)),
            operation: Some(label(operation)),
            detail: format!(
                "a record created by user A was accessible to another caller: {} {} answered {code}",
                exchange.request.method, exchange.request.url
            ),
            fix_hint: FIX,
        },
        Some(exchange),
    );
}
