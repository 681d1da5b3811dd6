//! API4 huge request bodies: a body of [`super::SecurityOptions::huge_body_bytes`] (valid JSON,
//! one long string) sent as user A to a body-taking operation. 413, 400 or 422 (or a closed
//! connection) is right; a 2xx is high, a 5xx medium.

use serde_json::{Value, json};

use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, label, status};
use super::finding::Severity;
use super::targets::{collections, fill_path, valid_body};
use crate::exchange::Request;

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let user_a = ctx.user(0)?;
    let api = ctx.api;
    // Creates first: they are what a member can call.
    let creates: Vec<_> = collections(api)
        .into_iter()
        .map(|collection| collection.create)
        .collect();
    let others = api
        .operations
        .iter()
        .filter(|operation| operation.body.is_some() && operation.requires_auth);
    let mut tried = Vec::new();
    for operation in creates.into_iter().chain(others).take(3) {
        // A valid body with one string made huge, so that only its size can be refused.
        let mut body = valid_body(ctx, operation, user_a)
            .await
            .unwrap_or_else(|| json!({}));
        let size = usize::try_from(ctx.options.huge_body_bytes).unwrap_or(usize::MAX);
        if let Value::Object(object) = &mut body {
            let field = object
                .iter()
                .find(|(_, value)| value.is_string())
                .map_or_else(|| "data".to_string(), |(name, _)| name.clone());
            object.insert(field, Value::String("a".repeat(size)));
        }
        let body = body.to_string().into_bytes();
        let path = fill_path(api, operation, &[]);
        let mut request = Request::raw(operation.method.clone(), path, body, "application/json");
        if operation.requires_auth {
            request = request.bearer(&user_a.access_token);
        }
        let exchange = ctx.send(request).await;
        let (id, severity, what) = match status(&exchange) {
            None | Some(400 | 413 | 422) => return Ok(()),
            Some(code @ 200..=299) => (
                "huge-body-accepted",
                Severity::High,
                format!("accepted it with {code}"),
            ),
            Some(code @ 500..=599) => (
                "huge-body-server-error",
                Severity::Medium,
                format!("failed with {code}"),
            ),
            Some(code) => {
                tried.push(format!("{} ({code})", label(operation)));
                continue;
            }
        };
        ctx.report(
            FindingDraft {
                id,
                severity,
                title: format!("{}: no request body limit", label(operation)),
                operation: Some(label(operation)),
                detail: format!(
                    "a {} byte JSON body was read and the service {what}",
                    ctx.options.huge_body_bytes
                ),
                fix_hint: "Limit request bodies (e.g. `DefaultBodyLimit`/`RequestBodyLimitLayer`) \
                           and answer larger ones with 413.",
            },
            Some(exchange),
        );
        return Ok(());
    }
    if tried.is_empty() {
        Err(NotRun::Skipped(
            "the document has no operation that takes a body".into(),
        ))
    } else {
        Err(NotRun::Inconclusive(format!(
            "the huge body was refused for other reasons: {}",
            tried.join(", ")
        )))
    }
}
